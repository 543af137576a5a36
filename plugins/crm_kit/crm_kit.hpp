// What the bundled CRM adapters (salesforce, hubspot, dynamics365) share, on top of the SDK's
// adapter.hpp and nlohmann::json: one CRM request through the host with the integration's
// credential, the answer copied out, the outcome vocabulary of a CRM call, percent-encoding, and a
// deterministic GUID for idempotency keys. Header-only and compiled into each adapter: an adapter
// still links nothing of the host. Not part of the ABI.
//
// THREADING: no state of its own; a CrmCall serves one adapter call on one thread.
#pragma once

#include <crmhost/adapter.hpp>
#include <crmhost/adapter_helpers.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crmkit {

using json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

// What the CRM answered, copied out of the host's response (valid after the call returns).
struct Answer {
  crmh_status sent = CRMH_OK;      // http_send's verdict; not OK = no HTTP answer came
  int32_t transport_error = CRMH_NET_OK;
  int status = 0;
  Headers headers;
  std::string body;
  int64_t retry_after_ms = 0;      // Retry-After (delta-seconds), 0 when absent

  // The first header named `lower_name` (compared ignoring case), "" when absent.
  std::string header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name.size() != lower_name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < name.size() && same; ++i) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        same = c == lower_name[i];
      }
      if (same) return value;
    }
    return "";
  }
  // The body as JSON; a discarded value when it is not JSON (an HTML error page, empty).
  json body_json() const { return json::parse(body, nullptr, false); }
  bool answered() const { return sent == CRMH_OK; }
  bool ok() const { return answered() && status >= 200 && status < 300; }
};

// How one adapter operation ended: the status and what the host records with it.
struct Outcome {
  crmh_status status = CRMH_OK;
  std::string message;
  int http_status = 0;
  int64_t retry_after_ms = 0;

  static Outcome ok() { return {}; }
  crmh_status finish(crmh::Result& out) const {
    out.http_status(http_status);
    out.retry_after_ms(retry_after_ms);
    if (!message.empty()) out.message(message);
    return status;
  }
};

// The CRM requests of one adapter call. Paths starting with '/' go to the connection's API base
// with the integration's credential attached by the host (CRMH_REQUEST_USE_CREDENTIAL).
class CrmCall {
 public:
  CrmCall(crmh::Host host, crmh_call* call, Headers common) noexcept
      : host_(host), call_(call), common_(std::move(common)) {}

  Answer send(std::string_view method, const std::string& path, const std::string& body = "",
              const Headers& extra = {}) const {
    std::vector<crmh_header> headers;
    headers.reserve(common_.size() + extra.size() + 1);
    for (const auto* list : {&common_, &extra})
      for (const auto& [name, value] : *list) headers.push_back({crmh::str(name), crmh::str(value)});
    static const std::string kContentType = "Content-Type", kJson = "application/json";
    if (!body.empty()) headers.push_back({crmh::str(kContentType), crmh::str(kJson)});
    crmh_http_request request{};
    request.struct_size = sizeof request;
    request.method = crmh::str(method);
    request.url = crmh::str(path);
    request.headers = headers.data();
    request.header_count = headers.size();
    request.body = crmh::str(body);
    request.flags = CRMH_REQUEST_USE_CREDENTIAL;
    crmh_http_response response{};
    Answer a;
    a.sent = host_.http_send(call_, request, response);
    a.transport_error = response.transport_error;
    if (a.sent != CRMH_OK) return a;
    a.status = response.status;
    for (size_t i = 0; i < response.header_count; ++i)
      a.headers.emplace_back(std::string(crmh::view(response.headers[i].name)),
                             std::string(crmh::view(response.headers[i].value)));
    a.body = std::string(crmh::view(response.body));
    a.retry_after_ms = crmh_retry_after_ms(&response, 24 * 3600);
    return a;
  }

 private:
  crmh::Host host_;
  crmh_call* call_;
  Headers common_;
};

// The outcome of a request that got no HTTP answer: the host's own verdict (RETRY for timeouts,
// resets and refused connections; PERMANENT for an unusable URL; RATE_LIMITED when the host's
// pacing had no room before the deadline).
inline Outcome transport_outcome(const Answer& a, std::string_view what) {
  static const char* kWhy[] = {"ok", "timed out", "could not connect", "connection reset",
                               "TLS failed", "bad URL"};
  int e = a.transport_error;
  std::string why = e >= 0 && e <= CRMH_NET_BAD_URL ? kWhy[e] : "transport error";
  return {a.sent, std::string(what) + ": " + why, 0, 0};
}

// A 2xx whose body is not what the contract says (a proxy's page, a truncated answer): retried.
inline Outcome unreadable(const Answer& a, const std::string& what) {
  return {CRMH_RETRY, what + ": unreadable answer (HTTP " + std::to_string(a.status) + ")",
          a.status, 0};
}

// RFC 3986 percent-encoding of everything but the unreserved characters: safe in a path segment
// and in a query value ('+' and '@' included, as Dataverse and SOQL literals need). The host
// sends a request target as written, so these escapes reach the CRM.
inline std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

inline std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A GUID (8-4-4-4-12 hex) that is a pure function of `key`: the same delivery id always names the
// same CRM record, so a repeated create finds the first one (Dataverse lets a create set the
// primary key). Two FNV-1a 64-bit hashes with different offsets; version nibble 8 (RFC 9562
// "custom"), variant 10.
inline std::string stable_guid(std::string_view key) {
  auto fnv = [&](uint64_t h) {
    for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
    return h;
  };
  uint64_t hi = fnv(14695981039346656037ull), lo = fnv(0x84222325cbf29ce4ull ^ hi);
  hi = (hi & ~0xF000ull) | 0x8000ull;
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 15; i >= 0; --i) out.push_back(hex[(hi >> (i * 4)) & 15]);
  for (int i = 15; i >= 0; --i) out.push_back(hex[(lo >> (i * 4)) & 15]);
  out.insert(20, "-");
  out.insert(16, "-");
  out.insert(12, "-");
  out.insert(8, "-");
  return out;
}

// The mapped records of a delivery (crmh_delivery.record_json, ABI 1.2) as a JSON object; an
// empty object when the host sent none.
inline json mapped_records(const crmh_delivery& d) {
  if (!CRMH_HAS_FIELD(crmh_delivery, &d, record_json) || d.record_json.len == 0) return json::object();
  json j = json::parse(crmh::view(d.record_json), nullptr, false);
  return j.is_object() ? j : json::object();
}

// record[section] as an object ({} when absent).
inline json section(const json& records, const char* name) {
  auto it = records.find(name);
  return it != records.end() && it->is_object() ? *it : json::object();
}

// A config value as text ("" when absent or null), for the adapter's own settings.
inline std::string text(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}
inline bool flag(const json& config, const char* key, bool fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) return *it == "true";
  return fallback;
}

}  // namespace crmkit
