// GET /v1/status: every integration's sync at a glance. The figures come from the store's
// integration_stats (a row per integration, kept up to date as deliveries change state) and the
// live state of the registry, the OAuth broker and the pacers; nothing scans the outbox.
#include <Poco/JSON/Array.h>

#include <map>
#include <set>

#include "admin/admin_routes.h"
#include "ingress/deliveries_endpoint.h"

namespace crmhost {
namespace {

// An access token this close to its expiry is "expiring": the next call refreshes it, and a
// refresh that keeps failing shows here before deliveries park.
constexpr int64_t kExpiringWithinMs = 5 * 60 * 1000;

Poco::Dynamic::Var time_or_null(int64_t ms) {
  return ms ? Poco::Dynamic::Var(iso8601(ms)) : Poco::Dynamic::Var();
}

Poco::JSON::Object credential_json(AdminServices& s, const IntegrationKey& key,
                                   const Integration* in) {
  Poco::JSON::Object o;
  o.set("expires_at", Poco::Dynamic::Var());
  if (in == nullptr || in->oauth_provider() == nullptr) {
    o.set("state", "none");  // no OAuth connection: the integration's own secrets, if any
    return o;
  }
  auto c = s.oauth.view(key);
  o.set("expires_at", time_or_null(c.expires_at_ms));
  switch (c.state) {
    case ConnectionState::kReauthorizationRequired:
      o.set("state", "reauthorization_required");
      o.set("reason", c.reason);
      break;
    case ConnectionState::kNone:
      // Client credentials need no person: the first call fetches a token.
      o.set("state", in->setting("oauth_grant") == "client_credentials" ? "ok" : "not_connected");
      break;
    case ConnectionState::kConnected:
      o.set("state", c.expires_at_ms && c.expires_at_ms - s.clock.wall_ms() < kExpiringWithinMs
                         ? "expiring"
                         : "ok");
      break;
  }
  return o;
}

}  // namespace

void sync_status(Exchange& ex, AdminServices& s) {
  std::string tenant;
  if (!scoped_tenant(ex, /*required=*/false, &tenant)) return;
  auto stats = s.store.integration_stats(tenant);
  if (!stats.ok()) return send_store_failure(ex, stats.failure());
  std::map<IntegrationKey, const IntegrationStats*> by_key;
  for (const auto& st : *stats) by_key[{st.tenant_id, st.integration_id}] = &st;

  auto snap = s.registry.snapshot();
  const int64_t now = s.clock.wall_ms();
  // Every configured integration, and those the figures know that are configured no more.
  std::map<IntegrationKey, const IntegrationConfig*> configured;
  const auto integrations = s.directory.snapshot()->integrations();
  for (const auto& c : integrations)
    if (tenant.empty() || c.tenant_id == tenant) configured[{c.tenant_id, c.id}] = &c;
  std::set<IntegrationKey> keys;
  for (const auto& [key, c] : configured) keys.insert(key);
  for (const auto& [key, st] : by_key) keys.insert(key);

  Poco::JSON::Array list;
  static const IntegrationStats kNoFigures;
  for (const auto& key : keys) {
    auto config = configured.find(key);
    const IntegrationConfig* c = config == configured.end() ? nullptr : config->second;
    auto figures = by_key.find(key);
    const IntegrationStats& st = figures == by_key.end() ? kNoFigures : *figures->second;
    auto serving = snap->integrations.find(key);
    const Integration* in = serving == snap->integrations.end() ? nullptr : serving->second.get();
    Poco::JSON::Object o;
    o.set("tenant", key.tenant_id);
    o.set("integration", key.integration_id);
    o.set("configured", c != nullptr);
    o.set("adapter", c ? Poco::Dynamic::Var(c->adapter) : Poco::Dynamic::Var());
    o.set("enabled", c ? c->enabled : false);
    o.set("serving", in != nullptr);
    if (in) {
      o.set("state", "serving: " + in->config().adapter + " " + in->library().descriptor().version);
      auto adapter = snap->adapters.find(in->config().adapter);
      o.set("generation", adapter == snap->adapters.end()
                              ? Poco::Dynamic::Var()
                              : Poco::Dynamic::Var(static_cast<Poco::UInt64>(adapter->second.generation)));
    } else {
      auto why = snap->unavailable.find(key);
      o.set("state", why != snap->unavailable.end() ? why->second
                     : c                             ? std::string("not served")
                                                     : std::string("no longer configured"));
      o.set("generation", Poco::Dynamic::Var());
    }
    o.set("last_success_at", time_or_null(st.last_success_at_ms));
    if (st.last_error_at_ms) {
      Poco::JSON::Object e;
      e.set("at", iso8601(st.last_error_at_ms));
      e.set("outcome", st.last_error_outcome);
      e.set("http_status", st.last_error_http_status
                               ? Poco::Dynamic::Var(st.last_error_http_status)
                               : Poco::Dynamic::Var());
      e.set("message", st.last_error);
      o.set("last_error", e);
    } else {
      o.set("last_error", Poco::Dynamic::Var());
    }
    Poco::JSON::Object counts;
    counts.set("pending", st.pending);
    counts.set("in_flight", st.leased);
    counts.set("delivered", st.delivered);
    counts.set("dead", st.dead);
    counts.set("discarded", st.discarded);
    o.set("counts", counts);
    o.set("dead_letters", st.dead);
    o.set("oldest_pending_age_ms", st.oldest_pending_at_ms
                                       ? Poco::Dynamic::Var(std::max<int64_t>(now - st.oldest_pending_at_ms, 0))
                                       : Poco::Dynamic::Var());
    o.set("credential", credential_json(s, key, in));
    Poco::JSON::Object pacing;
    int64_t parked = in ? in->pacer()->parked_until_ms() : 0;
    pacing.set("parked_until", parked > now ? Poco::Dynamic::Var(iso8601(parked)) : Poco::Dynamic::Var());
    o.set("pacing", pacing);
    list.add(o);
  }
  Poco::JSON::Object answer;
  answer.set("at", iso8601(now));
  answer.set("integrations", list);
  ex.send_json(200, answer);
}

}  // namespace crmhost
