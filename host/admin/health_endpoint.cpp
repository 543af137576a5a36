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
  if (unavailable.size() == 0 && s.store.next_due_at_ms().ok()) {
    answer.set("status", "ready");
    return ex.send_json(200, answer);
  }
  answer.set("status", "not_ready");
  answer.set("integrations", unavailable);
  ex.send_json(503, answer);
}

}  // namespace crmhost
