// The tenants and integrations this host serves: those declared in the YAML file and those made
// through the admin API (stored by ConfigStore), served the same way. A Tenancy is an immutable
// snapshot; the directory swaps in a new one after every change, so a request, a delivery round
// or a reload works on one consistent view while the next is built.
//
// Thread-safety: every method may be called from any thread; refresh() calls are serialized.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "store/config_store.h"

namespace crmhost {

struct Tenancy {
  std::vector<TenantConfig> tenants;                         // the file's first, then the store's
  std::map<std::string, const TenantConfig*> by_key_hash;    // API key hash -> its tenant

  const TenantConfig* tenant(const std::string& id) const;
  const IntegrationConfig* integration(const IntegrationKey& key) const;
  // Every integration of every tenant.
  std::vector<IntegrationConfig> integrations() const;
};

class Directory {
 public:
  // `file` is the loaded YAML config; it must outlive the directory.
  Directory(const Config& file, ConfigStore& store);

  // Reads the stored tenants and integrations again and publishes the new snapshot. A stored
  // tenant or integration whose id the file also declares is skipped (the file wins) and named
  // in the error, which leaves the rest published.
  Status refresh();
  std::shared_ptr<const Tenancy> snapshot() const;
  // The tenant whose API key hashes to `key_hash`, sharing the snapshot's life (for the router).
  std::shared_ptr<const TenantConfig> tenant_by_key_hash(const std::string& key_hash) const;

 private:
  const Config& file_;
  ConfigStore& store_;
  std::mutex refresh_mu_;  // serializes refresh()
  mutable std::mutex mu_;  // guards snapshot_
  std::shared_ptr<const Tenancy> snapshot_;
};

// An integration as served, from what the store keeps of it.
IntegrationConfig served_integration(const StoredIntegration& stored);

}  // namespace crmhost
