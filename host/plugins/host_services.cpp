#include "plugins/host_services.h"

#include <Poco/Logger.h>
#include <Poco/String.h>

#include <cstring>

#include "plugins/integration.h"

namespace crmhost {
namespace {

Integration* integration_of(void* host_ctx) { return static_cast<Integration*>(host_ctx); }

void log(void* host_ctx, int32_t level, crmh_str message) {
  auto& logger = Poco::Logger::get("crmhost.adapter");
  std::string text = "[" + integration_of(host_ctx)->log_name() + "] " +
                     std::string(message.ptr ? message.ptr : "", message.len);
  switch (level) {
    case CRMH_LOG_DEBUG: logger.debug(text); break;
    case CRMH_LOG_INFO: logger.information(text); break;
    case CRMH_LOG_WARN: logger.warning(text); break;
    default: logger.error(text); break;
  }
}

int64_t wall_clock_ms(void* host_ctx) { return integration_of(host_ctx)->clock().wall_ms(); }
int64_t monotonic_ms(void* host_ctx) { return integration_of(host_ctx)->clock().monotonic_ms(); }

// Copies `resp` into the adapter's response, as much of it as the adapter's struct holds, and
// says how much that was.
void give(crmh_http_response* out, const crmh_http_response& resp) {
  const uint32_t theirs = out->struct_size;
  std::memcpy(out, &resp, std::min<size_t>(theirs, sizeof resp));
  out->struct_size = std::min<uint32_t>(theirs, sizeof resp);
}

crmh_status http_send(crmh_call* call, const crmh_http_request* request, crmh_http_response* out) {
  if (call == nullptr || request == nullptr || out == nullptr) return CRMH_INTERNAL;
  // Read only the request fields the adapter's header version has.
  crmh_http_request req{};
  std::memcpy(&req, request, std::min<size_t>(request->struct_size, sizeof req));
  int64_t deadline = call->deadline_ms;
  if (req.deadline_ms > 0 && req.deadline_ms < deadline) deadline = req.deadline_ms;

  // The credential, attached here so that the adapter never holds it; a relative URL is resolved
  // against the connection's API base. Both live until the exchange is done.
  std::string url;
  std::vector<crmh_header> headers;
  if (CRMH_HAS_FIELD(crmh_http_request, request, flags) &&
      (req.flags & CRMH_REQUEST_USE_CREDENTIAL)) {
    CredentialSource* source = call->integration->credentials();
    auto refuse = [&](int32_t transport, crmh_status status) {
      crmh_http_response resp{};
      resp.struct_size = sizeof resp;
      resp.transport_error = transport;
      give(out, resp);
      return status;
    };
    if (source == nullptr || call->integration->oauth_provider() == nullptr)
      return refuse(CRMH_NET_BAD_URL, CRMH_BAD_CONFIG);
    auto credential = source->credential(*call->integration);
    if (!credential.ok()) {
      if (credential.error_kind() == ErrorKind::kConflict) {
        call->reauthorization_needed = credential.error();
        return refuse(CRMH_NET_CONNECT, CRMH_AUTH_EXPIRED);
      }
      return refuse(CRMH_NET_CONNECT, CRMH_RETRY);
    }
    call->authorization_used = credential->authorization;
    std::string_view asked(req.url.ptr ? req.url.ptr : "", req.url.len);
    std::string_view base = credential->api_base;
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    if (base.empty()) return refuse(CRMH_NET_BAD_URL, CRMH_BAD_CONFIG);
    if (!asked.empty() && asked.front() == '/') {
      url = std::string(base) + std::string(asked);
      req.url = {url.data(), url.size()};
    } else if (asked.rfind(base, 0) != 0 ||
               (asked.size() > base.size() && asked[base.size()] != '/' && asked[base.size()] != '?')) {
      // The credential goes to the connection's API base and nowhere else.
      Poco::Logger::get("crmhost.http").warning("[" + call->integration->log_name() +
                                                "] the credential was asked for outside the API base");
      return refuse(CRMH_NET_BAD_URL, CRMH_BAD_CONFIG);
    }
    if (!credential_may_travel_to(std::string_view(req.url.ptr, req.url.len)))
      return refuse(CRMH_NET_BAD_URL, CRMH_BAD_CONFIG);
    for (size_t i = 0; i < req.header_count; ++i) {
      std::string name(req.headers[i].name.ptr ? req.headers[i].name.ptr : "",
                       req.headers[i].name.len);
      if (Poco::icompare(name, "authorization") != 0 && Poco::icompare(name, credential->header) != 0)
        headers.push_back(req.headers[i]);
    }
    call->credential_header = credential->header;
    headers.push_back({{call->credential_header.data(), call->credential_header.size()},
                       {call->authorization_used.data(), call->authorization_used.size()}});
    req.headers = headers.data();
    req.header_count = headers.size();
  }

  // Pacing: room under the CRM's limits, or a RATE_LIMITED the dispatcher parks on.
  Pacer* pacer = call->integration->pacer();
  if (int64_t wait = pacer ? pacer->admit(call->integration->clock(), deadline) : 0; wait > 0) {
    crmh_http_response resp{};
    resp.struct_size = sizeof resp;
    resp.transport_error = CRMH_NET_TIMEOUT;
    give(out, resp);
    call->paced_wait_ms = std::max(call->paced_wait_ms, wait);
    return CRMH_RATE_LIMITED;
  }
  struct Slot {  // released however the exchange ends
    Pacer* pacer;
    ~Slot() {
      if (pacer) pacer->release();
    }
  } slot{pacer};
  auto& x = call->exchanges.emplace_back(call->http->send(req, deadline));
  auto& views = call->header_views.emplace_back();
  for (const auto& [name, value] : x.headers)
    views.push_back({{name.data(), name.size()}, {value.data(), value.size()}});

  crmh_http_response resp{};
  resp.struct_size = sizeof resp;
  resp.transport_error = x.transport_error;
  resp.status = x.status;
  resp.headers = views.data();
  resp.header_count = views.size();
  resp.body = {x.body.data(), x.body.size()};
  give(out, resp);

  if (x.transport_error == CRMH_NET_OK) return CRMH_OK;
  Poco::Logger::get("crmhost.http").debug("[" + call->integration->log_name() + "] " + x.error);
  return x.transport_error == CRMH_NET_BAD_URL ? CRMH_PERMANENT : CRMH_RETRY;
}

crmh_status hmac(crmh_call* call, crmh_str secret_name, uint32_t key_format, crmh_str message,
                 uint8_t out[32]) {
  if (call == nullptr || out == nullptr) return CRMH_INTERNAL;
  // No such secret, an unknown format, or a secret not in that format.
  const PreparedHmacKey* key = call->integration->hmac_key(
      std::string_view(secret_name.ptr ? secret_name.ptr : "", secret_name.len), key_format);
  if (key == nullptr) return CRMH_BAD_CONFIG;
  auto mac = key->sign(std::string_view(message.ptr ? message.ptr : "", message.len));
  std::memcpy(out, mac.data(), mac.size());
  return CRMH_OK;
}

crmh_status check_secret(void* host_ctx, crmh_str secret_name, uint32_t key_format) {
  if (host_ctx == nullptr) return CRMH_INTERNAL;
  const PreparedHmacKey* key = integration_of(host_ctx)->hmac_key(
      std::string_view(secret_name.ptr ? secret_name.ptr : "", secret_name.len), key_format);
  return key == nullptr ? CRMH_BAD_CONFIG : CRMH_OK;
}

const crmh_host_api kHostApi = {
    sizeof(crmh_host_api), CRMH_ABI_MAJOR, CRMH_ABI_MINOR, log, wall_clock_ms, monotonic_ms,
    http_send, hmac, check_secret,
};

}  // namespace

const crmh_host_api* host_api() { return &kHostApi; }

}  // namespace crmhost
