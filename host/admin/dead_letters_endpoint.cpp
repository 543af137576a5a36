// The dead letters, for a tenant key (its own) or the admin key (`?tenant=`): list with filters
// and a cursor, inspect one with its event and every attempt, replay one or in bulk (a job),
// discard with a reason. Every change is audited.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "admin/admin_routes.h"
#include "ingress/deliveries_endpoint.h"

namespace crmhost {
namespace {

constexpr size_t kMaxBody = 16 * 1024;

// Reads the filter keys from `get` (a query parameter or a body member, as text): integration,
// event_type, outcome, http_status, since, until. False, answered 400, for a malformed one.
template <typename Get>
bool read_filter(Exchange& ex, Get get, DeadLetterQuery* q) {
  q->integration_id = get("integration");
  q->event_type = get("event_type");
  q->outcome = get("outcome");
  if (std::string status = get("http_status"); !status.empty()) {
    try {
      q->http_status = std::stoi(status);
    } catch (const std::exception&) {
      q->http_status = 0;
    }
    if (q->http_status < 100 || q->http_status > 599) {
      ex.send_problem({400, "bad_field", "http_status must be an HTTP status (100 to 599)",
                       "http_status"});
      return false;
    }
  }
  return read_time_range(ex, get, &q->from_ms, &q->to_ms);
}

Poco::JSON::Object job_json(const ReplayJob& j) {
  Poco::JSON::Object o;
  o.set("id", j.id);
  o.set("kind", "dead_letters.replay");
  o.set("tenant", j.tenant_id);
  o.set("state", j.state);
  o.set("total", j.total);
  o.set("replayed", j.replayed);
  o.set("skipped", j.skipped);
  o.set("failed", j.failed);
  o.set("done", j.replayed + j.skipped + j.failed);
  o.set("error", j.error.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(j.error));
  o.set("created_at", iso8601(j.created_at_ms));
  o.set("finished_at",
        j.finished_at_ms ? Poco::Dynamic::Var(iso8601(j.finished_at_ms)) : Poco::Dynamic::Var());
  return o;
}

void list_dead_letters(Exchange& ex, AdminServices& s) {
  DeadLetterQuery q;
  if (!scoped_tenant(ex, /*required=*/true, &q.tenant_id)) return;
  if (!read_filter(ex, [&](const char* name) { return ex.query(name).value_or(""); }, &q)) return;
  q.after = ex.query("cursor").value_or("");
  if (!read_limit(ex, &q.limit)) return;
  auto page = s.store.list_dead_letters(q);
  if (!page.ok()) return send_store_failure(ex, page.failure());
  Poco::JSON::Array letters;
  for (const auto& d : page->letters) letters.add(delivery_json(d));
  Poco::JSON::Object answer;
  answer.set("dead_letters", letters);
  answer.set("next_cursor", page->next.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(page->next));
  ex.send_json(200, answer);
}

void show_dead_letter(Exchange& ex, AdminServices& s) {
  std::string tenant;
  if (!scoped_tenant(ex, /*required=*/true, &tenant)) return;
  auto detail = s.store.delivery_detail(tenant, ex.params.at(0));
  if (!detail.ok()) return send_store_failure(ex, detail.failure());
  Poco::JSON::Object event;
  event.set("id", detail->delivery.event_id);
  event.set("type", detail->delivery.event_type);
  event.set("received_at", iso8601(detail->received_at_ms));
  try {
    event.set("payload", Poco::JSON::Parser().parse(detail->payload));
  } catch (const Poco::Exception&) {
    event.set("payload", detail->payload);  // stored as received; JSON when it was accepted
  }
  Poco::JSON::Array attempts;
  for (const auto& a : detail->attempts) {
    Poco::JSON::Object o;
    o.set("attempt", a.attempt);
    o.set("started_at", iso8601(a.started_at_ms));
    o.set("duration_ms", a.duration_ms);
    o.set("outcome", a.outcome);
    o.set("http_status", a.http_status ? Poco::Dynamic::Var(a.http_status) : Poco::Dynamic::Var());
    o.set("error", a.error.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(a.error));
    o.set("response", a.response.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(a.response));
    attempts.add(o);
  }
  Poco::JSON::Object answer;
  answer.set("delivery", delivery_json(detail->delivery));
  answer.set("event", event);
  answer.set("attempts", attempts);
  ex.send_json(200, answer);
}

void replay_dead_letter(Exchange& ex, AdminServices& s) {
  std::string tenant;
  if (!scoped_tenant(ex, /*required=*/true, &tenant)) return;
  const std::string& id = ex.params.at(0);
  Status replayed = s.store.replay(tenant, id, s.clock.wall_ms());
  if (replayed.ok() || replayed.error_kind() == ErrorKind::kConflict)
    (void)s.config_store.record({s.clock.wall_ms(), actor_of(ex), "dead_letters.replay", tenant,
                                 id, "", replayed.ok() ? "ok" : "refused: " + replayed.error()});
  if (!replayed.ok()) return send_store_failure(ex, replayed.failure());
  Poco::JSON::Object answer;
  answer.set("id", id);
  answer.set("status", "pending");
  ex.send_json(202, answer);
}

void discard_dead_letter(Exchange& ex, AdminServices& s) {
  std::string tenant;
  if (!scoped_tenant(ex, /*required=*/true, &tenant)) return;
  Problem problem;
  auto body = ex.json_body(kMaxBody, &problem);
  if (!body.ok()) return ex.send_problem(problem);
  auto o = parse_object(*body);
  if (!o) return ex.send_problem({400, "bad_json", "the body must be a JSON object", ""});
  std::string reason;
  if (o->has("reason") && o->get("reason").isString()) reason = o->getValue<std::string>("reason");
  if (reason.empty())
    return ex.send_problem(
        {400, "missing_field", "reason is required: say why this letter is set aside", "reason"});
  const std::string& id = ex.params.at(0);
  Status discarded = s.store.discard(tenant, id, reason, s.clock.wall_ms());
  if (discarded.ok() || discarded.error_kind() == ErrorKind::kConflict)
    (void)s.config_store.record({s.clock.wall_ms(), actor_of(ex), "dead_letters.discard", tenant,
                                 id, "reason: " + reason,
                                 discarded.ok() ? "ok" : "refused: " + discarded.error()});
  if (!discarded.ok()) return send_store_failure(ex, discarded.failure());
  Poco::JSON::Object answer;
  answer.set("id", id);
  answer.set("status", "discarded");
  answer.set("reason", reason);
  ex.send_json(200, answer);
}

void bulk_replay(Exchange& ex, AdminServices& s) {
  DeadLetterQuery q;
  if (!scoped_tenant(ex, /*required=*/true, &q.tenant_id)) return;
  Problem problem;
  auto body = ex.json_body(kMaxBody, &problem);
  if (!body.ok()) return ex.send_problem(problem);
  auto o = parse_object(body->empty() ? "{}" : *body);
  if (!o) return ex.send_problem({400, "bad_json", "the body must be a JSON object", ""});
  static const char* const kKeys[] = {"integration", "event_type", "outcome", "http_status",
                                      "since", "until"};
  for (const auto& name : o->getNames()) {
    bool known = false;
    for (const char* k : kKeys) known = known || name == k;
    if (!known)
      return ex.send_problem({400, "bad_field",
                              "unknown filter " + name +
                                  "; filters are integration, event_type, outcome, http_status,"
                                  " since and until",
                              name});
  }
  auto get = [&](const char* name) -> std::string {
    if (!o->has(name) || o->get(name).isEmpty()) return "";
    return o->get(name).convert<std::string>();
  };
  if (!read_filter(ex, get, &q)) return;
  ReplayJob job = s.jobs.start(q, actor_of(ex));
  ex.response.set("Location", "/v1/jobs/" + job.id);
  Poco::JSON::Object answer;
  answer.set("job", job_json(job));
  ex.send_json(202, answer);
}

void show_job(Exchange& ex, AdminServices& s) {
  std::string tenant;
  if (!ex.caller.admin) tenant = ex.caller.tenant->id;
  auto job = s.jobs.job(tenant, ex.params.at(0));
  if (!job) return ex.send_problem({404, "not_found", "no job " + ex.params.at(0), ""});
  Poco::JSON::Object answer;
  answer.set("job", job_json(*job));
  ex.send_json(200, answer);
}

}  // namespace

bool read_time_range(Exchange& ex, const std::function<std::string(const char*)>& text_of,
                     int64_t* from_ms, int64_t* to_ms) {
  for (auto [name, out] : {std::pair{"since", from_ms}, std::pair{"until", to_ms}}) {
    std::string text = text_of(name);
    if (text.empty()) continue;
    auto at = parse_iso8601(text);
    if (!at) {
      ex.send_problem({400, "bad_field",
                       std::string(name) + " must be an RFC 3339 time, e.g. 2026-12-07T10:00:00Z",
                       name});
      return false;
    }
    *out = *at;
  }
  return true;
}

bool scoped_tenant(Exchange& ex, bool required, std::string* tenant) {
  if (!ex.caller.admin) {
    *tenant = ex.caller.tenant->id;
    return true;
  }
  *tenant = ex.query("tenant").value_or("");
  if (tenant->empty() && required) {
    ex.send_problem({400, "missing_field", "the admin key names the tenant: ?tenant=<id>", "tenant"});
    return false;
  }
  return true;
}

void add_operations_routes(Router& r, AdminServices& s) {
  r.add("GET", "/v1/status", Access::kAny, [&s](Exchange& ex) { sync_status(ex, s); });
  r.add("GET", "/v1/dead-letters", Access::kAny, [&s](Exchange& ex) { list_dead_letters(ex, s); });
  r.add("POST", "/v1/dead-letters/replay", Access::kAny, [&s](Exchange& ex) { bulk_replay(ex, s); });
  r.add("GET", "/v1/dead-letters/{id}", Access::kAny, [&s](Exchange& ex) { show_dead_letter(ex, s); });
  r.add("POST", "/v1/dead-letters/{id}/replay", Access::kAny,
        [&s](Exchange& ex) { replay_dead_letter(ex, s); });
  r.add("POST", "/v1/dead-letters/{id}/discard", Access::kAny,
        [&s](Exchange& ex) { discard_dead_letter(ex, s); });
  r.add("GET", "/v1/jobs/{id}", Access::kAny, [&s](Exchange& ex) { show_job(ex, s); });
  r.add("GET", "/v1/audit", Access::kAny, [&s](Exchange& ex) { list_audit(ex, s); });
}

}  // namespace crmhost
