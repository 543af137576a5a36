#include <Poco/JSON/Array.h>

#include "admin/admin_endpoints.h"

namespace crmhost {
namespace {

Poco::Dynamic::Var or_null(const std::string& s) { return s.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(s); }

}  // namespace

void list_deliveries(Exchange& ex, Services& s) {
  DeliveryQuery q;
  q.tenant_id = ex.caller.tenant->id;
  q.status = ex.query("status").value_or("");
  if (!q.status.empty() && q.status != "pending" && q.status != "leased" &&
      q.status != "delivered" && q.status != "dead")
    return ex.send_problem({400, "bad_field", "status must be pending, leased, delivered or dead", "status"});
  q.event_id = ex.query("event_id").value_or("");
  if (auto limit = ex.query("limit")) {
    try {
      q.limit = std::stoi(*limit);
    } catch (const std::exception&) {
      q.limit = -1;
    }
    if (q.limit < 1 || q.limit > 1000)
      return ex.send_problem({400, "bad_field", "limit must be a number from 1 to 1000", "limit"});
  }
  auto rows = s.store.list_deliveries(q);
  if (!rows.ok()) return ex.send_problem({503, "unavailable", "the store cannot be read right now", ""});
  Poco::JSON::Array list;
  for (const auto& d : *rows) {
    Poco::JSON::Object o;
    o.set("id", d.id);
    o.set("event_id", d.event_id);
    o.set("integration", d.integration_id);
    o.set("event_type", d.event_type);
    o.set("status", d.status);
    o.set("attempts", d.attempts);
    o.set("last_http_status", d.last_http_status ? Poco::Dynamic::Var(d.last_http_status) : Poco::Dynamic::Var());
    o.set("last_error", or_null(d.last_error));
    o.set("dead_reason", or_null(d.dead_reason));
    o.set("next_attempt_at", d.status == "pending" ? Poco::Dynamic::Var(iso8601(d.next_attempt_at_ms)) : Poco::Dynamic::Var());
    o.set("updated_at", iso8601(d.updated_at_ms));
    list.add(o);
  }
  Poco::JSON::Object answer;
  answer.set("deliveries", list);
  ex.send_json(200, answer);
}

void replay_delivery(Exchange& ex, Services& s) {
  const std::string& id = ex.params.at(0);
  auto result = s.store.replay(ex.caller.tenant->id, id, s.clock.wall_ms());
  if (!result.ok()) return ex.send_problem({503, "unavailable", "the store cannot commit right now", ""});
  switch (*result) {
    case ReplayResult::kNotFound:
      return ex.send_problem({404, "not_found", "no delivery " + id + " for this tenant", ""});
    case ReplayResult::kNotDead:
      return ex.send_problem({409, "conflict", "delivery " + id + " is not dead; only dead letters are replayed", ""});
    case ReplayResult::kReplayed:
      break;
  }
  s.dispatcher.wake();
  Poco::JSON::Object answer;
  answer.set("id", id);
  answer.set("status", "pending");
  ex.send_json(202, answer);
}

}  // namespace crmhost
