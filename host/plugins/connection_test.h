// "Test the connection": one call of an integration's test_connection through its serving
// instance, with the host's HTTP client and a deadline, as the admin and tenant APIs run it.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/integration_key.h"
#include "common/outcome.h"
#include "plugins/adapter_registry.h"

namespace crmhost {

struct ConnectionTest {
  bool ok = false;
  std::string outcome;  // an outcome name (common/outcome.h), or UNAVAILABLE when no instance
  int http_status = 0;
  std::string message;
  int64_t elapsed_ms = 0;
};

// Blocks the calling thread for at most `timeout_ms` (plus the adapter's overrun, if any).
ConnectionTest run_connection_test(const AdapterRegistry& registry, const IntegrationKey& key,
                                   const Clock& clock, int64_t timeout_ms);

}  // namespace crmhost
