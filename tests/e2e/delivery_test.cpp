// Events posted over HTTP reach the receiver signed, with the exact bytes, routed per integration.
#include <map>
#include <set>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

TEST_F(E2eTest, DeliversSignedExactBytesAndStopsCleanly) {
  Receiver receiver(NewWhsecSecret());
  // The API key comes from the environment and the webhook secret from a file: both reference
  // forms of the config are exercised.
  const std::string secret_file = dir_.Write("webhook.secret", receiver.secret()).string();
  HostConfig config;
  TenantSpec acme = Tenant("acme", "env:E2E_ACME_KEY", receiver);
  acme.integrations[0].secret = "file:" + secret_file;
  config.tenants.push_back(acme);
  StartHost(config, {{"E2E_ACME_KEY", "acme-key-1"}});

  const HttpResponse r = Client().PostJson("/v1/events", kSeedPreRegisteredBody, "acme-key-1");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0u) << r.header("content-type");
  const std::string event_id = JsonString(r.json(), "id");
  EXPECT_TRUE(std::regex_match(event_id, kEventId)) << event_id;
  EXPECT_EQ(r.json()->getValue<int>("deliveries"), 1);

  ASSERT_TRUE(receiver.WaitForCount(1, kDeadline));
  const auto rows = WaitForDeliveries("acme-key-1", event_id, "delivered");
  ASSERT_EQ(rows.size(), 1u);
  const Arrival a = receiver.arrivals().at(0);
  EXPECT_TRUE(a.signature_valid) << a.webhook_signature;
  EXPECT_TRUE(a.timestamp_fresh) << a.webhook_timestamp;
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.path, "/hook");
  EXPECT_EQ(a.body, kSeedPreRegisteredBody);
  EXPECT_EQ(a.headers.count("content-type")
                ? a.headers.at("content-type").rfind("application/json", 0)
                : std::string::npos,
            0u);
  // webhook-id is the delivery id: stable across retries, the receiver's idempotency key.
  EXPECT_TRUE(std::regex_match(a.webhook_id, kDeliveryId)) << a.webhook_id;
  EXPECT_EQ(a.webhook_id, rows[0].id);
  EXPECT_EQ(rows[0].event_id, event_id);
  EXPECT_EQ(rows[0].integration, "acme-webhook");
  EXPECT_EQ(rows[0].event_type, kPreRegistered);
  EXPECT_EQ(rows[0].attempts, 1);
  EXPECT_EQ(rows[0].last_http_status, 204);

  // The same delivery is listed under its status filter.
  const auto delivered = ListDeliveries(Client(), "acme-key-1", "status=delivered");
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].id, rows[0].id);
  EXPECT_TRUE(ListDeliveries(Client(), "acme-key-1", "status=pending").empty());
  EXPECT_TRUE(ListDeliveries(Client(), "acme-key-1", "status=dead").empty());

  EXPECT_EQ(host_->Stop(), std::optional<int>(0)) << host_->stderr_text();
  EXPECT_NE(host_->stderr_text().find("crmhost: listening on " + host_->base_url()),
            std::string::npos)
      << host_->stderr_text();
  // The secrets never reach the log.
  EXPECT_EQ(host_->stderr_text().find(receiver.secret()), std::string::npos);
  EXPECT_EQ(host_->stderr_text().find("acme-key-1"), std::string::npos);
}

TEST_F(E2eTest, DeliversNonAsciiAndLargeBodiesByteForByte) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.max_body = "256KiB";
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  // UTF-8 beyond ASCII, and JSON escapes that a re-serializer would rewrite.
  std::string unicode = VisitorEvent(kCheckedIn, "j\u00fcrgen@example.com");
  unicode.replace(unicode.find("\"first_name\":\"Jane\""), 19,
                  "\"first_name\":\"J\u00fcrgen \u00c5ngstr\u00f6m \xe2\x9c\x93\"");
  unicode.replace(unicode.find(R"("last_name":"Smith")"), 19,
                  R"("last_name":"Sm\u0069th \/ O\u2019Brien")");
  // About 200 KiB: many signed documents.
  std::string large = VisitorEvent(kCheckedOut, "large@example.com");
  std::string docs;
  for (int i = 0; i < 5000; ++i)
    docs += (i ? "," : "") + std::string("\"Document number ") + std::to_string(i) +
            " of the visit pack\"";
  large.replace(large.find(R"(["NDA v3","WiFi Policy v1"])"), 27, "[" + docs + "]");
  ASSERT_GT(large.size(), 150u * 1024);
  ASSERT_LT(large.size(), 256u * 1024);

  const std::string unicode_id = PostEvent("acme-key", unicode);
  const std::string large_id = PostEvent("acme-key", large);
  const auto u = WaitForDeliveries("acme-key", unicode_id, "delivered");
  const auto l = WaitForDeliveries("acme-key", large_id, "delivered");
  ASSERT_EQ(u.size(), 1u);
  ASSERT_EQ(l.size(), 1u);
  std::map<std::string, Arrival> by_id;
  for (const Arrival& a : receiver.arrivals()) by_id[a.webhook_id] = a;
  ASSERT_EQ(by_id.count(u[0].id), 1u);
  ASSERT_EQ(by_id.count(l[0].id), 1u);
  EXPECT_TRUE(by_id[u[0].id].verified());
  EXPECT_EQ(by_id[u[0].id].body, unicode);
  EXPECT_TRUE(by_id[l[0].id].verified());
  EXPECT_EQ(by_id[l[0].id].body.size(), large.size());
  EXPECT_TRUE(by_id[l[0].id].body == large);
}

TEST_F(E2eTest, DeliversEachEventTypeOnlyToSubscribedEnabledIntegrations) {
  Receiver pre_only(NewWhsecSecret());
  Receiver all(NewWhsecSecret());
  Receiver disabled(NewWhsecSecret());
  HostConfig config;
  TenantSpec t = Tenant("acme", "acme-key", pre_only, {kPreRegistered});
  t.integrations[0].id = "pre-only";
  IntegrationSpec everything = Tenant("x", "", all).integrations[0];
  everything.id = "all";
  everything.enabled = true;
  IntegrationSpec off = Tenant("x", "", disabled).integrations[0];
  off.id = "off";
  off.enabled = false;
  t.integrations.push_back(everything);
  t.integrations.push_back(off);
  config.tenants.push_back(t);
  StartHost(config);

  struct Posted {
    std::string type;
    int expected_deliveries;
    std::string id;
  };
  std::vector<Posted> posted = {{kPreRegistered, 2, ""}, {kCheckedIn, 1, ""}, {kCheckedOut, 1, ""}};
  for (Posted& p : posted) {
    const HttpResponse r = Client().PostJson("/v1/events", VisitorEvent(p.type), "acme-key");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(r.json()->getValue<int>("deliveries"), p.expected_deliveries) << p.type;
    p.id = JsonString(r.json(), "id");
  }
  for (const Posted& p : posted) {
    const auto rows = WaitForDeliveries("acme-key", p.id, "delivered",
                                        static_cast<size_t>(p.expected_deliveries));
    std::set<std::string> integrations;
    for (const DeliveryView& d : rows) {
      integrations.insert(d.integration);
      EXPECT_EQ(d.event_type, p.type);
    }
    if (p.type == kPreRegistered) {
      EXPECT_EQ(integrations, (std::set<std::string>{"pre-only", "all"}));
    } else {
      EXPECT_EQ(integrations, (std::set<std::string>{"all"}));
    }
  }
  ASSERT_TRUE(all.WaitForCount(3, kDeadline));
  EXPECT_EQ(pre_only.count(), 1u);
  EXPECT_EQ(disabled.count(), 0u);
  std::multiset<std::string> types;
  for (const Arrival& a : all.arrivals()) {
    EXPECT_TRUE(a.verified());
    types.insert(JsonString(ParseJsonObject(a.body), "event"));
  }
  EXPECT_EQ(types, (std::multiset<std::string>{kPreRegistered, kCheckedIn, kCheckedOut}));
  ASSERT_EQ(pre_only.arrivals().size(), 1u);
  EXPECT_TRUE(pre_only.arrivals()[0].verified());
  EXPECT_EQ(pre_only.arrivals()[0].body, VisitorEvent(kPreRegistered));
  // Every row the tenant can see belongs to an enabled, subscribed integration.
  const auto every = ListDeliveries(Client(), "acme-key", "limit=100");
  EXPECT_EQ(every.size(), 4u);
  for (const DeliveryView& d : every) EXPECT_NE(d.integration, "off");
}

TEST_F(E2eTest, TenantsSeeAndReplayOnlyTheirOwnDeliveries) {
  Receiver acme_receiver(NewWhsecSecret());
  Receiver globex_receiver(NewWhsecSecret());
  acme_receiver.AnswerGone();  // acme's delivery goes dead at once, so there is one to replay
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", acme_receiver));
  config.tenants.push_back(Tenant("globex", "globex-key", globex_receiver));
  StartHost(config);

  const std::string acme_event =
      PostEvent("acme-key", VisitorEvent(kCheckedIn, "a@example.com", "shared-client-id-1"));
  const auto dead = WaitForDeliveries("acme-key", acme_event, "dead");
  ASSERT_EQ(dead.size(), 1u);
  const std::string acme_delivery = dead[0].id;

  // globex sees nothing of acme's, by listing or by asking for the event.
  EXPECT_TRUE(ListDeliveries(Client(), "globex-key").empty());
  EXPECT_TRUE(ListDeliveries(Client(), "globex-key", "status=dead").empty());
  EXPECT_TRUE(ListDeliveries(Client(), "globex-key", "event_id=" + acme_event).empty());
  const HttpResponse foreign_replay =
      Client().PostJson("/v1/deliveries/" + acme_delivery + "/replay", "", "globex-key");
  EXPECT_EQ(foreign_replay.status, 404) << foreign_replay.body;
  EXPECT_EQ(JsonString(foreign_replay.json(), "error"), "not_found");
  // The replay attempt by the other tenant changed nothing.
  const auto still_dead = ListDeliveries(Client(), "acme-key", "event_id=" + acme_event);
  ASSERT_EQ(still_dead.size(), 1u);
  EXPECT_EQ(still_dead[0].status, "dead");

  // The same client event id in another tenant is another event, not acme's.
  const std::string globex_event =
      PostEvent("globex-key", VisitorEvent(kCheckedIn, "g@example.com", "shared-client-id-1"));
  EXPECT_NE(globex_event, acme_event);
  WaitForDeliveries("globex-key", globex_event, "delivered");
  ASSERT_EQ(globex_receiver.count(), 1u);
  EXPECT_NE(globex_receiver.arrivals()[0].body.find("g@example.com"), std::string::npos);
  EXPECT_EQ(acme_receiver.count(), 1u);

  // acme itself may replay it.
  acme_receiver.Succeed();
  const HttpResponse replay =
      Client().PostJson("/v1/deliveries/" + acme_delivery + "/replay", "", "acme-key");
  EXPECT_EQ(replay.status, 202) << replay.body;
  WaitForDeliveries("acme-key", acme_event, "delivered");
  EXPECT_EQ(globex_receiver.count(), 1u);
}

}  // namespace
}  // namespace crmhost::testing
