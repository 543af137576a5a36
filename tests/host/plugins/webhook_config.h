// Configs of webhook integrations for the unit tests that load the real webhook.so into an
// AdapterRegistry. Built in code, not through the YAML loader, so that a test can also build what
// the loader would refuse.
#pragma once

#include <filesystem>
#include <string>

#include "config/config.h"
#include "support/temp_dir.h"

namespace crmhost::testing {

inline constexpr const char* kWhsec = "whsec_c2VjcmV0LXZhbHVlLWZvci10ZXN0cw==";

inline IntegrationConfig WebhookIntegration(const std::string& tenant, const std::string& id,
                                            const std::string& url = "http://127.0.0.1:9/hook",
                                            const std::string& secret_ref = kWhsec) {
  IntegrationConfig ic;
  ic.tenant_id = tenant;
  ic.id = id;
  ic.adapter = "webhook";
  ic.config_json = "{\"url\":\"" + url + "\",\"secret\":\"(held by host)\"}";
  ic.secret_refs["secret"] = secret_ref;
  return ic;
}

inline void AddIntegration(Config& config, IntegrationConfig ic) {
  for (auto& t : config.tenants)
    if (t.id == ic.tenant_id) return t.integrations.push_back(std::move(ic));
  TenantConfig t;
  t.id = ic.tenant_id;
  t.integrations.push_back(std::move(ic));
  config.tenants.push_back(std::move(t));
}

// Every integration of every tenant of `config`, as the registry is loaded with them.
inline std::vector<IntegrationConfig> Integrations(const Config& config) {
  std::vector<IntegrationConfig> all;
  for (const auto& t : config.tenants)
    all.insert(all.end(), t.integrations.begin(), t.integrations.end());
  return all;
}

// A plugin_dir holding a copy of webhook.so.
inline std::filesystem::path WebhookPluginDir(const TempDir& dir) {
  auto plugins = dir / "plugins";
  std::filesystem::create_directories(plugins);
  std::filesystem::copy_file(CRMHOST_WEBHOOK_SO, plugins / "webhook.so");
  return plugins;
}

}  // namespace crmhost::testing
