// Configuration as data, as the rest of the host sees it: tenants and integrations made through
// the admin API (those of the YAML file are not stored), their secrets sealed by
// secrets/keyring.h (the store sees only bytes and a key id), and the audit log of every change.
// An interface beside Store (the outbox); an engine implements both (store/sqlite/).
//
// Every write is its own transaction together with its audit entry: a change and its record
// commit or fail as one. Errors: kNotFound / kConflict for what the caller asked, kUnavailable
// when the engine cannot serve. Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "common/integration_key.h"

namespace crmhost {

// Configuration as data: tenants and integrations made through the admin API (those of the YAML
// file are not stored), their sealed secrets, and the record of every change.
struct StoredTenant {
  std::string id;
  double ingest_rate = 2000;
  std::vector<std::string> api_key_hashes;  // sha256 hex; the keys themselves are never stored
  int64_t created_at_ms = 0;
};

struct ApiKeyRecord {
  std::string key_id;    // "key_<hex>": names the key in listings and for deletion
  std::string key_hash;  // sha256 hex of the key
  int64_t created_at_ms = 0;
};

// One secret of one integration, sealed by secrets/keyring.h; the store sees only the bytes.
struct SealedSecret {
  std::string field;   // the config key ("secret", "client_secret", ...)
  std::string key_id;  // the master key it is sealed under
  std::string sealed;
};

struct StoredIntegration {
  IntegrationKey key;
  std::string adapter;
  bool enabled = true;
  std::vector<std::string> events;  // empty = every event type
  std::string config_json;          // the adapter's config; secret fields hold "(held by host)"
  std::vector<std::string> secret_fields;  // which config keys have a sealed secret
  std::string mapping_json;                // field mapping overrides; "" = the adapter's defaults
  int64_t created_at_ms = 0, updated_at_ms = 0;
};

// What the audit log keeps of a change: who, when, what, how it ended; never a secret value.
struct AuditEntry {
  int64_t at_ms = 0;
  std::string actor;      // "admin", "tenant:<id>", "cli"
  std::string action;     // "integration.create", "tenant.api_key.create", "master_key.rotate", ...
  std::string tenant_id;  // empty when none
  std::string target;     // "acme/hook", "acme", "key_…"
  std::string detail;     // what changed, by name ("enabled, config.url, config.secret")
  std::string outcome = "ok";
};

// GET /v1/audit: every filter optional; an empty tenant is every tenant (the admin key's view).
struct AuditQuery {
  std::string tenant_id, action;  // action: exact ("dead_letters.replay") or a prefix ending in
                                  // '.' ("integration.")
  int64_t from_ms = 0, to_ms = 0;  // [from, to); 0 = open
  int64_t before_id = 0;           // the page after the entry with this id; 0 = from the newest
  int limit = 100;
};
struct AuditRecord {
  int64_t id = 0;
  AuditEntry entry;
};
struct AuditPage {
  std::vector<AuditRecord> entries;
  int64_t next_before_id = 0;  // 0 = this was the last page
};

// A re-sealed secret for reseal_secrets: written only if the row still holds `old_sealed`.
struct Reseal {
  IntegrationKey integration;
  SealedSecret secret;
  std::string old_sealed;
};

class ConfigStore {
 public:
  virtual ~ConfigStore() = default;

  virtual Expected<std::vector<StoredTenant>> load_tenants() = 0;
  virtual Expected<std::vector<StoredIntegration>> load_integrations() = 0;
  // kConflict when the tenant exists.
  virtual Status create_tenant(const StoredTenant& tenant, const AuditEntry& audit) = 0;
  // kNotFound when absent; kConflict while it has integrations.
  virtual Status delete_tenant(const std::string& tenant_id, const AuditEntry& audit) = 0;
  virtual Expected<std::vector<ApiKeyRecord>> api_keys(const std::string& tenant_id) = 0;
  virtual Status add_api_key(const std::string& tenant_id, const ApiKeyRecord& key,
                             const AuditEntry& audit) = 0;
  // kNotFound when the tenant has no such key; kConflict when it is the tenant's last one.
  virtual Status remove_api_key(const std::string& tenant_id, const std::string& key_id,
                                const AuditEntry& audit) = 0;
  // Creates (`create`; kConflict when it exists) or replaces (kNotFound when absent) an
  // integration, sets `secrets` and erases the sealed secrets of fields not in
  // `integration.secret_fields`, all in one transaction.
  virtual Status put_integration(const StoredIntegration& integration,
                                 const std::vector<SealedSecret>& secrets, bool create,
                                 const AuditEntry& audit) = 0;
  // Writes one sealed secret of an integration (the file's or the store's), such as its OAuth
  // connection ("oauth:connection"), with `audit` when given.
  virtual Status put_secret(const IntegrationKey& key, const SealedSecret& secret, int64_t now_ms,
                            const AuditEntry* audit) = 0;
  // With its secrets. kNotFound when absent.
  virtual Status delete_integration(const IntegrationKey& key, const AuditEntry& audit) = 0;
  virtual Expected<std::vector<SealedSecret>> secrets_of(const IntegrationKey& key) = 0;
  // Every sealed secret, for the master-key check at start and for rotation.
  virtual Expected<std::vector<std::pair<IntegrationKey, SealedSecret>>> all_secrets() = 0;
  // All or nothing; kConflict when a row changed since it was read (nothing written then).
  virtual Status reseal_secrets(const std::vector<Reseal>& reseals, const AuditEntry& audit) = 0;
  virtual Status record(const AuditEntry& audit) = 0;
  // Newest first, filtered, a page at a time.
  virtual Expected<AuditPage> audit_entries(const AuditQuery& query) = 0;
};

}  // namespace crmhost
