// OAuth 2.0 in the host: the authorization-code flow with PKCE, client credentials, refresh, and
// the credential attached to adapters' requests (a CredentialSource). Tokens live sealed in the
// store (the vault, field "oauth:connection" of the integration), never in an adapter, a log, an
// answer or an error.
//
// Per connection (one per integration), single-flight: however many calls find the token
// expiring, or report the same rejected token, one refresh is made; a rotated refresh token is
// written to the store before it is used. A refresh the provider refuses for good (invalid_grant,
// ...) marks the connection reauthorization_required, and the dispatcher parks its deliveries
// (no attempt counted) until a person authorizes again. The access token is refreshed ahead of
// expiry: 5 minutes or a tenth of its lifetime, whichever is shorter; a provider that says
// nothing of expiry (Salesforce) is refreshed when the CRM refuses the token.
//
// The provider's parameters come from the adapter (crmh_oauth_provider); client_id from the
// integration's config, client_secret from its secrets; `{key}` in a URL template from its
// config. The integration chooses client credentials with `oauth_grant: client_credentials`.
//
// Authorization states are single-use and expire after 10 minutes; they live in memory, so a
// flow started before a restart must be started again.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#include <string>

#include "common/clock.h"
#include "common/integration_key.h"
#include "metrics/metrics.h"
#include "plugins/credentials.h"
#include "plugins/http_client.h"
#include "plugins/integration.h"
#include "secrets/vault.h"

namespace crmhost {

enum class ConnectionState { kNone, kConnected, kReauthorizationRequired };

class OAuthBroker final : public CredentialSource {
 public:
  // `integration_of` finds the serving instance of an integration (the registry's).
  OAuthBroker(Vault& vault, const SecretResolver& secrets, const Clock& clock,
              HttpTransportFactory transports,
              std::function<std::shared_ptr<Integration>(const IntegrationKey&)> integration_of,
              Metrics& metrics);

  // Where the provider sends the browser back: `public_url` + "/oauth/callback".
  void set_public_url(std::string public_url);
  std::string redirect_uri() const;

  // The URL to send a person to. kBadInput when the adapter has no OAuth provider or the
  // integration lacks client_id or a key a URL template names; kNotFound when not served.
  Expected<std::string> start(const IntegrationKey& key);
  // The provider sent the browser back with `code` for `state`: exchanges it and keeps the
  // tokens. Returns the integration. kNotFound for an unknown, used or expired state.
  Expected<IntegrationKey> finish(const std::string& state, const std::string& code);

  ConnectionState state(const IntegrationKey& key);
  // What the status view shows of a connection: its state, when its access token expires (0 =
  // unknown) and why a person must authorize. Never a token.
  struct ConnectionView {
    ConnectionState state = ConnectionState::kNone;
    int64_t expires_at_ms = 0;
    std::string reason;
  };
  ConnectionView view(const IntegrationKey& key);
  // The integration is gone: its tokens go from memory too (the store deleted them with it).
  void forget(const IntegrationKey& key);

  // Refreshes, on a thread of its own, every connection not refreshed for `max_idle_ms`, so that
  // a provider does not revoke an unused refresh token (`oauth_idle_refresh`, a day by default).
  // `serving` lists the integrations served now. stop() joins the thread; the destructor stops.
  void start_idle_refresh(std::function<std::vector<std::shared_ptr<Integration>>()> serving,
                          int64_t max_idle_ms);
  void stop();
  ~OAuthBroker() override;

  Expected<Credential> credential(const Integration& integration) override;
  Expected<Credential> after_rejection(const Integration& integration,
                                       const std::string& rejected) override;

 private:
  struct Connection;     // one integration's tokens, and the lock of their refresh
  struct PendingFlow;    // an authorization under way
  std::shared_ptr<Connection> connection(const IntegrationKey& key);
  // Requires conn->mu. Loads the stored tokens the first time.
  Status load(Connection& conn, const IntegrationKey& key);
  // Requires conn->mu. Gets new tokens (refresh, or client credentials) and stores them first.
  Status renew(Connection& conn, const Integration& integration);
  Status save(const Connection& conn, const IntegrationKey& key);
  Expected<Credential> current(const Connection& conn, const Integration& integration) const;

  Vault& vault_;
  const SecretResolver& secrets_;
  const Clock& clock_;
  const HttpTransportFactory transports_;
  const std::function<std::shared_ptr<Integration>(const IntegrationKey&)> integration_of_;
  Metrics& metrics_;
  mutable std::mutex mu_;  // guards the maps and public_url_
  std::string public_url_;
  std::map<IntegrationKey, std::shared_ptr<Connection>> connections_;
  std::map<std::string, std::shared_ptr<PendingFlow>> flows_;  // by state
  bool stopping_ = false;            // guarded by mu_
  std::condition_variable stop_cv_;  // stopping_ was set
  std::thread idle_refresh_;
};

}  // namespace crmhost
