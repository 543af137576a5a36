#include "admin/admin_endpoints.h"
#include "ingress/events_endpoint.h"
#include "ingress/router.h"

namespace crmhost {

void add_api_routes(Router& r) {
  r.add("POST", "/v1/events", Access::kTenant, post_event);
  r.add("GET", "/v1/deliveries", Access::kTenant, list_deliveries);
  r.add("POST", "/v1/deliveries/{id}/replay", Access::kTenant, replay_delivery);
  r.add("GET", "/v1/plugins", Access::kAny, list_plugins);
  r.add("POST", "/v1/plugins/{name}/reload", Access::kAdmin, reload_plugin);
  r.add("GET", "/healthz", Access::kPublic, healthz);
  r.add("GET", "/readyz", Access::kPublic, readyz);
}

}  // namespace crmhost
