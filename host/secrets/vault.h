// Secrets sealed in the store: the one way in and out for every secret crmhost keeps itself
// (webhook signing secrets and CRM credentials set through the admin API; OAuth tokens next).
//
// It holds the keyring. Sealing needs a master key (`master_key`); without one nothing can be
// sealed, and nothing is ever written in plaintext instead. A store that holds secrets sealed
// under a key the keyring lacks is refused at start (check()), naming the key id.
//
// Rotation re-seals every secret under a new master key in one transaction (all or nothing, so an
// interrupted rotation leaves every secret readable under the old key), then makes the new key the
// one that seals and opens. Writes that seal are serialized with a rotation, so no secret sealed
// under the old key lands after it.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "secrets/keyring.h"
#include "secrets/secrets.h"
#include "store/config_store.h"

namespace crmhost {

class Vault {
 public:
  // `keyring` may be null: no master key is configured.
  Vault(ConfigStore& store, std::unique_ptr<Keyring> keyring);

  // kBadInput naming the key ids when the store holds secrets this keyring cannot open.
  Status check() const;
  bool can_seal() const;
  std::string current_key_id() const;  // "" without a master key

  // Seals `values` (config key -> plaintext) for `integration.key` and writes the integration
  // with them (ConfigStore::put_integration), under the rotation lock.
  Status put_integration(const StoredIntegration& integration,
                         const std::map<std::string, std::string>& values, bool create,
                         const AuditEntry& audit);
  // Seals and writes one secret (an OAuth connection's tokens); kConflict without a master key.
  Status put_secret(const IntegrationKey& integration, const std::string& field,
                    const std::string& plaintext, int64_t now_ms, const AuditEntry* audit);
  // The plaintext of one stored secret. kNotFound when there is none.
  Expected<std::string> open(const IntegrationKey& integration, const std::string& field) const;

  // Re-seals every secret under `next`, which then seals from now on. kBadInput when a secret
  // does not open (nothing is changed then).
  Status rotate(MasterKey next, const AuditEntry& audit);

 private:
  ConfigStore& store_;
  mutable std::shared_mutex mu_;  // guards keyring_; exclusive for rotate, shared for the rest
  std::shared_ptr<const Keyring> keyring_;
};

// Resolves "sealed:<tenant>/<integration>/<field>" through the vault and every other reference
// through `others` (env:, file:, literal).
class VaultSecrets final : public SecretResolver {
 public:
  VaultSecrets(const Vault& vault, const SecretResolver& others) : vault_(vault), others_(others) {}
  Expected<std::string> resolve(const std::string& ref) const override;

 private:
  const Vault& vault_;
  const SecretResolver& others_;
};

// Serves "sealed:" references from a map of plaintexts not yet stored (an admin request being
// checked before it is committed), every other reference through `others`.
class PendingSecrets final : public SecretResolver {
 public:
  PendingSecrets(std::map<std::string, std::string> by_ref, const SecretResolver& others)
      : by_ref_(std::move(by_ref)), others_(others) {}
  Expected<std::string> resolve(const std::string& ref) const override;

 private:
  std::map<std::string, std::string> by_ref_;
  const SecretResolver& others_;
};

}  // namespace crmhost
