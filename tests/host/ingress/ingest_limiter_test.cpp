#include "ingress/ingest_limiter.h"

#include <gtest/gtest.h>

namespace crmhost {
namespace {

class ManualClock final : public Clock {
 public:
  int64_t wall_ms() const override { return now; }
  int64_t monotonic_ms() const override { return now; }
  int64_t now = 1'000'000;
};

TEST(IngestLimiter, AllowsTwoSecondsOfBurstThenSaysWhenToRetry) {
  ManualClock clock;
  IngestLimiter limiter(clock);
  int retry_after = 0;
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(limiter.try_acquire("acme", 10, &retry_after)) << i;
  EXPECT_FALSE(limiter.try_acquire("acme", 10, &retry_after));
  EXPECT_GE(retry_after, 1);
  clock.now += 100;  // one token at 10/s
  EXPECT_TRUE(limiter.try_acquire("acme", 10, &retry_after));
  EXPECT_FALSE(limiter.try_acquire("acme", 10, &retry_after));
}

TEST(IngestLimiter, TenantsHaveBucketsOfTheirOwn) {
  ManualClock clock;
  IngestLimiter limiter(clock);
  int retry_after = 0;
  while (limiter.try_acquire("acme", 5, &retry_after)) {
  }
  EXPECT_TRUE(limiter.try_acquire("globex", 5, &retry_after))
      << "one tenant's burst does not use another's";
}

}  // namespace
}  // namespace crmhost
