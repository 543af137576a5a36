#include "ingress/events_endpoint.h"

#include <Poco/Logger.h>

#include "ingress/event_validation.h"

namespace crmhost {

void post_event(Exchange& ex, Services& s) {
  const TenantConfig& tenant = *ex.caller.tenant;
  int retry_after_s = 0;
  if (!s.limiter.try_acquire(tenant.id, tenant.ingest_rate, &retry_after_s)) {
    ex.response.set("Retry-After", std::to_string(retry_after_s));
    ex.send_problem({429, "rate_limited", "tenant " + tenant.id + " is over its ingest rate of " +
                                              std::to_string(static_cast<long>(tenant.ingest_rate)) +
                                              " events/s", ""});
    return;
  }
  Problem problem;
  auto body = ex.json_body(s.config.max_body, &problem);
  if (!body.ok()) return ex.send_problem(problem);
  auto event = validate_event(*body, &problem);
  if (!event.ok()) return ex.send_problem(problem);

  std::string key = ex.request.get("Idempotency-Key", "");
  if (key.size() > 255)
    return ex.send_problem({400, "bad_field", "Idempotency-Key is longer than 255 characters", "Idempotency-Key"});
  if (!key.empty() && !event->id.empty() && key != event->id)
    return ex.send_problem({400, "bad_field", "id differs from the Idempotency-Key header", "id"});
  if (key.empty()) key = event->id;

  NewEvent e;
  e.tenant_id = tenant.id;
  e.idempotency_key = key;
  e.event_type = event->type;
  e.payload = std::move(*body);
  e.received_at_ms = s.clock.wall_ms();
  for (const auto& integration : tenant.integrations)
    if (integration.enabled && integration.subscribes_to(event->type))
      e.integration_ids.push_back(integration.id);

  auto stored = s.store.append(e);
  if (!stored.ok()) {
    Poco::Logger::get("crmhost.ingress").error("store cannot commit: " + stored.error());
    ex.response.set("Retry-After", "1");
    return ex.send_problem({503, "unavailable", "the event store cannot commit right now; retry", ""});
  }
  if (!stored->repeated && stored->deliveries > 0) s.dispatcher.wake();
  // The id is crmhost's own (a prefix and hex digits): nothing in the answer needs escaping.
  ex.send_json(202, "{\"id\":\"" + stored->event_id + "\",\"deliveries\":" +
                        std::to_string(stored->deliveries) + "}");
}

}  // namespace crmhost
