// The host's HTTP client for adapters (crmh_host_api.http_send): keeps one keep-alive connection
// per scheme://host:port, enforces the caller's deadline, never follows redirects, and maps
// transport failures to CRMH_NET_* codes.
// Not thread-safe: each delivery worker owns one HttpClient.
#pragma once

#include <Poco/Net/HTTPClientSession.h>

#include <map>
#include <memory>
#include <string>
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

class HttpClient {
 public:
  static constexpr size_t kMaxResponseBody = 1 << 20;

  explicit HttpClient(const Clock& clock) : clock_(clock) {}
  HttpExchange send(const crmh_http_request& request, int64_t deadline_ms);

 private:
  HttpExchange exchange(Poco::Net::HTTPClientSession& session, const crmh_http_request& request,
                        const std::string& path, int64_t deadline_ms);
  const Clock& clock_;
  std::map<std::string, std::unique_ptr<Poco::Net::HTTPClientSession>> sessions_;
};

}  // namespace crmhost
