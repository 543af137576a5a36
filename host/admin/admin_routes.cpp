#include "admin/admin_routes.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

#include <mutex>

namespace crmhost {

void add_admin_routes(Router& r, AdminServices& s) {
  r.add("GET", "/v1/plugins", Access::kAny, [&s](Exchange& ex) { list_plugins(ex, s); });
  r.add("POST", "/v1/plugins/{name}/reload", Access::kAdmin,
        [&s](Exchange& ex) { reload_plugin(ex, s); });
  r.add("GET", "/metrics", Access::kAdmin, [&s](Exchange& ex) { metrics_text(ex, s); });
  add_tenant_routes(r, s);
  add_integration_routes(r, s);
  add_master_key_routes(r, s);
  add_oauth_routes(r, s, /*tenant_api=*/false);
}

void apply_configuration_change(AdminServices& s) {
  // Two changes at once must not hand the registry the older snapshot last.
  static std::mutex serialized;
  std::lock_guard lock(serialized);
  if (auto refreshed = s.directory.refresh(); !refreshed.ok())
    Poco::Logger::get("crmhost.admin").warning(refreshed.error());
  s.registry.update(s.directory.snapshot()->integrations());
  s.dispatcher.wake();  // deliveries parked for an integration that now serves may flow
}

IntegrationKey addressed_integration(const Exchange& ex) {
  return {ex.caller.admin ? ex.params.at(0) : ex.caller.tenant->id, ex.params.back()};
}

Poco::JSON::Object::Ptr parse_object(const std::string& json) {
  try {
    return Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

std::string actor_of(const Exchange& ex) {
  return ex.caller.admin ? "admin" : ex.caller.tenant ? "tenant:" + ex.caller.tenant->id : "-";
}

void add_health_routes(Router& r, AdminServices& s) {
  r.add("GET", "/healthz", Access::kPublic, [](Exchange& ex) { healthz(ex); });
  r.add("GET", "/readyz", Access::kPublic, [&s](Exchange& ex) { readyz(ex, s); });
}

}  // namespace crmhost
