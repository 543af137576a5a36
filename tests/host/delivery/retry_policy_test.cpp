#include "delivery/retry_policy.h"

#include <gtest/gtest.h>

namespace crmhost {
namespace {

RetrySettings product_schedule(double jitter) {
  RetrySettings s;  // the defaults are the product documents' schedule
  s.jitter = jitter;
  return s;
}

TEST(RetryPolicy, DoublesFromFiveSecondsToAFiveMinuteCap) {
  RetryPolicy policy(product_schedule(0.0), [] { return 0.5; });
  const int64_t expected[] = {5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000};
  for (int n = 1; n <= 9; ++n) EXPECT_EQ(policy.delay_ms(n, 0), expected[n - 1]) << "after attempt " << n;
}

TEST(RetryPolicy, JitterStaysWithinTwentyPercent) {
  RetryPolicy low(product_schedule(0.2), [] { return 0.0; });
  RetryPolicy high(product_schedule(0.2), [] { return 0.999999; });
  EXPECT_EQ(low.delay_ms(1, 0), 4000);
  EXPECT_NEAR(high.delay_ms(1, 0), 6000, 1);
  EXPECT_EQ(low.delay_ms(9, 0), 240000);
  EXPECT_NEAR(high.delay_ms(9, 0), 360000, 1);
}

TEST(RetryPolicy, RetryAfterIsHonouredOnlyWhenLonger) {
  RetryPolicy policy(product_schedule(0.0), [] { return 0.5; });
  EXPECT_EQ(policy.delay_ms(1, 60000), 60000);
  EXPECT_EQ(policy.delay_ms(3, 1000), 20000);
  auto d = policy.decide(outcome_of(CRMH_RATE_LIMITED), 1, 90000, "slow down");
  EXPECT_EQ(d.kind, RetryDecision::Kind::kRetry);
  EXPECT_EQ(d.delay_ms, 90000);
}

TEST(RetryPolicy, TenAttemptsThenDead) {
  RetryPolicy policy(product_schedule(0.2), [] { return 0.3; });
  for (int attempt = 1; attempt <= 9; ++attempt)
    EXPECT_EQ(policy.decide(outcome_of(CRMH_RETRY), attempt, 0, "503").kind, RetryDecision::Kind::kRetry);
  auto last = policy.decide(outcome_of(CRMH_RETRY), 10, 0, "503");
  EXPECT_EQ(last.kind, RetryDecision::Kind::kDead);
  EXPECT_NE(last.dead_reason.find("10 attempts"), std::string::npos) << last.dead_reason;
}

TEST(RetryPolicy, PermanentIsDeadAtOnceWithItsReason) {
  RetryPolicy policy(product_schedule(0.2), [] { return 0.3; });
  auto d = policy.decide(outcome_of(CRMH_PERMANENT), 1, 0, "HTTP 410 Gone");
  EXPECT_EQ(d.kind, RetryDecision::Kind::kDead);
  EXPECT_EQ(d.dead_reason, "PERMANENT: HTTP 410 Gone");
}

TEST(RetryPolicy, AuthExpiredInternalAndUnknownOutcomesRetry) {
  RetryPolicy policy(product_schedule(0.0), [] { return 0.5; });
  for (crmh_status s : {CRMH_AUTH_EXPIRED, CRMH_INTERNAL, 42, -3}) {
    auto d = policy.decide(outcome_of(s), 1, 0, "x");
    EXPECT_EQ(d.kind, RetryDecision::Kind::kRetry) << s;
    EXPECT_EQ(d.delay_ms, 5000);
  }
  EXPECT_EQ(outcome_name(outcome_of(42)), "UNKNOWN");
  EXPECT_EQ(policy.decide(outcome_of(CRMH_OK), 4, 0, "").kind, RetryDecision::Kind::kDelivered);
}

}  // namespace
}  // namespace crmhost
