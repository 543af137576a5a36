// Tenants as data (admin key): /v1/tenants[/{tenant}] and their API keys. A key is shown once,
// in the answer that makes it; only its hash is kept. Tenants of the YAML file are listed but
// read-only here (409 naming the file).
#include <Poco/JSON/Array.h>

#include "admin/admin_routes.h"
#include "common/ids.h"

namespace crmhost {
namespace {

Poco::JSON::Object tenant_json(const TenantConfig& t, const std::vector<ApiKeyRecord>& keys) {
  Poco::JSON::Object o;
  o.set("id", t.id);
  o.set("ingest_rate", t.ingest_rate);
  o.set("source", t.declared_in.empty() ? "api" : "file");
  o.set("declared_in", t.declared_in.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(t.declared_in));
  Poco::JSON::Array key_list;
  for (const auto& k : keys) {
    Poco::JSON::Object ko;
    ko.set("id", k.key_id);
    ko.set("created_at", iso8601(k.created_at_ms));
    key_list.add(ko);
  }
  o.set("api_keys", key_list);
  o.set("integrations", static_cast<int>(t.integrations.size()));
  return o;
}

// A new API key and its record: "crmh_" + 32 random bytes in hex.
std::pair<std::string, ApiKeyRecord> new_api_key(int64_t now_ms) {
  std::string key = "crmh_" + random_hex(32);
  return {key, ApiKeyRecord{"key_" + random_hex(8), sha256_hex(key), now_ms}};
}

Poco::JSON::Object key_json(const std::string& key, const ApiKeyRecord& record) {
  Poco::JSON::Object o;
  o.set("id", record.key_id);
  o.set("key", key);  // the only time it is shown
  o.set("created_at", iso8601(record.created_at_ms));
  return o;
}

void send_failure(Exchange& ex, const Error& e) { ex.send_problem(problem_for(e)); }

// A stored tenant's key records; a file tenant's keys are not listed.
Expected<std::vector<ApiKeyRecord>> keys_of(const TenantConfig& t, AdminServices& s) {
  if (!t.declared_in.empty()) return std::vector<ApiKeyRecord>{};
  return s.config_store.api_keys(t.id);
}

// A file tenant may not be changed here; answers 409 and returns true when `id` is one.
bool refuse_file_tenant(Exchange& ex, AdminServices& s, const std::string& id) {
  for (const auto& t : s.config.tenants)
    if (t.id == id) {
      ex.send_problem({409, "conflict",
                       "tenant " + id + " is declared in " + s.config.file + "; change it there",
                       ""});
      return true;
    }
  return false;
}

AuditEntry audit(Exchange& ex, AdminServices& s, const std::string& action,
                 const std::string& tenant, const std::string& detail) {
  return {s.clock.wall_ms(), actor_of(ex), action, tenant, tenant, detail, "ok"};
}

void list_tenants(Exchange& ex, AdminServices& s) {
  auto snap = s.directory.snapshot();
  Poco::JSON::Array list;
  for (const auto& t : snap->tenants) {
    auto keys = keys_of(t, s);
    if (!keys.ok()) return send_failure(ex, keys.failure());
    list.add(tenant_json(t, *keys));
  }
  Poco::JSON::Object answer;
  answer.set("tenants", list);
  ex.send_json(200, answer);
}

void get_tenant(Exchange& ex, AdminServices& s) {
  const std::string& id = ex.params.at(0);
  auto snap = s.directory.snapshot();
  const TenantConfig* t = snap->tenant(id);
  if (t == nullptr) return ex.send_problem({404, "not_found", "no tenant " + id, ""});
  auto keys = keys_of(*t, s);
  if (!keys.ok()) return send_failure(ex, keys.failure());
  ex.send_json(200, tenant_json(*t, *keys));
}

void create_tenant(Exchange& ex, AdminServices& s) {
  Problem problem;
  auto body = ex.json_body(64 * 1024, &problem);
  if (!body.ok()) return ex.send_problem(problem);
  auto doc = parse_object(*body);
  if (!doc) return ex.send_problem({400, "bad_json", "body must be a JSON object", ""});
  for (const auto& [name, value] : *doc)
    if (name != "id" && name != "ingest_rate")
      return ex.send_problem({400, "bad_field", "unknown key " + name, name});
  if (!doc->has("id") || !doc->get("id").isString())
    return ex.send_problem({400, "missing_field", "id is required", "id"});
  StoredTenant t;
  t.id = doc->getValue<std::string>("id");
  if (!is_valid_id(t.id))
    return ex.send_problem({400, "bad_field", "id \"" + t.id + "\" " + kIdRule, "id"});
  if (doc->has("ingest_rate")) {
    auto rate = doc->get("ingest_rate");
    if (!rate.isNumeric() || rate.convert<double>() < 0.001 || rate.convert<double>() > 1e9)
      return ex.send_problem({400, "bad_field", "ingest_rate must be a number from 0.001 to 1e9", "ingest_rate"});
    t.ingest_rate = rate.convert<double>();
  }
  if (refuse_file_tenant(ex, s, t.id)) return;
  t.created_at_ms = s.clock.wall_ms();
  if (auto made = s.config_store.create_tenant(t, audit(ex, s, "tenant.create", t.id, "ingest_rate"));
      !made.ok())
    return send_failure(ex, made.failure());
  auto [key, record] = new_api_key(t.created_at_ms);
  if (auto added = s.config_store.add_api_key(t.id, record, audit(ex, s, "tenant.api_key.create", t.id, record.key_id));
      !added.ok())
    return send_failure(ex, added.failure());
  apply_configuration_change(s);
  TenantConfig view;
  view.id = t.id;
  view.ingest_rate = t.ingest_rate;
  Poco::JSON::Object answer = tenant_json(view, {record});
  answer.set("api_key", key_json(key, record));
  ex.send_json(201, answer);
}

void delete_tenant(Exchange& ex, AdminServices& s) {
  const std::string& id = ex.params.at(0);
  if (refuse_file_tenant(ex, s, id)) return;
  if (auto done = s.config_store.delete_tenant(id, audit(ex, s, "tenant.delete", id, ""));
      !done.ok())
    return send_failure(ex, done.failure());
  apply_configuration_change(s);
  ex.send_json(200, "{\"deleted\":true}");
}

void create_api_key(Exchange& ex, AdminServices& s) {
  const std::string& id = ex.params.at(0);
  if (refuse_file_tenant(ex, s, id)) return;
  auto [key, record] = new_api_key(s.clock.wall_ms());
  if (auto added = s.config_store.add_api_key(id, record, audit(ex, s, "tenant.api_key.create", id, record.key_id));
      !added.ok())
    return send_failure(ex, added.failure());
  apply_configuration_change(s);
  ex.send_json(201, key_json(key, record));
}

void delete_api_key(Exchange& ex, AdminServices& s) {
  const std::string& id = ex.params.at(0);
  const std::string& key_id = ex.params.at(1);
  if (refuse_file_tenant(ex, s, id)) return;
  if (auto done = s.config_store.remove_api_key(id, key_id, audit(ex, s, "tenant.api_key.delete", id, key_id));
      !done.ok())
    return send_failure(ex, done.failure());
  apply_configuration_change(s);
  ex.send_json(200, "{\"deleted\":true}");
}

}  // namespace

void add_tenant_routes(Router& r, AdminServices& s) {
  r.add("GET", "/v1/tenants", Access::kAdmin, [&s](Exchange& ex) { list_tenants(ex, s); });
  r.add("POST", "/v1/tenants", Access::kAdmin, [&s](Exchange& ex) { create_tenant(ex, s); });
  r.add("GET", "/v1/tenants/{tenant}", Access::kAdmin, [&s](Exchange& ex) { get_tenant(ex, s); });
  r.add("DELETE", "/v1/tenants/{tenant}", Access::kAdmin,
        [&s](Exchange& ex) { delete_tenant(ex, s); });
  r.add("POST", "/v1/tenants/{tenant}/api_keys", Access::kAdmin,
        [&s](Exchange& ex) { create_api_key(ex, s); });
  r.add("DELETE", "/v1/tenants/{tenant}/api_keys/{key}", Access::kAdmin,
        [&s](Exchange& ex) { delete_api_key(ex, s); });
}

}  // namespace crmhost
