#include "http/exchange.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/URI.h>

#include <istream>
#include <regex>
#include <sstream>

namespace crmhost {

std::string iso8601(int64_t epoch_ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(epoch_ms * 1000),
                                         Poco::DateTimeFormat::ISO8601_FRAC_FORMAT);
}

std::optional<int64_t> parse_iso8601(const std::string& text) {
  // Poco's parser skips what it does not expect: the form is checked first.
  static const std::regex kForm(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))");
  if (!std::regex_match(text, kForm)) return std::nullopt;
  Poco::DateTime at;
  int tzd = 0;
  if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, text, at, tzd) &&
      !Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FORMAT, text, at, tzd))
    return std::nullopt;
  at.makeUTC(tzd);
  return at.timestamp().epochMicroseconds() / 1000;
}

Problem problem_for(const Error& error, const std::string& field) {
  switch (error.kind) {
    case ErrorKind::kNotFound: return {404, "not_found", error.message, ""};
    case ErrorKind::kConflict: return {409, "conflict", error.message, ""};
    case ErrorKind::kBadInput: return {400, "bad_field", error.message, field};
    case ErrorKind::kUnavailable:
      return {503, "unavailable", "the store cannot serve this right now; retry", ""};
    case ErrorKind::kInternal: break;
  }
  return {500, "internal", "the request failed inside crmhost; see the log", ""};
}

std::optional<std::string> Exchange::query(const std::string& name) const {
  try {
    for (const auto& [k, v] : Poco::URI(request.getURI()).getQueryParameters())
      if (k == name) return v;
  } catch (const Poco::Exception&) {
  }
  return std::nullopt;
}

Expected<std::string> Exchange::json_body(size_t max_bytes, Problem* problem) {
  std::string type = request.getContentType();
  std::string media = type.substr(0, type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (media != "application/json") {
    *problem = {415, "unsupported_media_type",
                "Content-Type must be application/json, got \"" + type + "\"", ""};
    return Error{problem->message};
  }
  if (request.hasContentLength() && request.getContentLength64() > static_cast<Poco::Int64>(max_bytes)) {
    *problem = {413, "too_large", "body is over the " + std::to_string(max_bytes) + " byte limit", ""};
    return Error{problem->message};
  }
  body_read_ = true;
  std::string body;
  std::istream& in = request.stream();
  char buf[16384];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    body.append(buf, static_cast<size_t>(in.gcount()));
    if (body.size() > max_bytes) {
      response.setKeepAlive(false);  // the rest of the body is still on the connection
      *problem = {413, "too_large", "body is over the " + std::to_string(max_bytes) + " byte limit", ""};
      return Error{problem->message};
    }
  }
  return body;
}

void Exchange::discard_unread_body() {
  if (body_read_) return;
  body_read_ = true;
  bool chunked = request.getChunkedTransferEncoding();
  if (!chunked && (!request.hasContentLength() || request.getContentLength64() == 0)) return;
  if (!chunked && request.getContentLength64() > static_cast<Poco::Int64>(max_body_)) {
    response.setKeepAlive(false);
    return;
  }
  std::istream& in = request.stream();
  char buf[16384];
  size_t total = 0;
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    total += static_cast<size_t>(in.gcount());
    if (total > max_body_) {
      response.setKeepAlive(false);
      return;
    }
  }
}

void Exchange::send_json(int status, const Poco::JSON::Object& body) {
  std::ostringstream out;
  body.stringify(out);
  send_json(status, out.str());
}

void Exchange::send_json(int status, const std::string& json) {
  send_body(status, "application/json", json);
}

void Exchange::send_body(int status, const std::string& content_type, const std::string& body) {
  discard_unread_body();
  // setStatus alone would keep the default reason phrase ("413 OK").
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType(content_type);
  response.sendBuffer(body.data(), body.size());
}

std::string problem_json(const Problem& problem) {
  Poco::JSON::Object body;
  body.set("error", problem.code);
  body.set("message", problem.message);
  if (problem.field.empty())
    body.set("field", Poco::Dynamic::Var());
  else
    body.set("field", problem.field);
  std::ostringstream out;
  body.stringify(out);
  return std::move(out).str();
}

void Exchange::send_problem(const Problem& problem) {
  if (problem.status == 503 && !response.has("Retry-After")) response.set("Retry-After", "1");
  send_json(problem.status, problem_json(problem));
}

std::shared_ptr<DeferredReply> Exchange::defer() {
  discard_unread_body();  // may decide that the connection closes after this answer
  deferred_ = true;
  return order_.defer(response);
}

}  // namespace crmhost
