// Client-side pacing (host/plugins/pacer.h): the window budget, the concurrency cap, parking, and
// one pacer per integration kept across generations.
#include "plugins/pacer.h"

#include <gtest/gtest.h>

namespace crmhost {
namespace {

TEST(Pacer, AWindowBudgetAdmitsNoMoreUntilTheOldestRequestLeavesIt) {
  SystemClock clock;
  Pacer pacer({2, 300, 0});
  const int64_t t0 = clock.monotonic_ms();
  ASSERT_TRUE(pacer.admit(clock, t0 + 1000));
  pacer.release();
  ASSERT_TRUE(pacer.admit(clock, t0 + 1000));
  pacer.release();
  EXPECT_FALSE(pacer.admit(clock, clock.monotonic_ms() + 20)) << "the window is spent";
  EXPECT_TRUE(pacer.admit(clock, clock.monotonic_ms() + 5000)) << "room once the window moves";
  EXPECT_GE(clock.monotonic_ms() - t0, 300 - 5);
  pacer.release();
}

TEST(Pacer, TheConcurrencyCapWaitsForARequestToFinish) {
  SystemClock clock;
  Pacer pacer({0, 0, 1});
  ASSERT_TRUE(pacer.admit(clock, clock.monotonic_ms() + 1000));
  EXPECT_FALSE(pacer.admit(clock, clock.monotonic_ms() + 20));
  pacer.release();
  EXPECT_TRUE(pacer.admit(clock, clock.monotonic_ms() + 20));
  pacer.release();
}

TEST(Pacer, UnlimitedByDefaultAndParkingOnlyMovesForward) {
  SystemClock clock;
  Pacer pacer({});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pacer.admit(clock, clock.monotonic_ms()));
  pacer.park_until(5000);
  pacer.park_until(3000);
  EXPECT_EQ(pacer.parked_until_ms(), 5000);
}

TEST(PacingBook, OnePacerPerIntegrationKeepsItsWindowWhenLimitsChange) {
  SystemClock clock;
  PacingBook book;
  auto a = book.pacer({"t", "a"}, {1, 60000, 0});
  ASSERT_TRUE(a->admit(clock, clock.monotonic_ms()));
  a->release();
  auto again = book.pacer({"t", "a"}, {1, 60000, 0});
  EXPECT_EQ(a, again);
  EXPECT_FALSE(again->admit(clock, clock.monotonic_ms() + 10)) << "a new generation, the same window";
  EXPECT_NE(book.pacer({"t", "b"}, {1, 60000, 0}), a);
  book.pacer({"t", "a"}, {5, 60000, 0});
  EXPECT_TRUE(a->admit(clock, clock.monotonic_ms() + 10)) << "limits updated in place";
  a->release();
}

}  // namespace
}  // namespace crmhost
