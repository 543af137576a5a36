#include "oauth/broker.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/URI.h>
#include <openssl/sha.h>

#include <algorithm>
#include <sstream>

#include "common/base64.h"
#include "common/ids.h"
#include "oauth/token_endpoint.h"

namespace crmhost {

struct OAuthBroker::Connection {
  std::mutex mu;  // guards everything below; held across a refresh (single-flight)
  bool loaded = false;
  std::string access_token, refresh_token, api_base, reason;
  int64_t expires_at_ms = 0, obtained_at_ms = 0;
  int64_t retry_at_ms = 0;  // client credentials refused: when to ask again
  bool dead = false;        // forgotten: its integration was deleted
  ConnectionState state = ConnectionState::kNone;
};

struct OAuthBroker::PendingFlow {
  IntegrationKey key;
  std::string verifier;  // PKCE; empty without
  int64_t expires_at_ms = 0;
};

namespace {

constexpr const char* kField = "oauth:connection";
constexpr int64_t kFlowLifetimeMs = 10 * 60 * 1000;
constexpr int64_t kTokenDeadlineMs = 15000;

Poco::Logger& logger() { return Poco::Logger::get("crmhost.oauth"); }

std::string base64url(std::string_view bytes) {
  std::string s = base64_encode(bytes);
  for (auto& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

const std::string& config_text(const Integration& in, const std::string& key) {
  return in.setting(key);
}

// "{name}" in a template becomes the integration's config value `name`, URL-encoded;
// "{name|fallback}" takes `fallback` (as written) when the config has no such value.
Expected<std::string> expand(const char* tmpl, const Integration& in) {
  if (tmpl == nullptr) return Error{"the adapter names no such URL", ErrorKind::kBadInput};
  std::string out, t(tmpl);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '{') {
      out.push_back(t[i]);
      continue;
    }
    size_t end = t.find('}', i);
    if (end == std::string::npos) return Error{"unclosed { in " + t, ErrorKind::kBadInput};
    std::string name = t.substr(i + 1, end - i - 1), fallback;
    if (size_t bar = name.find('|'); bar != std::string::npos) {
      fallback = name.substr(bar + 1);
      name.resize(bar);
    }
    std::string value = config_text(in, name);
    if (value.empty()) value = fallback;
    if (value.empty())
      return Error{"config." + name + " is needed for the OAuth URLs", ErrorKind::kBadInput};
    // A value that is a whole URL base ("{auth_base}/token") is taken as written.
    if (value.rfind("http://", 0) == 0 || value.rfind("https://", 0) == 0) {
      out += value;
    } else {
      std::string encoded;
      Poco::URI::encode(value, "/?#&=+", encoded);
      out += encoded;
    }
    i = end;
  }
  return out;
}

// The `scope` parameter: the provider's template expanded. The client credentials grant never
// gets a refresh token (RFC 6749 §4.4.3), so offline_access, which asks for one, is left out:
// Entra refuses it beside a resource's .default scope.
Expected<std::string> scope_for(const Integration& in, bool client_credentials) {
  const crmh_oauth_provider* p = in.oauth_provider();
  if (p == nullptr || p->scopes == nullptr || *p->scopes == '\0') return std::string();
  auto expanded = expand(p->scopes, in);
  if (!expanded.ok() || !client_credentials) return expanded;
  std::istringstream words(*expanded);
  std::string out;
  for (std::string w; words >> w;)
    if (w != "offline_access") out += (out.empty() ? "" : " ") + w;
  return out;
}

// The API base when the token answer names none: the config's `api_base`, else the adapter's
// default (crmh_oauth_provider.api_base, ABI 1.2) expanded.
std::string api_base_of(const Integration& in) {
  if (const std::string& configured = config_text(in, "api_base"); !configured.empty()) return configured;
  const char* fallback = in.default_api_base();
  if (fallback == nullptr) return "";
  auto expanded = expand(fallback, in);
  return expanded.ok() ? *expanded : "";
}

bool client_credentials(const Integration& in) {
  const crmh_oauth_provider* p = in.oauth_provider();
  return p && (p->flags & CRMH_OAUTH_CLIENT_CREDENTIALS) &&
         config_text(in, "oauth_grant") == "client_credentials";
}

}  // namespace

OAuthBroker::OAuthBroker(Vault& vault, const SecretResolver& secrets, const Clock& clock,
                         HttpTransportFactory transports,
                         std::function<std::shared_ptr<Integration>(const IntegrationKey&)> integration_of,
                         Metrics& metrics)
    : vault_(vault),
      secrets_(secrets),
      clock_(clock),
      transports_(std::move(transports)),
      integration_of_(std::move(integration_of)),
      metrics_(metrics) {}

void OAuthBroker::set_public_url(std::string public_url) {
  while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
  std::lock_guard lock(mu_);
  public_url_ = std::move(public_url);
}

std::string OAuthBroker::redirect_uri() const {
  std::lock_guard lock(mu_);
  return public_url_ + "/oauth/callback";
}

std::shared_ptr<OAuthBroker::Connection> OAuthBroker::connection(const IntegrationKey& key) {
  std::lock_guard lock(mu_);
  auto& slot = connections_[key];
  if (!slot) slot = std::make_shared<Connection>();
  return slot;
}

Status OAuthBroker::load(Connection& conn, const IntegrationKey& key) {
  if (conn.loaded) return ok_status();
  auto stored = vault_.open(key, kField);
  if (!stored.ok()) {
    if (stored.error_kind() != ErrorKind::kNotFound) return stored.failure();
    conn.loaded = true;
    return ok_status();
  }
  try {
    auto o = Poco::JSON::Parser().parse(*stored).extract<Poco::JSON::Object::Ptr>();
    conn.access_token = o->optValue<std::string>("access_token", "");
    conn.refresh_token = o->optValue<std::string>("refresh_token", "");
    conn.api_base = o->optValue<std::string>("api_base", "");
    conn.reason = o->optValue<std::string>("reason", "");
    conn.expires_at_ms = o->optValue<Poco::Int64>("expires_at_ms", 0);
    conn.obtained_at_ms = o->optValue<Poco::Int64>("obtained_at_ms", 0);
    std::string state = o->optValue<std::string>("state", "");
    conn.state = state == "reauthorization_required" ? ConnectionState::kReauthorizationRequired
                 : conn.access_token.empty()          ? ConnectionState::kNone
                                                      : ConnectionState::kConnected;
  } catch (const Poco::Exception&) {
    return Error{"the stored OAuth connection of " + key.log_name() + " is unreadable",
                 ErrorKind::kInternal};
  }
  conn.loaded = true;
  return ok_status();
}

Status OAuthBroker::save(const Connection& conn, const IntegrationKey& key) {
  if (conn.dead) return ok_status();  // its integration is gone: nothing of it is stored again
  Poco::JSON::Object o;
  o.set("access_token", conn.access_token);
  o.set("refresh_token", conn.refresh_token);
  o.set("api_base", conn.api_base);
  o.set("expires_at_ms", static_cast<Poco::Int64>(conn.expires_at_ms));
  o.set("obtained_at_ms", static_cast<Poco::Int64>(conn.obtained_at_ms));
  o.set("state", conn.state == ConnectionState::kReauthorizationRequired ? "reauthorization_required"
                 : conn.state == ConnectionState::kConnected               ? "connected"
                                                                           : "none");
  o.set("reason", conn.reason);
  std::ostringstream text;
  o.stringify(text);
  return vault_.put_secret(key, kField, text.str(), clock_.wall_ms(), nullptr);
}

namespace {

// The token endpoint request of `in`'s provider, with its client, before the grant is chosen.
Expected<TokenRequest> token_request(const Integration& in, const SecretResolver& secrets) {
  const crmh_oauth_provider* p = in.oauth_provider();
  if (p == nullptr || p->token_url == nullptr)  // the adapter changed since the flow started
    return Error{"adapter " + in.config().adapter + " offers no OAuth token endpoint",
                 ErrorKind::kBadInput};
  auto url = expand(p->token_url, in);
  if (!url.ok()) return url.failure();
  TokenRequest request;
  request.url = *url;
  request.client_id = config_text(in, "client_id");
  if (auto ref = in.config().secret_refs.find("client_secret"); ref != in.config().secret_refs.end()) {
    auto secret = secrets.resolve(ref->second);
    if (!secret.ok()) return secret.failure();
    request.client_secret = *secret;
  }
  request.basic_auth = (p->flags & CRMH_OAUTH_CLIENT_BASIC_AUTH) != 0;
  request.api_base_field = p->api_base_field ? p->api_base_field : "";
  return request;
}

}  // namespace

Status OAuthBroker::renew(Connection& conn, const Integration& in) {
  const crmh_oauth_provider* p = in.oauth_provider();
  if (p == nullptr) return Error{"the adapter has no OAuth provider", ErrorKind::kBadInput};
  const bool cc = client_credentials(in);
  if (!cc && conn.refresh_token.empty()) {
    conn.state = ConnectionState::kReauthorizationRequired;
    conn.reason = conn.access_token.empty() ? "not authorized yet" : "no refresh token was granted";
    (void)save(conn, in.config().key());
    return Error{conn.reason, ErrorKind::kConflict};
  }
  auto made = token_request(in, secrets_);
  if (!made.ok()) return made.failure();
  TokenRequest& request = *made;
  if (cc) {
    request.form = {{"grant_type", "client_credentials"}};
    auto scope = scope_for(in, true);
    if (!scope.ok()) return scope.failure();
    if (!scope->empty()) request.form["scope"] = *scope;
  } else {
    request.form = {{"grant_type", "refresh_token"}, {"refresh_token", conn.refresh_token}};
    // Entra wants the resource's scope again on a refresh (crm-contracts §3.1); others accept it.
    if (auto scope = scope_for(in, false); scope.ok() && !scope->empty()) request.form["scope"] = *scope;
  }
  auto http = transports_();
  auto grant = request_token(*http, request, clock_, clock_.monotonic_ms() + kTokenDeadlineMs);
  const bool refused = !grant.ok() && grant.error_kind() == ErrorKind::kConflict;
  metrics_.oauth_refreshes
      .with({in.config().adapter, grant.ok() ? "ok" : refused ? "reauthorization_required" : "failed"})
      .add();
  if (!grant.ok()) {
    if (refused) {
      conn.state = ConnectionState::kReauthorizationRequired;
      conn.reason = grant.error();
      logger().error("[" + in.log_name() + "] " + grant.error() + "; reauthorization required");
      // Client credentials need no person: the next call after a minute asks again (the config
      // may have been mended meanwhile), and nothing of it is stored.
      if (cc) conn.retry_at_ms = clock_.wall_ms() + 60000;
      else (void)save(conn, in.config().key());
    }
    return grant.failure();
  }
  Connection next;
  next.loaded = true;
  next.dead = conn.dead;
  next.access_token = grant->access_token;
  // No refresh token in the answer: the stored one stays valid (Zoho, Pipedrive, ...).
  next.refresh_token = grant->refresh_token.empty() ? conn.refresh_token : grant->refresh_token;
  next.api_base = grant->api_base.empty() ? conn.api_base : grant->api_base;
  next.expires_at_ms = grant->expires_at_ms;
  next.obtained_at_ms = clock_.wall_ms();
  next.state = ConnectionState::kConnected;
  // Stored before it is used: a rotated refresh token must survive a crash right after this.
  // If the store cannot take it now, the tokens are still kept in memory (a rotated refresh
  // token is the only one there is) and stored with the next change.
  if (auto saved = save(next, in.config().key()); !saved.ok())
    logger().error("[" + in.log_name() + "] the new tokens could not be stored: " + saved.error());
  conn.access_token = std::move(next.access_token);
  conn.refresh_token = std::move(next.refresh_token);
  conn.api_base = std::move(next.api_base);
  conn.expires_at_ms = next.expires_at_ms;
  conn.obtained_at_ms = next.obtained_at_ms;
  conn.state = ConnectionState::kConnected;
  conn.reason.clear();
  logger().information("[" + in.log_name() + "] " + (cc ? "token obtained" : "token refreshed"));
  return ok_status();
}

Expected<CredentialSource::Credential> OAuthBroker::current(const Connection& conn,
                                                            const Integration& in) const {
  const crmh_oauth_provider* p = in.oauth_provider();
  std::string scheme = p && p->scheme ? p->scheme : "Bearer";
  std::string base = conn.api_base.empty() ? api_base_of(in) : conn.api_base;
  return Credential{scheme + " " + conn.access_token, base};
}

namespace {

// An integration that holds `api_token` authenticates with it and no OAuth flow.
Expected<CredentialSource::Credential> api_token_credential(const Integration& in,
                                                            const SecretResolver& secrets) {
  auto token = secrets.resolve(in.config().secret_refs.at("api_token"));
  if (!token.ok()) return token.failure();
  const crmh_oauth_provider* p = in.oauth_provider();
  CredentialSource::Credential c;
  c.api_base = api_base_of(in);
  if (p && p->api_token_header) {
    c.header = p->api_token_header;
    c.authorization = *token;
  } else {
    c.authorization = std::string(p && p->scheme ? p->scheme : "Bearer") + " " + *token;
  }
  return c;
}

}  // namespace

Expected<CredentialSource::Credential> OAuthBroker::credential(const Integration& in) {
  if (in.config().secret_refs.count("api_token")) return api_token_credential(in, secrets_);
  auto conn = connection(in.config().key());
  std::lock_guard lock(conn->mu);
  if (auto loaded = load(*conn, in.config().key()); !loaded.ok()) return loaded.failure();
  if (conn->state == ConnectionState::kReauthorizationRequired) {
    if (!client_credentials(in) || clock_.wall_ms() < conn->retry_at_ms)
      return Error{conn->reason, ErrorKind::kConflict};
    conn->state = ConnectionState::kNone;
    conn->access_token.clear();
  }
  bool expiring = false;
  if (conn->expires_at_ms > 0) {
    int64_t lifetime = conn->expires_at_ms - conn->obtained_at_ms;
    int64_t margin = std::min<int64_t>(5 * 60 * 1000, std::max<int64_t>(lifetime / 10, 0));
    expiring = clock_.wall_ms() >= conn->expires_at_ms - margin;
  }
  if (conn->access_token.empty()) {
    if (!client_credentials(in)) return Error{"not authorized yet", ErrorKind::kConflict};
    if (auto renewed = renew(*conn, in); !renewed.ok()) return renewed.failure();
  } else if (expiring) {
    if (auto renewed = renew(*conn, in); !renewed.ok()) return renewed.failure();
  }
  return current(*conn, in);
}

Expected<CredentialSource::Credential> OAuthBroker::after_rejection(const Integration& in,
                                                                    const std::string& rejected) {
  if (in.config().secret_refs.count("api_token"))  // nothing to refresh: a person must set another
    return Error{"the CRM refused the API token (config.api_token); set a valid one",
                 ErrorKind::kConflict};
  auto conn = connection(in.config().key());
  std::lock_guard lock(conn->mu);
  if (auto loaded = load(*conn, in.config().key()); !loaded.ok()) return loaded.failure();
  if (conn->state == ConnectionState::kReauthorizationRequired)
    return Error{conn->reason, ErrorKind::kConflict};
  auto now = current(*conn, in);
  if (now.ok() && now->authorization != rejected) return now;  // another call refreshed already
  if (auto renewed = renew(*conn, in); !renewed.ok()) return renewed.failure();
  return current(*conn, in);
}

OAuthBroker::~OAuthBroker() { stop(); }

void OAuthBroker::forget(const IntegrationKey& key) {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(mu_);
    auto it = connections_.find(key);
    if (it == connections_.end()) return;
    conn = it->second;
    connections_.erase(it);
  }
  std::lock_guard lock(conn->mu);  // waits for a refresh under way, which then stores nothing
  conn->dead = true;
}

void OAuthBroker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (idle_refresh_.joinable()) idle_refresh_.join();
}

void OAuthBroker::start_idle_refresh(
    std::function<std::vector<std::shared_ptr<Integration>>()> serving, int64_t max_idle_ms) {
  const auto tick = std::chrono::milliseconds(std::clamp<int64_t>(max_idle_ms / 4, 50, 60000));
  idle_refresh_ = std::thread([this, serving = std::move(serving), max_idle_ms, tick] {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (stop_cv_.wait_for(lock, tick, [&] { return stopping_; })) return;
      }
      for (const auto& in : serving()) {
        if (!in->oauth_provider() || client_credentials(*in)) continue;
        auto conn = connection(in->config().key());
        std::lock_guard lock(conn->mu);
        if (!load(*conn, in->config().key()).ok() || conn->state != ConnectionState::kConnected ||
            conn->refresh_token.empty() || clock_.wall_ms() - conn->obtained_at_ms < max_idle_ms)
          continue;
        if (auto renewed = renew(*conn, *in); !renewed.ok())
          logger().warning("[" + in->log_name() + "] idle refresh: " + renewed.error());
      }
    }
  });
}

ConnectionState OAuthBroker::state(const IntegrationKey& key) {
  auto conn = connection(key);
  std::lock_guard lock(conn->mu);
  if (!load(*conn, key).ok()) return ConnectionState::kNone;
  return conn->state;
}

OAuthBroker::ConnectionView OAuthBroker::view(const IntegrationKey& key) {
  auto conn = connection(key);
  std::lock_guard lock(conn->mu);
  if (!load(*conn, key).ok()) return {};
  return {conn->state, conn->expires_at_ms, conn->reason};
}

Expected<std::string> OAuthBroker::start(const IntegrationKey& key) {
  auto in = integration_of_(key);
  if (!in) return Error{"integration " + key.log_name() + " is not served", ErrorKind::kNotFound};
  const crmh_oauth_provider* p = in->oauth_provider();
  if (p == nullptr || p->authorize_url == nullptr)
    return Error{"adapter " + in->config().adapter + " offers no OAuth authorization",
                 ErrorKind::kBadInput};
  auto url = expand(p->authorize_url, *in);
  if (!url.ok()) return url.failure();
  std::string client_id = config_text(*in, "client_id");
  if (client_id.empty()) return Error{"config.client_id is required", ErrorKind::kBadInput};
  auto flow = std::make_shared<PendingFlow>();
  flow->key = key;
  flow->expires_at_ms = clock_.wall_ms() + kFlowLifetimeMs;
  std::map<std::string, std::string> query = {{"response_type", "code"},
                                              {"client_id", client_id},
                                              {"redirect_uri", redirect_uri()},
                                              {"state", random_hex(24)}};
  auto scope = scope_for(*in, false);
  if (!scope.ok()) return scope.failure();
  if (!scope->empty()) query["scope"] = *scope;
  if (p->flags & CRMH_OAUTH_PKCE) {
    flow->verifier = base64url(random_hex(32));  // 86 characters of [A-Za-z0-9_-]
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(flow->verifier.data()), flow->verifier.size(), digest);
    query["code_challenge"] = base64url(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
    query["code_challenge_method"] = "S256";
  }
  std::string target = *url + (url->find('?') == std::string::npos ? "?" : "&") + form_encode(query);
  if (p->authorize_params && *p->authorize_params) target += std::string("&") + p->authorize_params;
  std::lock_guard lock(mu_);
  for (auto it = flows_.begin(); it != flows_.end();)  // expired flows go as new ones come
    it = it->second->expires_at_ms < clock_.wall_ms() ? flows_.erase(it) : std::next(it);
  flows_[query["state"]] = std::move(flow);
  return target;
}

Expected<IntegrationKey> OAuthBroker::finish(const std::string& state, const std::string& code) {
  std::shared_ptr<PendingFlow> flow;
  {
    std::lock_guard lock(mu_);
    auto it = flows_.find(state);
    if (it != flows_.end()) {
      flow = it->second;
      flows_.erase(it);  // single use, whatever follows
    }
  }
  if (!flow || flow->expires_at_ms < clock_.wall_ms())
    return Error{"this authorization link is unknown, used or expired; start again",
                 ErrorKind::kNotFound};
  auto in = integration_of_(flow->key);
  if (!in) return Error{"integration " + flow->key.log_name() + " is not served", ErrorKind::kNotFound};
  auto made = token_request(*in, secrets_);
  if (!made.ok()) return made.failure();
  TokenRequest& request = *made;
  request.form = {{"grant_type", "authorization_code"}, {"code", code},
                  {"redirect_uri", redirect_uri()}};
  if (auto scope = scope_for(*in, false); scope.ok() && !scope->empty()) request.form["scope"] = *scope;
  if (!flow->verifier.empty()) request.form["code_verifier"] = flow->verifier;
  auto http = transports_();
  auto grant = request_token(*http, request, clock_, clock_.monotonic_ms() + kTokenDeadlineMs);
  if (!grant.ok()) return grant.failure();
  auto conn = connection(flow->key);
  std::lock_guard lock(conn->mu);
  Connection next;
  next.dead = conn->dead;
  next.access_token = grant->access_token;
  next.refresh_token = grant->refresh_token;
  next.api_base = grant->api_base;
  next.expires_at_ms = grant->expires_at_ms;
  next.obtained_at_ms = clock_.wall_ms();
  next.state = ConnectionState::kConnected;
  if (auto saved = save(next, flow->key); !saved.ok()) return saved.failure();
  conn->loaded = true;
  conn->access_token = std::move(next.access_token);
  conn->refresh_token = std::move(next.refresh_token);
  conn->api_base = std::move(next.api_base);
  conn->expires_at_ms = next.expires_at_ms;
  conn->obtained_at_ms = next.obtained_at_ms;
  conn->state = ConnectionState::kConnected;
  conn->reason.clear();
  logger().information("[" + flow->key.log_name() + "] authorized");
  return flow->key;
}

}  // namespace crmhost
