#include "plugins/connection_test.h"

#include "plugins/host_services.h"
#include "plugins/http_client.h"

namespace crmhost {

ConnectionTest run_connection_test(const AdapterRegistry& registry, const IntegrationKey& key,
                                   const Clock& clock, int64_t timeout_ms) {
  ConnectionTest t;
  auto snap = registry.snapshot();
  auto it = snap->integrations.find(key);
  if (it == snap->integrations.end()) {
    auto why = snap->unavailable.find(key);
    t.outcome = "UNAVAILABLE";
    t.message = why != snap->unavailable.end() ? why->second : "not served";
    return t;
  }
  const auto& integration = it->second;
  HttpClient http(clock);
  const int64_t start = clock.monotonic_ms();
  crmh_call call{integration.get(), &http, start + timeout_ms};
  crmh_result result{};
  result.struct_size = sizeof result;
  crmh_status status = integration->test_connection(&call, &result);
  result.message[sizeof result.message - 1] = '\0';
  t.elapsed_ms = clock.monotonic_ms() - start;
  t.ok = status == CRMH_OK;
  t.outcome = std::string(outcome_name(outcome_of(status)));
  t.http_status = result.http_status;
  t.message = status == CRMH_UNSUPPORTED && result.message[0] == '\0'
                  ? "the adapter offers no connection test"
                  : result.message;
  return t;
}

}  // namespace crmhost
