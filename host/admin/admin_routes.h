// The operator API: what an operator calls with the admin key (plugins and reload today; tenants,
// integrations, metrics, audit and the dashboard next), and the health probes. Served on
// `admin_listen` when it is set, else on `listen` beside the tenant API.
#pragma once

#include <functional>

#include "admin/replay_jobs.h"
#include "common/clock.h"
#include "config/config.h"
#include "delivery/dispatcher.h"
#include "http/exchange.h"
#include "http/router.h"
#include "metrics/metrics.h"
#include "oauth/broker.h"
#include "plugins/adapter_registry.h"
#include "secrets/vault.h"
#include "store/config_store.h"
#include "store/store.h"
#include "tenancy/directory.h"

namespace crmhost {

// What the operator endpoints use. Every member outlives the HTTP servers and is thread-safe.
struct AdminServices {
  const Config& config;  // the file's: its tenants and integrations are read-only here
  Store& store;
  ConfigStore& config_store;
  Directory& directory;
  Vault& vault;
  AdapterRegistry& registry;
  Dispatcher& dispatcher;
  OAuthBroker& oauth;
  ReplayJobs& jobs;
  const Clock& clock;
  const Metrics& metrics;
};

// GET /v1/plugins (a tenant key sees its own integrations), POST /v1/plugins/{name}/reload,
// GET /metrics, and tenants and integrations as data (tenants_endpoint.cpp, integrations_endpoint.cpp).
void add_admin_routes(Router& router, AdminServices& services);
// The per-integration calls a tenant key makes for its own integrations (POST
// /v1/integrations/{id}/test), served beside the tenant API.
void add_tenant_integration_routes(Router& router, AdminServices& services);
// GET /healthz and GET /readyz, without a key; served on every listener.
void add_health_routes(Router& router, AdminServices& services);

void list_plugins(Exchange& exchange, AdminServices& services);   // GET /v1/plugins
void reload_plugin(Exchange& exchange, AdminServices& services);  // POST /v1/plugins/{name}/reload
void healthz(Exchange& exchange);                                 // GET /healthz
void metrics_text(Exchange& exchange, AdminServices& services);   // GET /metrics
void add_tenant_routes(Router& router, AdminServices& services);       // tenants_endpoint.cpp
void add_integration_routes(Router& router, AdminServices& services);  // integrations_endpoint.cpp
void add_master_key_routes(Router& router, AdminServices& services);   // master_key_endpoint.cpp
// POST .../oauth/start (admin and tenant) and GET /oauth/callback (public): oauth_endpoint.cpp
void add_oauth_routes(Router& router, AdminServices& services, bool tenant_api);
// After a change of stored tenants or integrations: publish them and swap the instances.
void apply_configuration_change(AdminServices& services);
// "admin" or "tenant:<id>", for the audit log.
std::string actor_of(const Exchange& exchange);
// The integration a per-integration call names: /v1/tenants/{tenant}/integrations/{id}/… for the
// admin key, /v1/integrations/{id}/… (the caller's own tenant) for a tenant key.
IntegrationKey addressed_integration(const Exchange& exchange);
// `json` as a JSON object, or null when it is not one.
Poco::JSON::Object::Ptr parse_object(const std::string& json);
void readyz(Exchange& exchange, AdminServices& services);         // GET /readyz

// Sync status, dead letters and jobs, for a tenant key (its own) and the admin key (every tenant,
// or `?tenant=`): status_endpoint.cpp, dead_letters_endpoint.cpp. Served beside the tenant API,
// and on admin_listen too when it is set.
void add_operations_routes(Router& router, AdminServices& services);
void sync_status(Exchange& exchange, AdminServices& services);  // GET /v1/status
void list_audit(Exchange& exchange, AdminServices& services);   // GET /v1/audit
// The tenant a tenant-scoped call is about: the caller's own for a tenant key; for the admin key
// `?tenant=`, which may be empty (every tenant) unless `required`. False once it has answered 400.
bool scoped_tenant(Exchange& exchange, bool required, std::string* tenant);
// Reads `since` and `until` (RFC 3339) through `text_of` (a query parameter or a body member, ""
// when absent) into [*from_ms, *to_ms); an absent one leaves its bound as it is. False once it has
// answered 400 naming the malformed one.
bool read_time_range(Exchange& exchange, const std::function<std::string(const char*)>& text_of,
                     int64_t* from_ms, int64_t* to_ms);

}  // namespace crmhost
