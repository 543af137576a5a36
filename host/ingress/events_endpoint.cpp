#include "ingress/events_endpoint.h"

#include <Poco/Logger.h>

#include <chrono>

#include "common/ids.h"
#include "ingress/event_validation.h"

namespace crmhost {
namespace {

// {"id":…,"deliveries":N}. The id is crmhost's own (a prefix and hex digits): nothing in the
// answer needs escaping.
std::string accepted_json(const std::string& event_id, size_t deliveries) {
  return "{\"id\":\"" + event_id + "\",\"deliveries\":" + std::to_string(deliveries) + "}";
}

// What the answer counts once it is known: the event, and the time since it was routed.
struct IngestCount {
  Counter& accepted;
  Histogram& seconds;
  std::chrono::steady_clock::time_point routed_at;
};

// Runs on the store's writer thread once `stored` is known; `accepted` is the usual answer.
void answer_stored(DeferredReply& reply, std::string accepted, Expected<AppendResult> stored,
                   const IngestCount& count) {
  count.seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - count.routed_at).count());
  if (!stored.ok()) {
    Poco::Logger::get("crmhost.ingress").error("store cannot commit: " + stored.error());
    reply.add_header("Retry-After", "1");
    const Problem unavailable{503, "unavailable", "the event store cannot commit right now; retry",
                              ""};
    return reply.send(reply.format_json(503, problem_json(unavailable)));
  }
  if (stored->repeated)  // the first answer again: its id and deliveries
    return reply.send(reply.format_json(202, accepted_json(stored->event_id, stored->deliveries)));
  count.accepted.add();
  reply.send(std::move(accepted));  // the store has told the dispatcher of the new deliveries
}

}  // namespace

void post_event(Exchange& ex, IngressServices& s) {
  const auto routed_at = std::chrono::steady_clock::now();
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

  // The answer leaves once the store's writer thread has committed the event (sent by the
  // connection's event loop, or by the writer itself), so this thread goes back to its
  // connections instead of sleeping on the commit. The usual answer is formatted here, off the
  // writer thread.
  e.id = new_id("evt");
  auto reply = ex.defer();
  std::string accepted = reply->format_json(202, accepted_json(e.id, e.integration_ids.size()));
  // The series are resolved here, off the writer thread.
  IngestCount count{s.metrics.events_accepted.with({tenant.id, e.event_type}),
                    s.metrics.ingest, routed_at};
  s.store.append_then(std::move(e), [reply, accepted = std::move(accepted), count](
                                         Expected<AppendResult> stored) mutable {
    answer_stored(*reply, std::move(accepted), std::move(stored), count);
  });
}

}  // namespace crmhost
