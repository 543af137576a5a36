#include "http/router.h"

#include <Poco/Logger.h>
#include <Poco/URI.h>
#include <openssl/crypto.h>

#include "common/ids.h"
#include "common/log_context.h"

namespace crmhost {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// Whether `a` and `b` hold the same bytes; how long it takes says nothing of where they differ.
bool same_in_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// sha256_hex(key), remembered for the last key this thread hashed: a connection sends the same
// key with every request. Compared in constant time, so how long the comparison takes says
// nothing of the remembered key (which may be another tenant's).
const std::string& key_hash(std::string_view key) {
  thread_local std::string last_key, last_hash;
  if (last_hash.empty() || !same_in_constant_time(last_key, key)) {
    last_key.assign(key);
    last_hash = sha256_hex(last_key);
  }
  return last_hash;
}

// A request's fields in the log lines written while it is handled: its X-Request-Id when the client
// sent a usable one (else one made when a line first asks), method, path and tenant.
class RequestLogFields final : public LogSource {
 public:
  RequestLogFields(const Exchange& ex, const std::string& path) : ex_(ex), path_(path) {}
  void fields(std::vector<LogField>* out) const override {
    if (id_.empty()) {
      id_ = ex_.request.get("X-Request-Id", "");
      bool usable = !id_.empty() && id_.size() <= 128;
      for (char c : id_) usable = usable && c > ' ' && c < 0x7f && c != '"' && c != '\\';
      if (!usable) id_ = new_id("req");
    }
    out->push_back({"request_id", id_});
    out->push_back({"method", ex_.request.getMethod()});
    out->push_back({"path", path_});
    if (ex_.caller.tenant) out->push_back({"tenant", ex_.caller.tenant->id});
  }

 private:
  const Exchange& ex_;
  const std::string& path_;
  mutable std::string id_;  // made on the first line
};

}  // namespace

Router::Router(std::string admin_key_hash, TenantByKeyHash tenants)
    : admin_key_hash_(std::move(admin_key_hash)), tenants_(std::move(tenants)) {}

void Router::add(const std::string& method, const std::string& pattern, Access access,
                 Endpoint endpoint, Serving serving) {
  if (serving == Serving::kEventLoop && pattern.find('{') != std::string::npos) {
    // A loop matches whole request lines only: served on a thread, and said so.
    Poco::Logger::get("crmhost.http")
        .warning(method + " " + pattern + " has a capture; it is served on a thread");
    serving = Serving::kThread;
  }
  routes_.push_back({method, pattern, split_path(pattern), access, std::move(endpoint), serving});
}

std::vector<std::string> Router::event_loop_requests() const {
  std::vector<std::string> lines;
  for (const auto& route : routes_)
    if (route.serving == Serving::kEventLoop)
      lines.push_back(route.method + " " + route.pattern + " HTTP/1.1");
  return lines;
}

bool Router::authenticate(Exchange& ex, Access access) const {
  if (access == Access::kPublic) return true;
  const std::string auth = ex.request.get("Authorization", "");
  const std::string prefix = "Bearer ";
  if (auth.size() <= prefix.size() || auth.compare(0, prefix.size(), prefix) != 0) {
    ex.response.set("WWW-Authenticate", "Bearer");
    ex.send_problem(
        {401, "unauthorized", "an Authorization: Bearer <api key> header is required", ""});
    return false;
  }
  // Keys are stored only as hashes; the map lookup is on the hash, never on the key.
  const std::string& hash = key_hash(std::string_view(auth).substr(prefix.size()));
  if (auto tenant = tenants_(hash)) {
    ex.caller.tenant = std::move(tenant);
  } else if (!admin_key_hash_.empty() && same_in_constant_time(hash, admin_key_hash_)) {
    ex.caller.admin = true;
  } else {
    ex.response.set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    ex.send_problem({401, "unauthorized", "the API key is not valid", ""});
    return false;
  }
  if (access == Access::kTenant && ex.caller.tenant == nullptr) {
    ex.send_problem({403, "forbidden", "this call needs a tenant API key", ""});
    return false;
  }
  if (access == Access::kAdmin && !ex.caller.admin) {
    ex.send_problem({403, "forbidden", "this call needs the admin key", ""});
    return false;
  }
  return true;
}

void Router::handle(Exchange& ex) const {
  std::string path;
  try {
    path = Poco::URI(ex.request.getURI()).getPath();
  } catch (const Poco::Exception&) {
    ex.send_problem({400, "bad_request", "the request URI is malformed", ""});
    return;
  }
  RequestLogFields log_fields(ex, path);
  LogScope log_scope(log_fields);
  auto segments = split_path(path);
  bool path_known = false;
  std::vector<std::string> allowed;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const auto& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}')
        params.push_back(segments[i]);
      else
        match = want == segments[i];
    }
    if (!match) continue;
    path_known = true;
    if (route.method != ex.request.getMethod()) {
      allowed.push_back(route.method);
      continue;
    }
    if (!authenticate(ex, route.access)) return;
    ex.params = std::move(params);
    try {
      route.endpoint(ex);
    } catch (const std::exception& e) {
      Poco::Logger::get("crmhost.ingress")
          .error(ex.request.getMethod() + " " + path + ": " + e.what());
      if (!ex.answered())
        ex.send_problem({500, "internal", "the request failed inside crmhost; see the log", ""});
    }
    return;
  }
  if (path_known) {
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    ex.response.set("Allow", allow);
    ex.send_problem(
        {405, "method_not_allowed",
         ex.request.getMethod() + " is not allowed on " + path + " (allowed: " + allow + ")", ""});
    return;
  }
  ex.send_problem({404, "not_found", "no such endpoint: " + path, ""});
}

}  // namespace crmhost
