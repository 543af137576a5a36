// The host's HTTP client for adapters (crmh_host_api.http_send): keeps one keep-alive connection
// per scheme://host:port, enforces the caller's deadline, never follows redirects, and maps
// transport failures to CRMH_NET_* codes.
// Not thread-safe: each delivery worker owns one. The dispatcher sees only HttpTransport, so tests
// can hand it another.
#pragma once

#include <Poco/Net/HTTPClientSession.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <crmhost/adapter.h>

#include "common/clock.h"

namespace crmhost {

struct HttpExchange {
  int32_t transport_error = CRMH_NET_OK;
  int32_t status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error;  // what went wrong in transport, for logs
};

// Whether a credential (a token, a client secret) may be sent to `url`: https, or plain http to
// this machine only, where nothing travels on a wire (tests, a local proxy).
bool credential_may_travel_to(std::string_view url);

// One adapter HTTP exchange at a time (http_send), with the host's deadline (monotonic ms).
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpExchange send(const crmh_http_request& request, int64_t deadline_ms) = 0;
};
// Makes one transport per delivery worker.
using HttpTransportFactory = std::function<std::unique_ptr<HttpTransport>()>;

class HttpClient final : public HttpTransport {
 public:
  static constexpr size_t kMaxResponseBody = 1 << 20;

  explicit HttpClient(const Clock& clock) : clock_(clock) {}
  HttpExchange send(const crmh_http_request& request, int64_t deadline_ms) override;

 private:
  HttpExchange exchange(Poco::Net::HTTPClientSession& session, const crmh_http_request& request,
                        const std::string& path, int64_t deadline_ms);
  const Clock& clock_;
  std::map<std::string, std::unique_ptr<Poco::Net::HTTPClientSession>> sessions_;
};

}  // namespace crmhost
