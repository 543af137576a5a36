#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <set>
#include <thread>

namespace crmhost {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("crmhost-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = Store::open(dir_.string());
    ASSERT_TRUE(s.ok()) << s.error();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  NewEvent event(const std::string& key, std::vector<std::string> integrations = {"hook"}) {
    return NewEvent{"acme", key, "visitor.checked_in", R"({"event":"visitor.checked_in"})",
                    std::move(integrations), 1000};
  }
  std::vector<LeasedDelivery> lease(int64_t now, int limit = 100) {
    auto l = store_->settle_and_lease({}, now, 60000, limit);
    EXPECT_TRUE(l.ok()) << l.error();
    return l.ok() ? *l : std::vector<LeasedDelivery>{};
  }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, ConcurrentAppendsAllCommitAndRepeatedKeysCreateOneEvent) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> ids;
  std::set<std::string> shared_ids;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = store_->append(event("k-" + std::to_string(t) + "-" + std::to_string(i)));
        auto shared = store_->append(event("same-key-for-all"));
        ASSERT_TRUE(r.ok() && shared.ok());
        std::lock_guard lock(mu);
        ids.insert(r->event_id);
        shared_ids.insert(shared->event_id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ids.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(shared_ids.size(), 1u);
  EXPECT_EQ(lease(1000, 10000).size(), size_t{kThreads * kPerThread + 1});
}

TEST_F(StoreTest, ARepeatedKeyReturnsTheFirstAnswer) {
  auto first = store_->append(event("abc", {"a", "b"}));
  auto again = store_->append(event("abc", {"a"}));
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_FALSE(first->repeated);
  EXPECT_TRUE(again->repeated);
  EXPECT_EQ(again->event_id, first->event_id);
  EXPECT_EQ(again->deliveries, 2);
  EXPECT_EQ(lease(1000).size(), 2u);
}

TEST_F(StoreTest, SettlementsMoveDeliveriesThroughTheirStates) {
  ASSERT_TRUE(store_->append(event("")).ok());
  auto leased = lease(1000);
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].attempt, 1);
  EXPECT_TRUE(lease(1000).empty()) << "a leased delivery is not leased twice";

  Settlement retry{leased[0].id, Settlement::Kind::kRetry, 1, 1000, 5, "RETRY", 503, "busy", 6000, ""};
  auto next = store_->settle_and_lease({retry}, 1005, 60000, 10);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->empty()) << "not due until 6000";
  auto again = lease(6000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);

  Settlement dead{again[0].id, Settlement::Kind::kDead, 2, 6000, 5, "PERMANENT", 410, "gone", 0, "PERMANENT: gone"};
  ASSERT_TRUE(store_->settle_and_lease({dead}, 6005, 60000, 10).ok());
  auto dead_list = store_->list_deliveries({"acme", "dead", "", 10});
  ASSERT_TRUE(dead_list.ok());
  ASSERT_EQ(dead_list->size(), 1u);
  EXPECT_EQ((*dead_list)[0].attempts, 2);
  EXPECT_EQ((*dead_list)[0].dead_reason, "PERMANENT: gone");
  EXPECT_EQ((*dead_list)[0].last_http_status, 410);
  EXPECT_TRUE(store_->list_deliveries({"other-tenant", "dead", "", 10})->empty());

  EXPECT_EQ(*store_->replay("other-tenant", again[0].id, 7000), ReplayResult::kNotFound);
  EXPECT_EQ(*store_->replay("acme", again[0].id, 7000), ReplayResult::kReplayed);
  EXPECT_EQ(*store_->replay("acme", again[0].id, 7000), ReplayResult::kNotDead);
  auto replayed = lease(7000);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(replayed[0].attempt, 1) << "a replay starts a fresh attempt count";
}

TEST_F(StoreTest, ExpiredLeasesReturnAndParkingBurnsNoAttempt) {
  ASSERT_TRUE(store_->append(event("")).ok());
  auto leased = store_->settle_and_lease({}, 1000, 500, 10);
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ(*store_->return_expired_leases(1400), 0);
  EXPECT_EQ(*store_->return_expired_leases(1600), 1);
  auto again = lease(1600);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 1) << "an expired lease made no recorded attempt";

  Settlement park{again[0].id, Settlement::Kind::kPark, 1, 0, 0, "", 0, "no adapter", 9000, ""};
  ASSERT_TRUE(store_->settle_and_lease({park}, 1700, 500, 0).ok());
  auto after = lease(9000);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].attempt, 1);
  EXPECT_EQ(*store_->release_all_leases(), 1);
}

TEST_F(StoreTest, ReopeningKeepsEverythingAndTheSchemaVersion) {
  ASSERT_TRUE(store_->append(event("persist")).ok());
  store_.reset();
  auto reopened = Store::open(dir_.string());
  ASSERT_TRUE(reopened.ok()) << reopened.error();
  auto again = (*reopened)->append(event("persist"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->repeated);
  store_ = std::move(*reopened);
}

TEST_F(StoreTest, RefusesADatabaseFromANewerCrmhost) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "crmhost.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto s = Store::open(dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("newer"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace crmhost
