// GET /v1/audit: the audit log, newest first, filtered and paged; a tenant key sees its own
// tenant's entries, the admin key every entry (or `?tenant=`). Entries never hold a secret's value:
// they name what changed.
#include <Poco/JSON/Array.h>

#include "admin/admin_routes.h"
#include "ingress/deliveries_endpoint.h"

namespace crmhost {

void list_audit(Exchange& ex, AdminServices& s) {
  AuditQuery q;
  if (!scoped_tenant(ex, /*required=*/false, &q.tenant_id)) return;
  q.action = ex.query("action").value_or("");
  if (!read_time_range(ex, [&](const char* name) { return ex.query(name).value_or(""); },
                       &q.from_ms, &q.to_ms))
    return;
  auto number = [&](const char* name, int64_t lo, int64_t hi, int64_t* out) {
    auto text = ex.query(name);
    if (!text || text->empty()) return true;
    try {
      size_t used = 0;
      *out = std::stoll(*text, &used);
      if (used == text->size() && *out >= lo && *out <= hi) return true;
    } catch (const std::exception&) {
    }
    ex.send_problem({400, "bad_field",
                     std::string(name) + " must be a number from " + std::to_string(lo) + " to " +
                         std::to_string(hi),
                     name});
    return false;
  };
  int64_t limit = 100;
  if (!number("cursor", 1, INT64_MAX, &q.before_id) || !number("limit", 1, 1000, &limit)) return;
  q.limit = static_cast<int>(limit);
  auto page = s.config_store.audit_entries(q);
  if (!page.ok()) return send_store_failure(ex, page.failure());
  Poco::JSON::Array entries;
  for (const auto& r : page->entries) {
    Poco::JSON::Object o;
    o.set("id", r.id);
    o.set("at", iso8601(r.entry.at_ms));
    o.set("actor", r.entry.actor);
    o.set("action", r.entry.action);
    o.set("tenant", r.entry.tenant_id.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(r.entry.tenant_id));
    o.set("target", r.entry.target);
    o.set("detail", r.entry.detail);
    o.set("outcome", r.entry.outcome);
    entries.add(o);
  }
  Poco::JSON::Object answer;
  answer.set("entries", entries);
  answer.set("next_cursor", page->next_before_id ? Poco::Dynamic::Var(std::to_string(page->next_before_id))
                                                 : Poco::Dynamic::Var());
  ex.send_json(200, answer);
}

}  // namespace crmhost
