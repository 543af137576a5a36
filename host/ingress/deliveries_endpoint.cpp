#include "ingress/deliveries_endpoint.h"

#include <Poco/JSON/Array.h>
#include <Poco/Logger.h>

namespace crmhost {
namespace {

Poco::Dynamic::Var or_null(const std::string& s) {
  return s.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(s);
}

}  // namespace

bool read_limit(Exchange& ex, int* limit) {
  auto text = ex.query("limit");
  if (!text) return true;
  try {
    *limit = std::stoi(*text);
  } catch (const std::exception&) {
    *limit = -1;
  }
  if (*limit >= 1 && *limit <= 1000) return true;
  ex.send_problem({400, "bad_field", "limit must be a number from 1 to 1000", "limit"});
  return false;
}

void send_store_failure(Exchange& ex, const Error& error) {
  if (error.kind == ErrorKind::kUnavailable || error.kind == ErrorKind::kInternal)
    Poco::Logger::get("crmhost.ingress")
        .error(ex.request.getMethod() + " " + ex.request.getURI() + ": " + error.message);
  ex.send_problem(problem_for(error));
}

Poco::JSON::Object delivery_json(const DeliveryView& d) {
  Poco::JSON::Object o;
  o.set("id", d.id);
  o.set("event_id", d.event_id);
  o.set("integration", d.integration_id);
  o.set("event_type", d.event_type);
  o.set("status", d.discarded_at_ms ? std::string("discarded")
                                    : std::string(delivery_status_name(d.status)));
  o.set("attempts", d.attempts);
  o.set("last_http_status",
        d.last_http_status ? Poco::Dynamic::Var(d.last_http_status) : Poco::Dynamic::Var());
  o.set("last_outcome", or_null(d.last_outcome));
  o.set("last_error", or_null(d.last_error));
  o.set("dead_reason", or_null(d.dead_reason));
  if (d.discarded_at_ms) {
    o.set("discarded_at", iso8601(d.discarded_at_ms));
    o.set("discard_reason", d.discard_reason);
  }
  o.set("next_attempt_at", d.status == DeliveryStatus::kPending
                               ? Poco::Dynamic::Var(iso8601(d.next_attempt_at_ms))
                               : Poco::Dynamic::Var());
  o.set("updated_at", iso8601(d.updated_at_ms));
  return o;
}

void list_deliveries(Exchange& ex, IngressServices& s) {
  DeliveryQuery q;
  q.tenant_id = ex.caller.tenant->id;
  if (auto status = ex.query("status"); status && !status->empty()) {
    q.status = parse_delivery_status(*status);
    if (!q.status)
      return ex.send_problem(
          {400, "bad_field", "status must be pending, leased, delivered or dead", "status"});
  }
  q.event_id = ex.query("event_id").value_or("");
  if (!read_limit(ex, &q.limit)) return;
  auto rows = s.store.list_deliveries(q);
  if (!rows.ok()) return send_store_failure(ex, rows.failure());
  Poco::JSON::Array list;
  for (const auto& d : *rows) list.add(delivery_json(d));
  Poco::JSON::Object answer;
  answer.set("deliveries", list);
  ex.send_json(200, answer);
}

void replay_delivery(Exchange& ex, IngressServices& s) {
  const std::string& id = ex.params.at(0);
  // The store tells the dispatcher that the delivery is due.
  if (auto replayed = s.store.replay(ex.caller.tenant->id, id, s.clock.wall_ms()); !replayed.ok())
    return send_store_failure(ex, replayed.failure());
  Poco::JSON::Object answer;
  answer.set("id", id);
  answer.set("status", "pending");
  ex.send_json(202, answer);
}

}  // namespace crmhost
