#include "support/http_client.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <stdexcept>

namespace crmhost::testing {

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

Poco::JSON::Object::Ptr ParseJsonObject(const std::string& text) {
  try {
    Poco::JSON::Parser parser;
    Poco::JSON::Object::Ptr obj = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
    if (!obj.isNull()) return obj;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("not a JSON object (" + e.displayText() + "): " + text);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("not a JSON object (") + e.what() + "): " + text);
  }
  throw std::runtime_error("not a JSON object: " + text);
}

Poco::JSON::Object::Ptr HttpResponse::json() const {
  try {
    return ParseJsonObject(body);
  } catch (const std::exception& e) {
    throw std::runtime_error("HTTP " + std::to_string(status) + " body is " + e.what());
  }
}

HttpClient::HttpClient(std::string base_url) : base_url_(std::move(base_url)) {
  Poco::URI uri(base_url_);
  host_ = uri.getHost();
  port_ = uri.getPort();
}

HttpResponse HttpClient::Send(const std::string& method, const std::string& path,
                              const std::string& body, const Headers& headers) const {
  Poco::Net::HTTPClientSession session(host_, port_);
  session.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  std::ostream& out = session.sendRequest(request);
  // A server that rejects early (413) may close before the body is written; the answer it sent
  // is still read below.
  out << body;
  out.flush();
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpResponse result;
  result.status = static_cast<int>(response.getStatus());
  result.reason = response.getReason();
  for (const auto& [name, value] : response) {
    result.headers[Poco::toLower(name)] = value;
  }
  Poco::StreamCopier::copyToString(in, result.body);
  return result;
}

HttpResponse HttpClient::PostJson(const std::string& path, const std::string& body,
                                  const std::string& api_key, Headers extra) const {
  extra.emplace_back("Content-Type", "application/json");
  if (!api_key.empty()) extra.emplace_back("Authorization", "Bearer " + api_key);
  return Send("POST", path, body, extra);
}

HttpResponse HttpClient::Get(const std::string& path, const std::string& api_key) const {
  Headers headers;
  if (!api_key.empty()) headers.emplace_back("Authorization", "Bearer " + api_key);
  return Send("GET", path, "", headers);
}

std::string JsonString(const Poco::JSON::Object::Ptr& obj, const std::string& key) {
  if (!obj->has(key) || obj->isNull(key)) return "";
  Poco::Dynamic::Var v = obj->get(key);
  if (!v.isString()) throw std::runtime_error("JSON field " + key + " is not a string");
  return v.extract<std::string>();
}

std::vector<DeliveryView> ListDeliveries(const HttpClient& client, const std::string& api_key,
                                         const std::string& query) {
  const std::string path = query.empty() ? "/v1/deliveries" : "/v1/deliveries?" + query;
  HttpResponse r = client.Get(path, api_key);
  if (r.status != 200) {
    throw std::runtime_error("GET " + path + " answered " + std::to_string(r.status) + ": " +
                             r.body);
  }
  Poco::JSON::Array::Ptr rows = r.json()->getArray("deliveries");
  if (rows.isNull())
    throw std::runtime_error("GET " + path + " has no deliveries array: " + r.body);
  std::vector<DeliveryView> out;
  for (size_t i = 0; i < rows->size(); ++i) {
    Poco::JSON::Object::Ptr row = rows->getObject(static_cast<unsigned>(i));
    if (row.isNull()) throw std::runtime_error("delivery row is not an object: " + r.body);
    DeliveryView d;
    d.id = JsonString(row, "id");
    d.event_id = JsonString(row, "event_id");
    d.integration = JsonString(row, "integration");
    d.event_type = JsonString(row, "event_type");
    d.status = JsonString(row, "status");
    d.attempts = row->optValue<int>("attempts", -1);
    if (row->has("last_http_status") && !row->isNull("last_http_status")) {
      d.last_http_status = row->getValue<int>("last_http_status");
    }
    d.last_error = JsonString(row, "last_error");
    d.dead_reason = JsonString(row, "dead_reason");
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace crmhost::testing
