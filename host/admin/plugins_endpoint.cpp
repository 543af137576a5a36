#include <Poco/JSON/Array.h>

#include "admin/admin_routes.h"

namespace crmhost {
namespace {

Poco::JSON::Object reload_json(const ReloadResult& r) {
  Poco::JSON::Object o;
  o.set("at", iso8601(r.at_ms));
  o.set("ok", r.ok);
  o.set("message", r.message);
  return o;
}

}  // namespace

void list_plugins(Exchange& ex, AdminServices& s) {
  auto snap = s.registry.snapshot();
  Poco::JSON::Array plugins;
  for (const auto& [name, state] : snap->adapters) {
    const auto& d = state.library->descriptor();
    Poco::JSON::Object o;
    o.set("name", name);
    o.set("version", std::string(d.version));
    o.set("abi_version", state.library->abi_version());
    o.set("file", state.library->info().file);
    o.set("sha256", state.library->info().sha256);
    o.set("flags", static_cast<Poco::UInt32>(d.flags));
    o.set("generation", static_cast<Poco::UInt64>(state.generation));
    o.set("loaded_at", iso8601(state.loaded_at_ms));
    o.set("last_reload", reload_json(state.last_reload));
    plugins.add(o);
  }
  Poco::JSON::Array refused;
  for (const auto& r : snap->refused) {
    Poco::JSON::Object o;
    o.set("file", r.file);
    o.set("field", r.refusal.field);
    o.set("reason", r.refusal.reason);
    refused.add(o);
  }
  // Integration status: which generation serves each, or why none does. A tenant sees its own.
  // Named "tenant/integration": unambiguous, since no id holds a '/'.
  Poco::JSON::Object integrations;
  auto visible = [&](const IntegrationKey& key) {
    return ex.caller.admin || key.tenant_id == ex.caller.tenant->id;
  };
  for (const auto& [key, in] : snap->integrations)
    if (visible(key))
      integrations.set(key.log_name(), "serving: " + in->config().adapter + " " +
                                           in->library().descriptor().version);
  for (const auto& [key, why] : snap->unavailable)
    if (visible(key) && !snap->integrations.count(key)) integrations.set(key.log_name(), why);
  Poco::JSON::Object answer;
  answer.set("plugins", plugins);
  answer.set("refused", refused);
  answer.set("integrations", integrations);
  ex.send_json(200, answer);
}

void reload_plugin(Exchange& ex, AdminServices& s) {
  const std::string& name = ex.params.at(0);
  ReloadResult result;
  if (!s.registry.reload(name, &result))
    return ex.send_problem({404, "not_found", "no adapter named " + name + " is loaded", ""});
  s.dispatcher.wake();  // deliveries parked for a suspended integration may flow again
  Poco::JSON::Object answer = reload_json(result);
  answer.set("name", name);
  ex.send_json(result.ok ? 200 : 409, answer);
}

}  // namespace crmhost
