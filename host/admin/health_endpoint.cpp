#include "admin/admin_routes.h"

namespace crmhost {

void healthz(Exchange& ex) {
  Poco::JSON::Object answer;
  answer.set("status", "ok");
  ex.send_json(200, answer);
}

void readyz(Exchange& ex, AdminServices& s) {
  auto snap = s.registry.snapshot();
  Poco::JSON::Object answer;
  Poco::JSON::Object unavailable;
  for (const auto& [key, why] : snap->unavailable)
    if (why != "disabled" && !snap->integrations.count(key)) unavailable.set(key.log_name(), why);
  // A delivery due for longer than stall_after was never picked up: the dispatcher is stuck or
  // cannot keep up, and only a person (or a restart) will help.
  auto stalled = s.store.stalled_delivery(s.clock.wall_ms() - s.config.stall_after_ms);
  if (stalled.ok() && *stalled) {
    const DeliveryView& d = **stalled;
    unavailable.set(IntegrationKey{d.tenant_id, d.integration_id}.log_name(),
                    "stalled: delivery " + d.id + " has been due since " +
                        iso8601(d.next_attempt_at_ms) + " (stall_after " +
                        std::to_string(s.config.stall_after_ms / 1000) + "s)");
  }
  if (unavailable.size() == 0 && stalled.ok()) {
    answer.set("status", "ready");
    return ex.send_json(200, answer);
  }
  answer.set("status", "not_ready");
  if (!stalled.ok()) answer.set("store", "unavailable");
  answer.set("integrations", unavailable);
  ex.send_json(503, answer);
}

}  // namespace crmhost
