#include "admin/admin_routes.h"

namespace crmhost {

void add_admin_routes(Router& r, AdminServices& s) {
  r.add("GET", "/v1/plugins", Access::kAny, [&s](Exchange& ex) { list_plugins(ex, s); });
  r.add("POST", "/v1/plugins/{name}/reload", Access::kAdmin,
        [&s](Exchange& ex) { reload_plugin(ex, s); });
}

void add_health_routes(Router& r, AdminServices& s) {
  r.add("GET", "/healthz", Access::kPublic, [](Exchange& ex) { healthz(ex); });
  r.add("GET", "/readyz", Access::kPublic, [&s](Exchange& ex) { readyz(ex, s); });
}

}  // namespace crmhost
