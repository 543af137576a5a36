#include "oauth/token_endpoint.h"

#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

#include "common/base64.h"

namespace crmhost {
namespace {

std::string text_of(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key)) return "";
  return o->get(key).toString();
}

}  // namespace

std::string form_encode(const std::map<std::string, std::string>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    std::string ek, ev;
    Poco::URI::encode(k, "!#$&'()*+,/:;=?@[]", ek);
    Poco::URI::encode(v, "!#$&'()*+,/:;=?@[]", ev);
    out += (out.empty() ? "" : "&") + ek + "=" + ev;
  }
  return out;
}

Expected<TokenGrant> request_token(HttpTransport& http, const TokenRequest& request,
                                   const Clock& clock, int64_t deadline_ms) {
  if (!credential_may_travel_to(request.url))
    return Error{"token endpoint " + request.url + " is not https: the client secret stays home",
                 ErrorKind::kBadInput};
  auto form = request.form;
  std::string basic;
  if (request.basic_auth) {
    basic = "Basic " + base64_encode(request.client_id + ":" + request.client_secret);
  } else {
    form["client_id"] = request.client_id;
    if (!request.client_secret.empty()) form["client_secret"] = request.client_secret;
  }
  const std::string body = form_encode(form);
  std::vector<crmh_header> headers = {
      {{"Content-Type", 12}, {"application/x-www-form-urlencoded", 33}},
      {{"Accept", 6}, {"application/json", 16}}};
  if (!basic.empty()) headers.push_back({{"Authorization", 13}, {basic.data(), basic.size()}});
  crmh_http_request req{};
  req.struct_size = sizeof req;
  req.method = {"POST", 4};
  req.url = {request.url.data(), request.url.size()};
  req.headers = headers.data();
  req.header_count = headers.size();
  req.body = {body.data(), body.size()};
  HttpExchange x = http.send(req, deadline_ms);
  if (x.transport_error != CRMH_NET_OK)
    return Error{"token endpoint " + request.url + ": " + x.error, ErrorKind::kUnavailable};
  Poco::JSON::Object::Ptr answer;
  try {
    answer = Poco::JSON::Parser().parse(x.body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return Error{"token endpoint " + request.url + " answered HTTP " + std::to_string(x.status) +
                     " without a JSON object",
                 x.status >= 400 && x.status < 500 && x.status != 429 && x.status != 408
                     ? ErrorKind::kConflict
                     : ErrorKind::kUnavailable};
  }
  // An error is read from the body first: Zoho answers its errors with HTTP 200.
  std::string error = text_of(answer, "error");
  if (error.empty() && x.status >= 400) error = text_of(answer, "status");  // HubSpot v1
  if (!error.empty() || x.status >= 400 || text_of(answer, "access_token").empty()) {
    std::string description = text_of(answer, "error_description");
    if (description.empty()) description = text_of(answer, "message");
    std::string what = "the provider refused: " + (error.empty() ? "HTTP " + std::to_string(x.status) : error) +
                       (description.empty() ? "" : " (" + description + ")");
    bool transient = x.status >= 500 || x.status == 429 || x.status == 408 ||
                     error == "temporarily_unavailable" || error == "server_error";
    return Error{what, transient ? ErrorKind::kUnavailable : ErrorKind::kConflict};
  }
  TokenGrant grant;
  grant.access_token = text_of(answer, "access_token");
  grant.refresh_token = text_of(answer, "refresh_token");
  std::string expires = text_of(answer, "expires_in");  // a number, or a string ("3600")
  if (!expires.empty()) {
    try {
      grant.expires_at_ms = clock.wall_ms() + static_cast<int64_t>(std::stod(expires) * 1000);
    } catch (const std::exception&) {
      grant.expires_at_ms = 0;
    }
  }
  if (!request.api_base_field.empty()) grant.api_base = text_of(answer, request.api_base_field);
  return grant;
}

}  // namespace crmhost
