#include "secrets/vault.h"

#include <set>

namespace crmhost {

Vault::Vault(ConfigStore& store, std::unique_ptr<Keyring> keyring)
    : store_(store), keyring_(std::move(keyring)) {}

bool Vault::can_seal() const {
  std::shared_lock lock(mu_);
  return keyring_ != nullptr;
}

std::string Vault::current_key_id() const {
  std::shared_lock lock(mu_);
  return keyring_ ? keyring_->current_id() : "";
}

Status Vault::check() const {
  std::shared_lock lock(mu_);
  auto all = store_.all_secrets();
  if (!all.ok()) return all.failure();
  std::set<std::string> missing;
  for (const auto& [integration, secret] : *all) {
    if (!keyring_ || !keyring_->has(secret.key_id)) {
      missing.insert(secret.key_id);
      continue;
    }
    auto opened = keyring_->open(secret.sealed, secret_aad(integration, secret.field));
    if (!opened.ok())
      return Error{"the secret " + integration.log_name() + " " + secret.field +
                       " does not open under master key " + secret.key_id + ": " + opened.error(),
                   ErrorKind::kBadInput};
  }
  if (missing.empty()) return ok_status();
  std::string ids;
  for (const auto& id : missing) ids += (ids.empty() ? "" : ", ") + id;
  return Error{"the store holds secrets sealed under master key " + ids + ", which " +
                   (keyring_ ? "is not the configured master_key (" + keyring_->current_id() + ")"
                             : "cannot be opened: master_key is not set"),
               ErrorKind::kBadInput};
}

namespace {

SealedSecret seal(const Keyring& keyring, const IntegrationKey& integration,
                  const std::string& field, const std::string& plaintext) {
  return {field, keyring.current_id(), keyring.seal(plaintext, secret_aad(integration, field))};
}

Error no_master_key() {
  return Error{"master_key is not set in the config: crmhost cannot store a secret",
               ErrorKind::kConflict};
}

}  // namespace

Status Vault::put_integration(const StoredIntegration& integration,
                              const std::map<std::string, std::string>& values, bool create,
                              const AuditEntry& audit) {
  std::shared_lock lock(mu_);
  if (!values.empty() && !keyring_) return no_master_key();
  std::vector<SealedSecret> sealed;
  for (const auto& [field, plaintext] : values)
    sealed.push_back(seal(*keyring_, integration.key, field, plaintext));
  return store_.put_integration(integration, sealed, create, audit);
}

Status Vault::put_secret(const IntegrationKey& integration, const std::string& field,
                         const std::string& plaintext, int64_t now_ms, const AuditEntry* audit) {
  std::shared_lock lock(mu_);
  if (!keyring_) return no_master_key();
  return store_.put_secret(integration, seal(*keyring_, integration, field, plaintext), now_ms,
                           audit);
}

Expected<std::string> Vault::open(const IntegrationKey& integration,
                                  const std::string& field) const {
  std::shared_lock lock(mu_);  // a rotation cannot swap the keyring between read and open
  auto secrets = store_.secrets_of(integration);
  if (!secrets.ok()) return secrets.failure();
  for (const auto& s : *secrets) {
    if (s.field != field) continue;
    if (!keyring_) return Error{"master_key is not set in the config", ErrorKind::kBadInput};
    return keyring_->open(s.sealed, secret_aad(integration, field));
  }
  return Error{"no secret " + field + " is stored for " + integration.log_name(),
               ErrorKind::kNotFound};
}

Status Vault::rotate(MasterKey next, const AuditEntry& audit) {
  std::unique_lock lock(mu_);
  if (!keyring_) return Error{"master_key is not set in the config", ErrorKind::kConflict};
  auto all = store_.all_secrets();
  if (!all.ok()) return all.failure();
  // Every secret is re-sealed under `next`; rows written meanwhile cannot exist, since sealing
  // writes wait for this lock.
  auto next_ring = std::make_shared<Keyring>(std::move(next));
  std::vector<Reseal> reseals;
  for (const auto& [integration, secret] : *all) {
    std::string aad = secret_aad(integration, secret.field);
    auto plaintext = keyring_->open(secret.sealed, aad);
    if (!plaintext.ok())
      return Error{"rotation stopped before writing anything: " + integration.log_name() + " " +
                       secret.field + ": " + plaintext.error(),
                   ErrorKind::kBadInput};
    reseals.push_back({integration, seal(*next_ring, integration, secret.field, *plaintext),
                       secret.sealed});
  }
  if (auto s = store_.reseal_secrets(reseals, audit); !s.ok()) return s;
  keyring_ = std::move(next_ring);
  return ok_status();
}

Expected<std::string> VaultSecrets::resolve(const std::string& ref) const {
  if (ref.rfind("sealed:", 0) != 0) return others_.resolve(ref);
  std::string rest = ref.substr(7);
  size_t a = rest.find('/'), b = a == std::string::npos ? a : rest.find('/', a + 1);
  if (b == std::string::npos) return Error{"malformed sealed reference", ErrorKind::kInternal};
  return vault_.open({rest.substr(0, a), rest.substr(a + 1, b - a - 1)}, rest.substr(b + 1));
}

Expected<std::string> PendingSecrets::resolve(const std::string& ref) const {
  if (auto it = by_ref_.find(ref); it != by_ref_.end()) return it->second;
  return others_.resolve(ref);
}

}  // namespace crmhost
