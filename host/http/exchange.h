// One HTTP request as the endpoints see it: the Poco request/response, the authenticated caller,
// path parameters, and helpers for the JSON answers every endpoint gives.
// Used by the one server thread handling the request.
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "http/deferred_reply.h"

namespace crmhost {

// Who is calling: a tenant (by API key) or the operator (by the admin key).
struct Caller {
  // Non-null iff a tenant key authenticated: the tenant as it was when the request arrived (it
  // keeps that snapshot of the tenants alive for the request).
  std::shared_ptr<const TenantConfig> tenant;
  bool admin = false;
};

// An error answer: HTTP status, a stable code, a message, and the offending field if any.
struct Problem {
  int status;
  std::string code;
  std::string message;
  std::string field;  // JSON path of the offending field; empty = none
};

// {"error": code, "message": …, "field": … or null}: the body of every error answer.
std::string problem_json(const Problem& problem);

// The one mapping from an Error's kind to its HTTP answer: kNotFound 404 not_found, kConflict 409
// conflict, kBadInput 400 bad_field (naming `field`), kUnavailable 503 unavailable, kInternal 500
// internal. The last two do not repeat the error's text (it may name files or SQL): the caller
// logs it.
Problem problem_for(const Error& error, const std::string& field = "");

// "2026-04-15T09:30:00.000000Z" for Unix epoch milliseconds: how the API writes times.
std::string iso8601(int64_t epoch_ms);
// An RFC 3339 time ("2026-12-07T10:00:00Z", a fraction and an offset optional) as epoch ms; none
// for anything else.
std::optional<int64_t> parse_iso8601(const std::string& text);

class Exchange {
 public:
  // `max_body`: the most an unread request body may be for the connection to stay open.
  Exchange(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
           ReplyOrder& order, size_t max_body)
      : request(request), response(response), order_(order), max_body_(max_body) {}

  Poco::Net::HTTPServerRequest& request;
  Poco::Net::HTTPServerResponse& response;
  Caller caller;
  std::vector<std::string> params;  // path parameters, in pattern order

  std::optional<std::string> query(const std::string& name) const;

  // Reads the body, refusing one over max_bytes (413) or not JSON (415).
  Expected<std::string> json_body(size_t max_bytes, Problem* problem);

  void send_json(int status, const Poco::JSON::Object& body);
  // `json` is already a serialized JSON value; header and body leave in one write.
  void send_json(int status, const std::string& json);
  void send_problem(const Problem& problem);
  // Any other body (the OAuth callback's page).
  void send_body(int status, const std::string& content_type, const std::string& body);

  // Leaves the answer to whoever holds the returned reply (see deferred_reply.h); `response`
  // must not be used for sending after this. Once per request.
  std::shared_ptr<DeferredReply> defer();
  // Whether an answer was sent or deferred.
  bool answered() const { return deferred_ || response.sent(); }

 private:
  // A body left unread would be parsed as the next request on a kept-alive connection: read and
  // drop it when small enough, else close the connection after this answer.
  void discard_unread_body();

  ReplyOrder& order_;
  size_t max_body_;
  bool body_read_ = false;
  bool deferred_ = false;
};

}  // namespace crmhost
