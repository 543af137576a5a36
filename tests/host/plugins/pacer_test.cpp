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
  ASSERT_EQ(pacer.admit(clock, t0 + 1000), 0);
  pacer.release();
  ASSERT_EQ(pacer.admit(clock, t0 + 1000), 0);
  pacer.release();
  EXPECT_GT(pacer.admit(clock, clock.monotonic_ms() + 20), 0) << "the window is spent";
  EXPECT_EQ(pacer.admit(clock, clock.monotonic_ms() + 5000), 0) << "room once the window moves";
  EXPECT_GE(clock.monotonic_ms() - t0, 300 - 5);
  pacer.release();
}

TEST(Pacer, RoomFurtherThanASecondAwayIsAnsweredAtOnceWithTheWait) {
  SystemClock clock;
  Pacer pacer({1, 60000, 0});
  ASSERT_EQ(pacer.admit(clock, clock.monotonic_ms() + 100000), 0);
  pacer.release();
  const int64_t t0 = clock.monotonic_ms();
  int64_t wait = pacer.admit(clock, t0 + 100000);
  EXPECT_GT(wait, 50000) << "the window frees in a minute";
  EXPECT_LT(clock.monotonic_ms() - t0, 900) << "a worker does not sit out the minute";
}

TEST(Pacer, TheConcurrencyCapWaitsForARequestToFinish) {
  SystemClock clock;
  Pacer pacer({0, 0, 1});
  ASSERT_EQ(pacer.admit(clock, clock.monotonic_ms() + 1000), 0);
  EXPECT_GT(pacer.admit(clock, clock.monotonic_ms() + 20), 0);
  pacer.release();
  EXPECT_EQ(pacer.admit(clock, clock.monotonic_ms() + 20), 0);
  pacer.release();
}

TEST(Pacer, UnlimitedByDefaultAndParkingOnlyMovesForward) {
  SystemClock clock;
  Pacer pacer({});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(pacer.admit(clock, clock.monotonic_ms()), 0);
  pacer.park_until(5000);
  pacer.park_until(3000);
  EXPECT_EQ(pacer.parked_until_ms(), 5000);
}

TEST(PacingBook, OnePacerPerIntegrationKeepsItsWindowWhenLimitsChange) {
  SystemClock clock;
  PacingBook book;
  auto a = book.pacer({"t", "a"}, {1, 60000, 0});
  ASSERT_EQ(a->admit(clock, clock.monotonic_ms()), 0);
  a->release();
  auto again = book.pacer({"t", "a"}, {1, 60000, 0});
  EXPECT_EQ(a, again);
  EXPECT_GT(again->admit(clock, clock.monotonic_ms() + 10), 0) << "a new generation, the same window";
  EXPECT_NE(book.pacer({"t", "b"}, {1, 60000, 0}), a);
  book.pacer({"t", "a"}, {5, 60000, 0});
  EXPECT_EQ(a->admit(clock, clock.monotonic_ms() + 10), 0) << "limits updated in place";
  a->release();
}

}  // namespace
}  // namespace crmhost
