// The adapters this host serves with, and the integration instances created from them.
//
// load() scans the plugin directory: every *.so is loaded and validated on its own; a refused one
// is listed with the failing field and logged, and the rest keep working. Integrations are then
// created for every enabled integration of the config whose adapter loaded.
// Thread-safe: the published state is an immutable snapshot swapped under mu_.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "plugins/adapter_library.h"
#include "plugins/integration.h"

namespace crmhost {

struct RefusedAdapter {
  std::string file;
  Refusal refusal;
};

class AdapterRegistry {
 public:
  struct Snapshot {
    std::map<std::string, std::shared_ptr<const AdapterLibrary>> adapters;  // by name
    std::vector<RefusedAdapter> refused;
    // "tenant/integration" -> live instance
    std::map<std::string, std::shared_ptr<Integration>> integrations;
    // "tenant/integration" -> why it has no instance
    std::map<std::string, std::string> unavailable;
  };

  AdapterRegistry(std::string plugin_dir, std::string copy_dir, const Clock& clock);

  // Loads every adapter and creates every integration of `config`. Logs each refusal.
  void load(const Config& config);

  std::shared_ptr<const Snapshot> snapshot() const;
  std::shared_ptr<Integration> integration(const std::string& tenant_id,
                                           const std::string& integration_id) const;

  static std::string key(const std::string& tenant_id, const std::string& integration_id) {
    return tenant_id + "/" + integration_id;
  }

 private:
  std::string plugin_dir_, copy_dir_;
  const Clock& clock_;
  mutable std::mutex mu_;  // guards snapshot_
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace crmhost
