#include <Poco/JSON/Array.h>

#include "admin/admin_endpoints.h"

namespace crmhost {

void list_plugins(Exchange& ex, Services& s) {
  auto snap = s.registry.snapshot();
  Poco::JSON::Array plugins;
  for (const auto& [name, lib] : snap->adapters) {
    const auto& d = lib->descriptor();
    Poco::JSON::Object o;
    o.set("name", name);
    o.set("version", std::string(d.version));
    o.set("abi_version", lib->abi_version());
    o.set("file", lib->info().file);
    o.set("sha256", lib->info().sha256);
    o.set("flags", static_cast<Poco::UInt32>(d.flags));
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
  Poco::JSON::Object answer;
  answer.set("plugins", plugins);
  answer.set("refused", refused);
  ex.send_json(200, answer);
}

void healthz(Exchange& ex, Services&) {
  Poco::JSON::Object answer;
  answer.set("status", "ok");
  ex.send_json(200, answer);
}

void readyz(Exchange& ex, Services& s) {
  auto snap = s.registry.snapshot();
  Poco::JSON::Object answer;
  Poco::JSON::Object unavailable;
  for (const auto& [key, why] : snap->unavailable)
    if (why != "disabled") unavailable.set(key, why);
  if (unavailable.size() == 0 && s.store.next_due_at_ms().ok()) {
    answer.set("status", "ready");
    return ex.send_json(200, answer);
  }
  answer.set("status", "not_ready");
  answer.set("integrations", unavailable);
  ex.send_json(503, answer);
}

}  // namespace crmhost
