// A small blocking HTTP/1.1 client for tests of crmhost's API: one connection per request, JSON
// helpers, bearer keys. Stateless apart from the base URL; safe to use from several threads when
// each uses its own HttpClient (or concurrently: every call opens its own session).
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace crmhost::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string reason;  // the status line's reason phrase
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased

  std::string header(const std::string& lower_name) const;
  // The body parsed as a JSON object; throws (with the body in the message) when it is not one.
  Poco::JSON::Object::Ptr json() const;
};

class HttpClient {
 public:
  // `base_url` is "http://host:port" as crmhost writes it into its ready file.
  explicit HttpClient(std::string base_url);

  HttpResponse Send(const std::string& method, const std::string& path,
                    const std::string& body = "", const Headers& headers = {}) const;
  // POST with Content-Type: application/json and, when `api_key` is not empty, a bearer key.
  HttpResponse PostJson(const std::string& path, const std::string& body,
                        const std::string& api_key, Headers extra = {}) const;
  HttpResponse Get(const std::string& path, const std::string& api_key = "") const;

  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  std::string host_;
  uint16_t port_ = 0;
};

// One row of GET /v1/deliveries.
struct DeliveryView {
  std::string id;
  std::string event_id;
  std::string integration;
  std::string event_type;
  std::string status;
  int attempts = 0;
  int last_http_status = 0;  // 0 when null
  std::string last_error;    // empty when null
  std::string dead_reason;   // empty when null
};

// GET /v1/deliveries?<query>; throws unless the answer is 200 with a "deliveries" array.
std::vector<DeliveryView> ListDeliveries(const HttpClient& client, const std::string& api_key,
                                         const std::string& query = "");

// `text` parsed as a JSON object; throws (quoting the text) when it is not one.
Poco::JSON::Object::Ptr ParseJsonObject(const std::string& text);

// A JSON string field of `obj`, or "" when absent or null; throws when it is another type.
std::string JsonString(const Poco::JSON::Object::Ptr& obj, const std::string& key);

}  // namespace crmhost::testing
