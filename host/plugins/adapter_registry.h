// The adapters this host serves with, and the integration instances created from them.
//
// Each adapter (by descriptor name) has one serving generation: a loaded image plus an instance
// for every enabled integration that uses it. A reload is a generation swap (DESIGN.md §4): the
// new file is loaded from a unique copy and validated, its instances are created from the current
// config, and only then is the new generation published. Calls in flight keep the Integration
// (and through it the image) they started with, so they finish on the old generation; the old
// instances are destroyed when the last such call returns. Any failure leaves the old generation
// serving and is reported. Retired images stay mapped for the life of the process (unloading is
// unsafe: static destructors, thread-locals; plugin-abi-survey.md §5).
//
// Thread-safety: all methods are safe from any thread. Reloads are serialized on reload_mu_; the
// published state is an immutable Snapshot swapped under mu_.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/integration_key.h"
#include "config/config.h"
#include "plugins/adapter_library.h"
#include "plugins/integration.h"

namespace crmhost {

struct RefusedAdapter {
  std::string file;
  Refusal refusal;
  std::string sha256;  // of the refused content: an unchanged file is not retried
};

struct ReloadResult {
  int64_t at_ms = 0;
  bool ok = true;
  std::string message;
};

class AdapterRegistry {
 public:
  struct AdapterState {
    std::shared_ptr<const AdapterLibrary> library;  // the serving generation's image
    uint64_t generation = 0;                        // 1 for the first load, +1 per swap
    int64_t loaded_at_ms = 0;
    ReloadResult last_reload;
    std::string refused_sha256;  // content at its file that was refused; not retried unchanged
  };
  struct Snapshot {
    std::map<std::string, AdapterState> adapters;  // by adapter name
    std::vector<RefusedAdapter> refused;           // files in plugin_dir that serve nothing
    // live instance of the serving generation, per integration
    std::map<IntegrationKey, std::shared_ptr<Integration>> integrations;
    // why an integration has no instance (disabled, no adapter, suspended, ...)
    std::map<IntegrationKey, std::string> unavailable;
  };

  // `secrets` resolves the integrations' secret references each time instances are created.
  AdapterRegistry(std::string plugin_dir, std::string copy_dir, const Clock& clock,
                  const SecretResolver& secrets, CredentialSource* credentials = nullptr);

  // First load: every adapter in plugin_dir, and an instance for each of `integrations`.
  void load(std::vector<IntegrationConfig> integrations);
  // The integrations changed (made, changed or deleted through the admin API): each new or
  // changed one gets a new instance of its adapter's serving generation, swapped in as a reload
  // swaps (calls in flight finish on the instance they hold); deleted ones stop being served.
  void update(std::vector<IntegrationConfig> integrations);
  // Whether the adapter would create an instance of `integration` (with its secrets resolved by
  // `secrets`); ok when its adapter is not loaded. The instance is destroyed at once.
  Status check(const IntegrationConfig& integration, const SecretResolver& secrets) const;
  // Rescans plugin_dir: loads new and changed files (a swap for a known adapter name), retires
  // adapters whose file is gone, keeps unchanged ones as they are. Triggered by inotify and SIGHUP.
  void rescan();
  // Reloads one adapter from its file, even if unchanged (recreating its instances also resumes
  // suspended integrations). False when no adapter of that name is known.
  bool reload(const std::string& adapter_name, ReloadResult* result);
  // Takes an integration out of service until its adapter is reloaded.
  void suspend(const IntegrationKey& integration, const std::string& reason);

  std::shared_ptr<const Snapshot> snapshot() const;
  std::shared_ptr<Integration> integration(const IntegrationKey& key) const;
  // Every instance serving now.
  std::vector<std::shared_ptr<Integration>> serving() const;
  const std::string& plugin_dir() const { return plugin_dir_; }

 private:
  // Loads `file` and creates its instances into `next`, replacing the adapter of the same name
  // only if everything succeeds. Records the outcome in the adapter's last_reload (or refused).
  void install(const std::string& file, Snapshot& next, ReloadResult* result);
  // Marks every integration of `adapter` unavailable with `why`.
  void withdraw(const std::string& adapter, const std::string& why, Snapshot& next);
  void publish(std::shared_ptr<Snapshot> next);

  const std::string plugin_dir_, copy_dir_;
  const Clock& clock_;
  const SecretResolver& secrets_;
  CredentialSource* const credentials_;  // handed to every instance; may be null
  PacingBook pacing_;  // each integration's pacer, kept across generations
  std::mutex reload_mu_;  // serializes load/update/rescan/reload/suspend; guards the two below
  std::vector<IntegrationConfig> integrations_;  // what instances are created from
  std::vector<std::shared_ptr<const AdapterLibrary>> retired_;  // kept mapped, never unloaded
  mutable std::mutex mu_;  // guards snapshot_
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace crmhost
