// Failing receivers: retried with the same webhook-id until delivered, dead after the configured
// attempts, dead at once on 410, Retry-After honoured, and replay from the dead letters.
#include <algorithm>
#include <set>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

TEST_F(E2eTest, ReceiverFailingThreeTimesIsDeliveredOnTheFourthAttempt) {
  Receiver receiver(NewWhsecSecret());
  receiver.FailFirst(3, 500);
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  const std::string body = VisitorEvent(kCheckedOut);
  const std::string event_id = PostEvent("acme-key", body);
  const auto rows = WaitForDeliveries("acme-key", event_id, "delivered");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 4);
  EXPECT_EQ(rows[0].last_http_status, 204);

  const auto arrivals = receiver.arrivals();
  ASSERT_EQ(arrivals.size(), 4u);
  for (const Arrival& a : arrivals) {
    EXPECT_TRUE(a.verified()) << a.webhook_id;
    EXPECT_EQ(a.webhook_id, rows[0].id);  // stable across retries
    EXPECT_EQ(a.body, body);
  }
  EXPECT_EQ(arrivals[2].answered_status, 500);
  EXPECT_EQ(arrivals[3].answered_status, 204);
  // Backoff: each retry waits at least about the base delay (20 ms, minus 20 % jitter).
  for (size_t i = 1; i < arrivals.size(); ++i) {
    EXPECT_GE(arrivals[i].at - arrivals[i - 1].at, 15ms) << "retry " << i;
  }
}

TEST_F(E2eTest, AlwaysFailingReceiverIsDeadAfterTenAttemptsAndReplayDelivers) {
  Receiver receiver(NewWhsecSecret());
  receiver.AlwaysFail(503);
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  const std::string event_id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  std::vector<DeliveryView> dead;
  ASSERT_TRUE(Eventually(
      [&] {
        dead = ListDeliveries(Client(), "acme-key", "status=dead");
        return !dead.empty();
      },
      kDeadline))
      << "no dead delivery; receiver saw " << receiver.count() << " attempts";
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].event_id, event_id);
  EXPECT_EQ(dead[0].attempts, 10);
  EXPECT_EQ(dead[0].last_http_status, 503);
  EXPECT_FALSE(dead[0].last_error.empty());
  EXPECT_EQ(receiver.count(), 10u);
  for (const Arrival& a : receiver.arrivals()) {
    EXPECT_TRUE(a.verified());
    EXPECT_EQ(a.webhook_id, dead[0].id);
  }

  // A replay of something not dead is refused; of something unknown, not found.
  const HttpResponse unknown =
      Client().PostJson("/v1/deliveries/dlv_00000000000000000000000000/replay", "", "acme-key");
  EXPECT_EQ(unknown.status, 404) << unknown.body;

  receiver.Succeed();
  const HttpResponse replay =
      Client().PostJson("/v1/deliveries/" + dead[0].id + "/replay", "", "acme-key");
  ASSERT_EQ(replay.status, 202) << replay.body;
  EXPECT_EQ(JsonString(replay.json(), "id"), dead[0].id);
  EXPECT_EQ(JsonString(replay.json(), "status"), "pending");

  const auto delivered = WaitForDeliveries("acme-key", event_id, "delivered");
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].id, dead[0].id);
  // A replay starts a fresh attempt count (DESIGN.md section 2; adapter.h crmh_delivery.attempt).
  EXPECT_EQ(delivered[0].attempts, 1);
  EXPECT_EQ(delivered[0].last_http_status, 204);
  EXPECT_EQ(receiver.count(), 11u);
  EXPECT_EQ(receiver.arrivals().back().webhook_id, dead[0].id);
  EXPECT_TRUE(ListDeliveries(Client(), "acme-key", "status=dead").empty());

  const HttpResponse again =
      Client().PostJson("/v1/deliveries/" + dead[0].id + "/replay", "", "acme-key");
  EXPECT_EQ(again.status, 409) << again.body;
}

TEST_F(E2eTest, GoneIsDeadAtOnce) {
  Receiver receiver(NewWhsecSecret());
  receiver.AnswerGone();
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  const std::string event_id = PostEvent("acme-key", VisitorEvent(kPreRegistered));
  const auto rows = WaitForDeliveries("acme-key", event_id, "dead");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 1);
  EXPECT_EQ(rows[0].last_http_status, 410);
  EXPECT_FALSE(rows[0].last_error.empty());
  EXPECT_EQ(receiver.count(), 1u);
  const auto dead = ListDeliveries(Client(), "acme-key", "status=dead");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, rows[0].id);
}

TEST_F(E2eTest, RateLimitedReceiverIsRetriedNoSoonerThanRetryAfter) {
  Receiver receiver(NewWhsecSecret());
  receiver.RateLimitFirst(1, "1");
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  const std::string event_id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  const auto rows = WaitForDeliveries("acme-key", event_id, "delivered");
  ASSERT_EQ(rows.size(), 1u);
  // A named wait parks the integration's queue and burns no attempt (issue 16 §4): the 429 was
  // not counted.
  EXPECT_EQ(rows[0].attempts, 1);
  const auto arrivals = receiver.arrivals();
  ASSERT_EQ(arrivals.size(), 2u);
  EXPECT_EQ(arrivals[0].answered_status, 429);
  // Retry-After: 1 is longer than the configured backoff (20 ms base, 200 ms cap): honoured.
  EXPECT_GE(arrivals[1].at - arrivals[0].at, 900ms);
}

TEST_F(E2eTest, AttemptThatOutlivesDeliverTimeoutIsRetried) {
  Receiver receiver(NewWhsecSecret());
  receiver.SlowFirst(1, 2s);  // the first attempt hangs far past the deadline
  HostConfig config;
  config.deliver_timeout = "300ms";
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  const std::string event_id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  // The hung attempt is abandoned at its deadline and retried long before the hang ends.
  ASSERT_TRUE(receiver.WaitUntil(
      [](const std::vector<Arrival>& all) {
        return !all.empty() && all.front().answered_status == 204;
      },
      1700ms))
      << "no retry before the hung attempt ended";
  const auto rows = WaitForDeliveries("acme-key", event_id, "delivered");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 2);
  ASSERT_TRUE(receiver.WaitIdle(kDeadline));
  auto arrivals = receiver.arrivals();
  ASSERT_EQ(arrivals.size(), 2u);
  std::sort(arrivals.begin(), arrivals.end(),
            [](const Arrival& a, const Arrival& b) { return a.at < b.at; });
  EXPECT_EQ(arrivals[0].webhook_id, arrivals[1].webhook_id);
  EXPECT_GE(arrivals[1].at - arrivals[0].at, 250ms);  // not before the deadline
  EXPECT_LT(arrivals[1].at - arrivals[0].at, 1700ms);
}

}  // namespace
}  // namespace crmhost::testing
