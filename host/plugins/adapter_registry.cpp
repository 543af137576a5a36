#include "plugins/adapter_registry.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <filesystem>

namespace crmhost {
namespace {

Poco::Logger& logger() { return Poco::Logger::get("crmhost.plugins"); }

std::vector<std::string> adapter_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".so")
      files.push_back(entry.path().string());
  if (ec) logger().error("cannot read plugin_dir " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

AdapterRegistry::AdapterRegistry(std::string plugin_dir, std::string copy_dir, const Clock& clock,
                                 const SecretResolver& secrets, CredentialSource* credentials)
    : plugin_dir_(std::move(plugin_dir)),
      copy_dir_(std::move(copy_dir)),
      clock_(clock),
      secrets_(secrets),
      credentials_(credentials),
      snapshot_(std::make_shared<Snapshot>()) {}

void AdapterRegistry::publish(std::shared_ptr<Snapshot> next) {
  std::lock_guard lock(mu_);
  snapshot_ = std::move(next);
}

std::shared_ptr<const AdapterRegistry::Snapshot> AdapterRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

std::shared_ptr<Integration> AdapterRegistry::integration(const IntegrationKey& key) const {
  auto snap = snapshot();
  auto it = snap->integrations.find(key);
  return it == snap->integrations.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Integration>> AdapterRegistry::serving() const {
  auto snap = snapshot();
  std::vector<std::shared_ptr<Integration>> all;
  for (const auto& [key, in] : snap->integrations) all.push_back(in);
  return all;
}

void AdapterRegistry::withdraw(const std::string& adapter, const std::string& why, Snapshot& next) {
  for (const auto& ic : integrations_)
      if (ic.adapter == adapter && ic.enabled) {
        next.integrations.erase(ic.key());
        next.unavailable[ic.key()] = why;
      }
}

void AdapterRegistry::install(const std::string& file, Snapshot& next, ReloadResult* result) {
  ReloadResult outcome{clock_.wall_ms(), false, ""};
  Refusal refusal;
  auto lib = AdapterLibrary::load(file, copy_dir_, &refusal);
  if (!lib.ok()) {
    outcome.message = "refused " + file + ": " + refusal.text();
    logger().error(outcome.message);
    // A file that a serving adapter came from keeps that adapter serving; record the failure there.
    bool serving = false;
    for (auto& [name, state] : next.adapters)
      if (state.library->info().file == file) {
        state.last_reload = outcome;
        state.refused_sha256 = AdapterLibrary::file_sha256(file);
        serving = true;
      }
    if (!serving) next.refused.push_back({file, refusal, AdapterLibrary::file_sha256(file)});
    if (result) *result = outcome;
    return;
  }
  const std::string name = (*lib)->descriptor().name;
  auto current = next.adapters.find(name);
  if (current != next.adapters.end() && current->second.library->info().file != file) {
    Refusal dup{"name", "\"" + name + "\" is already served by " + current->second.library->info().file};
    outcome.message = "refused " + file + ": " + dup.text();
    logger().error(outcome.message);
    next.refused.push_back({file, dup, (*lib)->info().sha256});
    if (result) *result = outcome;
    return;
  }

  // Create every instance of the new generation before publishing any of them.
  std::map<IntegrationKey, std::shared_ptr<Integration>> created;
  std::map<IntegrationKey, std::string> failed;
  for (const auto& ic : integrations_) {
      if (ic.adapter != name || !ic.enabled) continue;
      auto in = Integration::create(ic, *lib, clock_, secrets_, credentials_, &pacing_);
      if (in.ok()) created[ic.key()] = *in;
      else failed[ic.key()] = in.error();
    }
  std::string version = (*lib)->descriptor().version;
  if (current != next.adapters.end() && !failed.empty()) {
    // A swap is all or nothing: the old generation keeps serving every integration.
    outcome.message = "kept generation " + std::to_string(current->second.generation) + ": " +
                      name + " " + version + " from " + file + " failed to create " +
                      failed.begin()->first.log_name() + ": " + failed.begin()->second;
    logger().error(outcome.message);
    current->second.last_reload = outcome;
    current->second.refused_sha256 = (*lib)->info().sha256;
    if (result) *result = outcome;
    return;  // `created` instances are destroyed here, before anything could call them
  }

  AdapterState state;
  state.library = *lib;
  state.loaded_at_ms = clock_.wall_ms();
  if (current != next.adapters.end()) {
    state.generation = current->second.generation + 1;
    retired_.push_back(current->second.library);
  } else {
    state.generation = 1;
  }
  outcome.ok = true;
  outcome.message = "serving " + name + " " + version + " (generation " +
                    std::to_string(state.generation) + ", sha256 " +
                    (*lib)->info().sha256.substr(0, 12) + ") from " + file;
  state.last_reload = outcome;
  logger().information(outcome.message);
  next.adapters[name] = state;
  for (auto& [k, in] : created) {
    next.integrations[k] = in;
    next.unavailable.erase(k);
  }
  for (auto& [k, why] : failed) {
    logger().error("integration " + k.log_name() + ": " + why);
    next.integrations.erase(k);
    next.unavailable[k] = why;
  }
  if (result) *result = outcome;
}

void AdapterRegistry::load(std::vector<IntegrationConfig> integrations) {
  std::lock_guard reload_lock(reload_mu_);
  integrations_ = std::move(integrations);
  auto next = std::make_shared<Snapshot>();
  for (const auto& ic : integrations_)
    next->unavailable[ic.key()] =
        ic.enabled ? "no adapter named " + ic.adapter + " is loaded" : "disabled";
  for (const auto& file : adapter_files(plugin_dir_)) install(file, *next, nullptr);
  // install() logged the integrations whose create failed; these never had an adapter to try.
  for (const auto& ic : integrations_)
    if (ic.enabled && !next->adapters.count(ic.adapter))
      logger().error("integration " + ic.key().log_name() + ": " + next->unavailable[ic.key()]);
  publish(std::move(next));
}

void AdapterRegistry::update(std::vector<IntegrationConfig> integrations) {
  std::lock_guard reload_lock(reload_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot());
  std::map<IntegrationKey, const IntegrationConfig*> now;
  for (const auto& ic : integrations) now[ic.key()] = &ic;
  for (const auto& old : integrations_)
    if (!now.count(old.key())) {  // deleted: calls in flight finish on the instance they hold
      next->integrations.erase(old.key());
      next->unavailable.erase(old.key());
    }
  for (const auto& ic : integrations) {
    bool unchanged = false;
    for (const auto& old : integrations_) unchanged = unchanged || old == ic;
    if (unchanged) continue;
    next->integrations.erase(ic.key());
    auto adapter = next->adapters.find(ic.adapter);
    if (!ic.enabled) {
      next->unavailable[ic.key()] = "disabled";
    } else if (adapter == next->adapters.end()) {
      next->unavailable[ic.key()] = "no adapter named " + ic.adapter + " is loaded";
    } else if (auto in = Integration::create(ic, adapter->second.library, clock_, secrets_, credentials_,
                                               &pacing_);
               in.ok()) {
      next->integrations[ic.key()] = *in;
      next->unavailable.erase(ic.key());
      logger().information("integration " + ic.key().log_name() + ": serving with " + ic.adapter +
                           " (generation " + std::to_string(adapter->second.generation) + ")");
    } else {
      logger().error("integration " + ic.key().log_name() + ": " + in.error());
      next->unavailable[ic.key()] = in.error();
    }
  }
  integrations_ = std::move(integrations);
  publish(std::move(next));
}

Status AdapterRegistry::check(const IntegrationConfig& integration,
                              const SecretResolver& secrets) const {
  auto snap = snapshot();
  auto adapter = snap->adapters.find(integration.adapter);
  if (adapter == snap->adapters.end()) return ok_status();  // checked once its adapter loads
  auto in = Integration::create(integration, adapter->second.library, clock_, secrets);
  if (!in.ok()) return in.failure();
  return ok_status();  // the instance is destroyed here; it never served
}

void AdapterRegistry::rescan() {
  std::lock_guard reload_lock(reload_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot());
  auto files = adapter_files(plugin_dir_);
  std::vector<RefusedAdapter> still_refused;
  for (auto& r : next->refused)
    if (AdapterLibrary::file_sha256(r.file) == r.sha256) still_refused.push_back(std::move(r));
  next->refused = std::move(still_refused);
  // Adapters whose file is gone retire once their calls in flight return; their deliveries wait.
  for (auto it = next->adapters.begin(); it != next->adapters.end();) {
    const auto& file = it->second.library->info().file;
    if (std::find(files.begin(), files.end(), file) == files.end()) {
      logger().warning("adapter " + it->first + " retired: " + file + " was removed");
      withdraw(it->first, "adapter " + it->first + " retired: its file was removed", *next);
      retired_.push_back(it->second.library);
      it = next->adapters.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& file : files) {
    bool unchanged = false;
    std::string sha = AdapterLibrary::file_sha256(file);
    for (const auto& [name, state] : next->adapters)
      if (state.library->info().file == file &&
          (state.library->info().sha256 == sha || state.refused_sha256 == sha))
        unchanged = true;
    for (const auto& r : next->refused)
      if (r.file == file) unchanged = true;  // same content as when it was refused
    if (!unchanged) install(file, *next, nullptr);
  }
  publish(std::move(next));
}

bool AdapterRegistry::reload(const std::string& adapter_name, ReloadResult* result) {
  std::lock_guard reload_lock(reload_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot());
  auto it = next->adapters.find(adapter_name);
  if (it == next->adapters.end()) return false;
  install(it->second.library->info().file, *next, result);
  publish(std::move(next));
  return true;
}

void AdapterRegistry::suspend(const IntegrationKey& k, const std::string& reason) {
  std::lock_guard reload_lock(reload_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot());
  if (!next->integrations.erase(k)) return;
  next->unavailable[k] = "suspended: " + reason;
  logger().error("integration " + k.log_name() + " suspended: " + reason);
  publish(std::move(next));
}

}  // namespace crmhost
