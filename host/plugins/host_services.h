// The host services table handed to every adapter (crmh_host_api) and the per-call context
// behind the ABI's opaque crmh_call.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include <crmhost/adapter.h>

#include "plugins/http_client.h"

namespace crmhost {
class Integration;
}

// Host context for one adapter call. Owns every response the adapter received during the call,
// so the pointers handed out stay valid until the call returns (the ABI's arena rule).
// Used by one thread at a time: the worker running the call.
struct crmh_call {
  crmh_call(crmhost::Integration* integration, crmhost::HttpTransport* http, int64_t deadline_ms)
      : integration(integration), http(http), deadline_ms(deadline_ms) {}

  crmhost::Integration* integration;
  crmhost::HttpTransport* http;
  int64_t deadline_ms;  // monotonic
  std::deque<crmhost::HttpExchange> exchanges;
  std::deque<std::vector<crmh_header>> header_views;
  // Requests that asked for the integration's credential (CRMH_REQUEST_USE_CREDENTIAL):
  std::string authorization_used;      // the last credential attached, for after_rejection
  std::string credential_header;       // the header it went in
  std::string reauthorization_needed;  // why none could be attached: a person must authorize
  // A request found no room under the integration's pacing soon enough: when there will be.
  int64_t paced_wait_ms = 0;
};

namespace crmhost {

// The one static table; thread-safe.
const crmh_host_api* host_api();

}  // namespace crmhost
