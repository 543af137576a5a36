// Integrations as data: /v1/tenants/{tenant}/integrations[/{id}] (admin key), and the connection
// test, also /v1/integrations/{id}/test for a tenant key's own integration.
//
// A body has the shape of an integration in the YAML file (id, adapter, enabled, events,
// config). Secret config fields are write-only: they are sealed in the store (secrets/vault.h),
// the adapter sees "(held by host)", and a GET shows "set" or "unset". In a PUT or PATCH a secret
// given as "set" keeps the stored value, and null unsets it. The adapter checks a new config
// before anything is stored (its create runs on a throwaway instance), so a config it cannot use
// is a 400 with its message and nothing changes. Integrations of the YAML file are read-only here
// (409 naming the file).
#include <Poco/JSON/Array.h>

#include <set>
#include <sstream>

#include "admin/admin_routes.h"
#include "plugins/connection_test.h"

namespace crmhost {
namespace {

constexpr size_t kMaxDocument = 64 * 1024;
constexpr int64_t kTestTimeoutMs = 15000;


std::string stringify(const Poco::JSON::Object& o) {
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

// The config as a GET shows it: secret fields read "set" or "unset".
Poco::JSON::Object shown_config(const IntegrationConfig& in) {
  Poco::JSON::Object shown;
  if (auto config = parse_object(in.config_json))
    for (const auto& [key, value] : *config) {
      if (is_secret_key(key))
        shown.set(key, in.secret_refs.count(key) ? "set" : "unset");
      else
        shown.set(key, value);
    }
  return shown;
}

Poco::JSON::Object integration_json(const IntegrationConfig& in, const AdminServices& s) {
  Poco::JSON::Object o;
  o.set("id", in.id);
  o.set("tenant", in.tenant_id);
  o.set("adapter", in.adapter);
  o.set("enabled", in.enabled);
  Poco::JSON::Array events;
  for (const auto& e : in.events) events.add(e);
  o.set("events", events);
  o.set("config", shown_config(in));
  if (!in.mapping_json.empty()) {
    if (auto mapping = parse_object(in.mapping_json)) o.set("mapping", mapping);
  }
  o.set("source", in.declared_in.empty() ? "api" : "file");
  o.set("declared_in", in.declared_in.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(in.declared_in));
  auto snap = s.registry.snapshot();
  if (auto it = snap->integrations.find(in.key()); it != snap->integrations.end()) {
    o.set("status", "serving");
    if (it->second->oauth_provider() && in.secret_refs.count("api_token")) {
      o.set("credential", "api_token");
    } else if (it->second->oauth_provider()) {
      switch (s.oauth.state(in.key())) {
        case ConnectionState::kConnected: o.set("credential", "connected"); break;
        case ConnectionState::kReauthorizationRequired:
          o.set("credential", "reauthorization_required");
          break;
        case ConnectionState::kNone: o.set("credential", "not_authorized"); break;
      }
    }
  } else if (auto why = snap->unavailable.find(in.key()); why != snap->unavailable.end()) {
    o.set("status", why->second);
  } else {
    o.set("status", "pending");
  }
  return o;
}


bool refuse_if_declared_in_file(Exchange& ex, const IntegrationConfig& in) {
  if (in.declared_in.empty()) return false;
  ex.send_problem({409, "conflict",
                   "integration " + in.key().log_name() + " is declared in " + in.declared_in +
                       "; change it there",
                   ""});
  return true;
}

// Field names that differ between two integrations, for the audit log; never a value.
std::string changed_fields(const IntegrationConfig* before, const IntegrationConfig& after,
                           const std::map<std::string, std::string>& new_secrets) {
  std::vector<std::string> names;
  if (!before || before->adapter != after.adapter) names.push_back("adapter");
  if (!before || before->enabled != after.enabled) names.push_back("enabled");
  if (!before || before->events != after.events) names.push_back("events");
  if (!before || before->mapping_json != after.mapping_json) names.push_back("mapping");
  auto old_config = before ? parse_object(before->config_json) : nullptr;
  auto new_config = parse_object(after.config_json);
  std::set<std::string> keys;
  if (old_config) for (const auto& [k, v] : *old_config) keys.insert(k);
  if (new_config) for (const auto& [k, v] : *new_config) keys.insert(k);
  for (const auto& k : keys) {
    bool in_old = old_config && old_config->has(k), in_new = new_config && new_config->has(k);
    bool differs = in_old != in_new ||
                   (in_old && old_config->get(k).toString() != new_config->get(k).toString()) ||
                   new_secrets.count(k);
    if (differs) names.push_back("config." + k);
  }
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "nothing" : out;
}

// Checks and stores `doc` as integration `key` (create or replace), then swaps it in.
void store_integration(Exchange& ex, AdminServices& s, IntegrationDocument doc, bool create,
                       const IntegrationConfig* before, int status) {
  IntegrationConfig& in = doc.integration;
  // "set" keeps the stored secret; anything else is a new value to seal.
  std::map<std::string, std::string> new_secrets;
  for (const auto& [field, value] : doc.secret_values) {
    if (value == "unset") {  // as a GET shows it: the same as null
      in.secret_refs.erase(field);
      if (auto config = parse_object(in.config_json)) {
        config->set(field, Poco::Dynamic::Var());
        in.config_json = stringify(*config);
      }
      continue;
    }
    if (value != "set") {
      new_secrets[field] = value;
      continue;
    }
    if (!before || !before->secret_refs.count(field))
      return ex.send_problem({400, "bad_field",
                              "config." + field + " is \"set\", but no value is stored to keep",
                              "config." + field});
  }
  if (!new_secrets.empty() && !s.vault.can_seal())
    return ex.send_problem({409, "conflict",
                            "master_key is not set in the config: crmhost stores no secret "
                            "without it (crmhost keygen makes one)",
                            ""});
  // The adapter checks the config first, on a throwaway instance: new secrets from the request,
  // kept ones from the vault.
  std::map<std::string, std::string> pending;
  for (const auto& [field, value] : new_secrets) pending[sealed_secret_ref(in.key(), field)] = value;
  VaultSecrets stored(s.vault, reference_secrets());
  PendingSecrets secrets(std::move(pending), stored);
  if (auto checked = s.registry.check(in, secrets); !checked.ok())
    return ex.send_problem({400, "bad_field", checked.error(),
                            checked.error().find(": mapping") != std::string::npos ? "mapping" : "config"});

  StoredIntegration record;
  record.key = in.key();
  record.adapter = in.adapter;
  record.enabled = in.enabled;
  record.events = in.events;
  record.config_json = in.config_json;
  record.mapping_json = in.mapping_json;
  for (const auto& [field, ref] : in.secret_refs) record.secret_fields.push_back(field);
  record.updated_at_ms = s.clock.wall_ms();
  record.created_at_ms = record.updated_at_ms;
  AuditEntry audit{record.updated_at_ms, actor_of(ex),
                   create ? "integration.create" : "integration.update", in.tenant_id,
                   in.key().log_name(), changed_fields(before, in, new_secrets), "ok"};
  if (auto put = s.vault.put_integration(record, new_secrets, create, audit); !put.ok())
    return ex.send_problem(problem_for(put.failure()));
  apply_configuration_change(s);
  auto snap = s.directory.snapshot();
  const IntegrationConfig* now = snap->integration(in.key());
  if (now == nullptr)
    return ex.send_problem({500, "internal", "the stored integration is not served; see the log", ""});
  ex.send_json(status, integration_json(*now, s));
}

void list_integrations(Exchange& ex, AdminServices& s) {
  auto snap = s.directory.snapshot();
  const std::string tenant = ex.caller.admin ? ex.params.at(0) : ex.caller.tenant->id;
  const TenantConfig* t = snap->tenant(tenant);
  if (t == nullptr) return ex.send_problem({404, "not_found", "no tenant " + tenant, ""});
  Poco::JSON::Array list;
  for (const auto& in : t->integrations) list.add(integration_json(in, s));
  Poco::JSON::Object answer;
  answer.set("integrations", list);
  ex.send_json(200, answer);
}

void get_integration(Exchange& ex, AdminServices& s) {
  auto snap = s.directory.snapshot();
  const IntegrationKey key = addressed_integration(ex);
  const IntegrationConfig* in = snap->integration(key);
  if (in == nullptr) return ex.send_problem({404, "not_found", "no integration " + key.log_name(), ""});
  ex.send_json(200, integration_json(*in, s));
}

void create_integration(Exchange& ex, AdminServices& s) {
  const std::string tenant = ex.caller.admin ? ex.params.at(0) : ex.caller.tenant->id;
  auto snap = s.directory.snapshot();
  if (snap->tenant(tenant) == nullptr)
    return ex.send_problem({404, "not_found", "no tenant " + tenant, ""});
  Problem problem;
  auto body = ex.json_body(kMaxDocument, &problem);
  if (!body.ok()) return ex.send_problem(problem);
  std::string field;
  auto doc = parse_integration_document(*body, tenant, &field);
  if (!doc.ok()) return ex.send_problem({400, "bad_field", doc.error(), field});
  if (const IntegrationConfig* existing = snap->integration(doc->integration.key())) {
    if (refuse_if_declared_in_file(ex, *existing)) return;
    return ex.send_problem({409, "conflict", "integration " + existing->key().log_name() + " exists", ""});
  }
  store_integration(ex, s, std::move(*doc), /*create=*/true, nullptr, 201);
}

void replace_integration(Exchange& ex, AdminServices& s, bool merge) {
  auto snap = s.directory.snapshot();
  const IntegrationKey key = addressed_integration(ex);
  const IntegrationConfig* before = snap->integration(key);
  if (before == nullptr) return ex.send_problem({404, "not_found", "no integration " + key.log_name(), ""});
  if (refuse_if_declared_in_file(ex, *before)) return;
  Problem problem;
  auto body = ex.json_body(kMaxDocument, &problem);
  if (!body.ok()) return ex.send_problem(problem);
  std::string text = *body;
  if (merge) {
    // PATCH: the current document (secrets as "set") with the body's keys laid over it; config
    // keys merge one by one.
    auto patch = parse_object(text);
    if (!patch) return ex.send_problem({400, "bad_json", "body must be a JSON object", ""});
    Poco::JSON::Object current;
    current.set("id", before->id);
    current.set("adapter", before->adapter);
    current.set("enabled", before->enabled);
    Poco::JSON::Array events;
    for (const auto& e : before->events) events.add(e);
    current.set("events", events);
    Poco::JSON::Object config = shown_config(*before);
    for (const auto& [k, v] : config)
      if (is_secret_key(k) && v.toString() == "unset") config.set(k, Poco::Dynamic::Var());
    for (const auto& [name, value] : *patch) {
      if (name != "config") {
        current.set(name, value);
        continue;
      }
      auto changes = patch->getObject("config");
      if (!changes)
        return ex.send_problem({400, "bad_field", "config must be an object", "config"});
      for (const auto& [k, v] : *changes) config.set(k, v);
    }
    current.set("config", config);
    text = stringify(current);
  }
  std::string field;
  auto doc = parse_integration_document(text, key.tenant_id, &field);
  if (!doc.ok()) return ex.send_problem({400, "bad_field", doc.error(), field});
  if (doc->integration.id != key.integration_id)
    return ex.send_problem({400, "bad_field", "id cannot change (it is " + key.integration_id + ")", "id"});
  store_integration(ex, s, std::move(*doc), /*create=*/false, before, 200);
}

void delete_integration(Exchange& ex, AdminServices& s) {
  auto snap = s.directory.snapshot();
  const IntegrationKey key = addressed_integration(ex);
  const IntegrationConfig* before = snap->integration(key);
  if (before == nullptr) return ex.send_problem({404, "not_found", "no integration " + key.log_name(), ""});
  if (refuse_if_declared_in_file(ex, *before)) return;
  AuditEntry audit{s.clock.wall_ms(), actor_of(ex), "integration.delete", key.tenant_id,
                   key.log_name(), "", "ok"};
  if (auto done = s.config_store.delete_integration(key, audit); !done.ok())
    return ex.send_problem(problem_for(done.failure()));
  s.oauth.forget(key);
  apply_configuration_change(s);
  ex.send_json(200, "{\"deleted\":true}");
}

void test_integration(Exchange& ex, AdminServices& s) {
  auto snap = s.directory.snapshot();
  const IntegrationKey key = addressed_integration(ex);
  if (snap->integration(key) == nullptr)
    return ex.send_problem({404, "not_found", "no integration " + key.log_name(), ""});
  ConnectionTest t = run_connection_test(s.registry, key, s.clock, kTestTimeoutMs);
  AuditEntry audit{s.clock.wall_ms(), actor_of(ex), "integration.test", key.tenant_id,
                   key.log_name(), "", t.ok ? "ok" : t.outcome};
  (void)s.config_store.record(audit);
  Poco::JSON::Object answer;
  answer.set("ok", t.ok);
  answer.set("outcome", t.outcome);
  answer.set("http_status", t.http_status ? Poco::Dynamic::Var(t.http_status) : Poco::Dynamic::Var());
  answer.set("message", t.message);
  answer.set("elapsed_ms", static_cast<Poco::Int64>(t.elapsed_ms));
  ex.send_json(200, answer);
}

}  // namespace

void add_integration_routes(Router& r, AdminServices& s) {
  const std::string one = "/v1/tenants/{tenant}/integrations/{id}";
  r.add("GET", "/v1/tenants/{tenant}/integrations", Access::kAdmin,
        [&s](Exchange& ex) { list_integrations(ex, s); });
  r.add("POST", "/v1/tenants/{tenant}/integrations", Access::kAdmin,
        [&s](Exchange& ex) { create_integration(ex, s); });
  r.add("GET", one, Access::kAdmin, [&s](Exchange& ex) { get_integration(ex, s); });
  r.add("PUT", one, Access::kAdmin, [&s](Exchange& ex) { replace_integration(ex, s, false); });
  r.add("PATCH", one, Access::kAdmin, [&s](Exchange& ex) { replace_integration(ex, s, true); });
  r.add("DELETE", one, Access::kAdmin, [&s](Exchange& ex) { delete_integration(ex, s); });
  r.add("POST", one + "/test", Access::kAdmin, [&s](Exchange& ex) { test_integration(ex, s); });
}

void add_tenant_integration_routes(Router& r, AdminServices& s) {
  r.add("POST", "/v1/integrations/{id}/test", Access::kTenant,
        [&s](Exchange& ex) { test_integration(ex, s); });
  add_oauth_routes(r, s, /*tenant_api=*/true);
}

}  // namespace crmhost
