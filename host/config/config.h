// The daemon's configuration, loaded from one YAML file (yaml-cpp). Loading validates every key
// and checks that every secret reference resolves; an error names the file, the line and the key.
// Integration secrets stay references (secrets/secrets.h); API keys are kept only as hashes.
// A loaded Config is immutable and may be read from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/integration_key.h"
#include "secrets/secrets.h"

namespace crmhost {

struct RetrySettings {
  int64_t base_ms = 5000;
  int64_t cap_ms = 300000;
  int attempts = 10;
  double jitter = 0.2;  // +-20 %
};

struct IntegrationConfig {
  std::string id;                    // is_valid_id
  std::string tenant_id;
  std::string adapter;               // adapter name from its descriptor
  bool enabled = true;
  std::vector<std::string> events;   // empty = every event type
  std::string config_json;           // what the adapter sees; secret fields masked
  // `mapping`: overrides of the adapter's default field mapping (mapping/field_mapping.h), as
  // JSON; "" = the defaults. Checked for form at load; against the adapter at create.
  std::string mapping_json;
  // config key -> secret reference (env:, file:, literal); resolved only when the instance is
  // created (Integration::create), never copied into the adapter's config
  std::map<std::string, std::string> secret_refs;
  std::string declared_in;  // the YAML file it comes from; empty when made through the admin API
  int64_t revision = 0;     // changes whenever a stored integration (or one of its secrets) does

  bool subscribes_to(const std::string& event_type) const;
  IntegrationKey key() const { return {tenant_id, id}; }
  // A non-secret config value as text ("true", "1500ms", a URL); "" when absent or null.
  std::string setting(const std::string& key) const;
  // Every such value at once.
  std::map<std::string, std::string, std::less<>> settings() const;
  bool operator==(const IntegrationConfig&) const = default;
};

struct TenantConfig {
  std::string id;                           // is_valid_id
  std::vector<std::string> api_key_hashes;  // sha256 hex; the keys themselves are not kept
  double ingest_rate = 2000;                // events/s; burst is twice this
  std::vector<IntegrationConfig> integrations;
  std::string declared_in;  // the YAML file it comes from; empty when made through the admin API
};

struct Config {
  std::string file;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  // `admin_listen`: where the operator API is served; unset = on `listen` beside the tenant API.
  std::string admin_listen_host;
  uint16_t admin_listen_port = 0;
  bool has_admin_listen = false;
  std::string data_dir = "./data";
  // "full": every commit is fsynced before the 202 (survives power loss). "normal": WAL without
  // fsync per commit (survives a crash of crmhost, may lose the last commits on power loss).
  std::string durability = "full";
  std::string plugin_dir = "./plugins";
  size_t max_body = 256 * 1024;
  int workers = 8;
  int64_t lease_ms = 60000;
  int64_t deliver_timeout_ms = 15000;
  int64_t overrun_margin_ms = 5000;   // a call this far past its deadline is abandoned
  int suspend_after_overruns = 3;     // abandoned calls in a row that suspend an integration
  int64_t park_delay_ms = 5000;       // how long a delivery waits when its adapter is not loaded
  int64_t oauth_idle_refresh_ms = 86400000;  // an OAuth connection unused this long is refreshed
  // GET /readyz fails when a delivery has been due this long without an attempt (a stall).
  int64_t stall_after_ms = 600000;
  // A failing integration logs at most one line per this long (its first failure, then summaries).
  int64_t log_failure_summary_ms = 60000;
  // `log_format`: "text" (a line for a person) or "json" (a JSON object a line, with the request's
  // or delivery's ids).
  std::string log_format = "text";
  RetrySettings retry;
  std::string admin_key_hash;  // empty = no admin key
  std::string admin_key_ref;   // the reference it was read from (for `crmhost rotate-key`)
  // `master_key`: the reference (file:/env:) of the key that seals secrets in the store; empty =
  // none, and then no secret can be stored through the admin API.
  std::string master_key_ref;
  // `public_url`: how a browser reaches this host (behind a proxy, say), for the OAuth redirect
  // URI `{public_url}/oauth/callback`; empty = the `listen` address as bound.
  std::string public_url;
  std::vector<TenantConfig> tenants;
};

// `secrets` resolves the references of API keys and the admin key (hashed at once) and checks
// that every integration secret reference resolves.
Expected<Config> load_config(const std::string& path,
                             const SecretResolver& secrets = reference_secrets());

// One integration document of the admin API: the shape of an integration in the YAML file
// (`id`, `adapter`, `enabled`, `events`, `config`), as JSON. Secret fields come back apart in
// `secret_values` (config key -> the value as given), for the caller to seal; their refs in
// `integration.secret_refs` are "sealed:<tenant>/<integration>/<key>". kBadInput names the key;
// `field` gets its JSON path.
struct IntegrationDocument {
  IntegrationConfig integration;
  std::map<std::string, std::string> secret_values;
};
Expected<IntegrationDocument> parse_integration_document(const std::string& json,
                                                         const std::string& tenant_id,
                                                         std::string* field);
// The reference of a secret sealed in the store.
std::string sealed_secret_ref(const IntegrationKey& integration, const std::string& field);

// Parsers shared with validation elsewhere: "250ms", "5s", "5m", "1h" (a bare number is seconds);
// "512", "64KiB", "1MiB".
Expected<int64_t> parse_duration_ms(const std::string& text);
Expected<size_t> parse_size(const std::string& text);

struct ListenAddress {
  std::string host;
  uint16_t port = 0;  // 0 = ephemeral
};
// "HOST:PORT" as `listen` and `crmhost sink --listen` take it.
Expected<ListenAddress> parse_listen_address(const std::string& text);

// True for integration config keys whose value is a secret the adapter must never see.
bool is_secret_key(const std::string& key);

}  // namespace crmhost
