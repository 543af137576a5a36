#include "plugins/adapter_registry.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <filesystem>

namespace crmhost {

AdapterRegistry::AdapterRegistry(std::string plugin_dir, std::string copy_dir, const Clock& clock)
    : plugin_dir_(std::move(plugin_dir)),
      copy_dir_(std::move(copy_dir)),
      clock_(clock),
      snapshot_(std::make_shared<Snapshot>()) {}

void AdapterRegistry::load(const Config& config) {
  auto& logger = Poco::Logger::get("crmhost.plugins");
  auto next = std::make_shared<Snapshot>();
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(plugin_dir_, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".so")
      files.push_back(entry.path().string());
  if (ec) logger.error("cannot read plugin_dir " + plugin_dir_ + ": " + ec.message());
  std::sort(files.begin(), files.end());

  for (const auto& file : files) {
    Refusal refusal;
    auto lib = AdapterLibrary::load(file, copy_dir_, &refusal);
    if (!lib.ok()) {
      logger.error("refused adapter " + file + ": " + refusal.text());
      next->refused.push_back({file, refusal});
      continue;
    }
    const auto& d = (*lib)->descriptor();
    if (next->adapters.count(d.name)) {
      Refusal dup{"name", std::string("\"") + d.name + "\" is already served by " +
                              next->adapters[d.name]->info().file};
      logger.error("refused adapter " + file + ": " + dup.text());
      next->refused.push_back({file, dup});
      continue;
    }
    logger.information("loaded adapter " + std::string(d.name) + " " + d.version + " (ABI " +
                       (*lib)->abi_version() + ") from " + file);
    next->adapters[d.name] = *lib;
  }

  for (const auto& tenant : config.tenants) {
    for (const auto& ic : tenant.integrations) {
      std::string k = key(tenant.id, ic.id);
      if (!ic.enabled) {
        next->unavailable[k] = "disabled";
        continue;
      }
      auto adapter = next->adapters.find(ic.adapter);
      if (adapter == next->adapters.end()) {
        next->unavailable[k] = "no adapter named " + ic.adapter + " is loaded";
        logger.error("integration " + k + ": " + next->unavailable[k]);
        continue;
      }
      auto in = Integration::create(ic, adapter->second, clock_);
      if (!in.ok()) {
        next->unavailable[k] = in.error();
        logger.error("integration " + k + ": " + in.error());
        continue;
      }
      next->integrations[k] = *in;
    }
  }
  std::lock_guard lock(mu_);
  snapshot_ = std::move(next);
}

std::shared_ptr<const AdapterRegistry::Snapshot> AdapterRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

std::shared_ptr<Integration> AdapterRegistry::integration(const std::string& tenant_id,
                                                          const std::string& integration_id) const {
  auto snap = snapshot();
  auto it = snap->integrations.find(key(tenant_id, integration_id));
  return it == snap->integrations.end() ? nullptr : it->second;
}

}  // namespace crmhost
