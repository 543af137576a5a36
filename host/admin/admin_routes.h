// The operator API: what an operator calls with the admin key (plugins and reload today; tenants,
// integrations, metrics, audit and the dashboard next), and the health probes. Served on
// `admin_listen` when it is set, else on `listen` beside the tenant API.
#pragma once

#include "common/clock.h"
#include "delivery/dispatcher.h"
#include "http/exchange.h"
#include "http/router.h"
#include "plugins/adapter_registry.h"
#include "store/store.h"

namespace crmhost {

// What the operator endpoints use. Every member outlives the HTTP servers and is thread-safe.
struct AdminServices {
  Store& store;
  AdapterRegistry& registry;
  Dispatcher& dispatcher;
  const Clock& clock;
};

// GET /v1/plugins (a tenant key sees its own integrations) and POST /v1/plugins/{name}/reload.
void add_admin_routes(Router& router, AdminServices& services);
// GET /healthz and GET /readyz, without a key; served on every listener.
void add_health_routes(Router& router, AdminServices& services);

void list_plugins(Exchange& exchange, AdminServices& services);   // GET /v1/plugins
void reload_plugin(Exchange& exchange, AdminServices& services);  // POST /v1/plugins/{name}/reload
void healthz(Exchange& exchange);                                 // GET /healthz
void readyz(Exchange& exchange, AdminServices& services);         // GET /readyz

}  // namespace crmhost
