#include "tenancy/directory.h"

namespace crmhost {

const TenantConfig* Tenancy::tenant(const std::string& id) const {
  for (const auto& t : tenants)
    if (t.id == id) return &t;
  return nullptr;
}

const IntegrationConfig* Tenancy::integration(const IntegrationKey& key) const {
  const TenantConfig* t = tenant(key.tenant_id);
  if (t == nullptr) return nullptr;
  for (const auto& in : t->integrations)
    if (in.id == key.integration_id) return &in;
  return nullptr;
}

std::vector<IntegrationConfig> Tenancy::integrations() const {
  std::vector<IntegrationConfig> all;
  for (const auto& t : tenants) all.insert(all.end(), t.integrations.begin(), t.integrations.end());
  return all;
}

IntegrationConfig served_integration(const StoredIntegration& stored) {
  IntegrationConfig in;
  in.id = stored.key.integration_id;
  in.tenant_id = stored.key.tenant_id;
  in.adapter = stored.adapter;
  in.enabled = stored.enabled;
  in.events = stored.events;
  in.config_json = stored.config_json;
  in.mapping_json = stored.mapping_json;
  for (const auto& field : stored.secret_fields)
    in.secret_refs[field] = sealed_secret_ref(stored.key, field);
  in.revision = stored.updated_at_ms;
  return in;
}

Directory::Directory(const Config& file, ConfigStore& store)
    : file_(file), store_(store), snapshot_(std::make_shared<Tenancy>()) {}

std::shared_ptr<const Tenancy> Directory::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

std::shared_ptr<const TenantConfig> Directory::tenant_by_key_hash(
    const std::string& key_hash) const {
  auto snap = snapshot();
  auto it = snap->by_key_hash.find(key_hash);
  if (it == snap->by_key_hash.end()) return nullptr;
  return std::shared_ptr<const TenantConfig>(snap, it->second);  // aliasing: keeps `snap`
}

Status Directory::refresh() {
  std::lock_guard refresh_lock(refresh_mu_);
  auto tenants = store_.load_tenants();
  if (!tenants.ok()) return tenants.failure();
  auto integrations = store_.load_integrations();
  if (!integrations.ok()) return integrations.failure();

  auto next = std::make_shared<Tenancy>();
  next->tenants = file_.tenants;
  std::string shadowed;
  auto find = [&](const std::string& id) -> TenantConfig* {
    for (auto& t : next->tenants)
      if (t.id == id) return &t;
    return nullptr;
  };
  for (const auto& st : *tenants) {
    if (find(st.id)) {
      shadowed += " tenant " + st.id;
      continue;
    }
    TenantConfig t;
    t.id = st.id;
    t.ingest_rate = st.ingest_rate;
    t.api_key_hashes = st.api_key_hashes;
    next->tenants.push_back(std::move(t));
  }
  for (const auto& si : *integrations) {
    TenantConfig* t = find(si.key.tenant_id);
    if (t == nullptr) continue;  // its tenant is gone: nothing can post for it
    bool declared = false;
    for (const auto& in : t->integrations) declared = declared || in.id == si.key.integration_id;
    if (declared) {
      shadowed += " integration " + si.key.log_name();
      continue;
    }
    t->integrations.push_back(served_integration(si));
  }
  // Pointers into next->tenants: taken only now that the vector is complete.
  for (const auto& t : next->tenants)
    for (const auto& hash : t.api_key_hashes) next->by_key_hash[hash] = &t;
  {
    std::lock_guard lock(mu_);
    snapshot_ = std::move(next);
  }
  if (!shadowed.empty())
    return Error{"the config file " + file_.file + " also declares" + shadowed +
                     "; the file's are served",
                 ErrorKind::kConflict};
  return ok_status();
}

}  // namespace crmhost
