#include "store/store.h"

#include <gtest/gtest.h>

#include <future>
#include <sqlite3.h>

#include <atomic>
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
                    std::move(integrations), 1000, ""};
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

// Appends and dispatcher rounds share the writer's commits: whatever interleaving they get,
// every delivery is leased once and settled once.
TEST_F(StoreTest, RoundsAndAppendsFromManyThreadsLeaseEachDeliveryOnce) {
  constexpr int kThreads = 4, kPerThread = 200, kTotal = kThreads * kPerThread;
  std::atomic<int> appended{0};
  std::vector<std::thread> appenders;
  for (int t = 0; t < kThreads; ++t) {
    appenders.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(store_->append(event("")).ok());
        ++appended;
      }
    });
  }
  std::multiset<std::string> leased_ids;
  std::vector<Settlement> done;
  int64_t now = 1000;
  while (leased_ids.size() < size_t{kTotal}) {
    auto leased = store_->settle_and_lease(done, ++now, 60000, 50);
    ASSERT_TRUE(leased.ok()) << leased.error();
    done.clear();
    for (const auto& d : *leased) {
      leased_ids.insert(d.id);
      done.push_back({d.id, Settlement::Kind::kDelivered, d.attempt, now, 1, "OK", 204, "", 0, ""});
    }
    if (leased->empty() && appended == kTotal) break;  // the check below reports what is missing
  }
  ASSERT_TRUE(store_->settle_and_lease(done, ++now, 60000, 0).ok());
  for (auto& t : appenders) t.join();
  EXPECT_EQ(leased_ids.size(), size_t{kTotal});
  EXPECT_EQ(std::set<std::string>(leased_ids.begin(), leased_ids.end()).size(), size_t{kTotal});
  auto delivered = store_->list_deliveries({"acme", "delivered", "", 1000});
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->size(), size_t{kTotal});
}

// A round that fails part-way (here: an outcome for a delivery that does not exist breaks the
// attempts table's foreign key) changes nothing, and the store keeps committing.
TEST_F(StoreTest, AFailedRoundIsRolledBackWhole) {
  ASSERT_TRUE(store_->append(event("")).ok());
  auto leased = lease(1000);
  ASSERT_EQ(leased.size(), 1u);
  Settlement ok{leased[0].id, Settlement::Kind::kDelivered, 1, 1000, 5, "OK", 204, "", 0, ""};
  Settlement bogus{"dlv_missing", Settlement::Kind::kDelivered, 1, 1000, 5, "OK", 204, "", 0, ""};
  // Appends keep coming meanwhile, so the failing rounds share commits with them.
  std::atomic<bool> stop{false};
  std::thread appender([&] {
    while (!stop) ASSERT_TRUE(store_->append(event("")).ok());
  });
  for (int i = 0; i < 50; ++i)
    EXPECT_FALSE(store_->settle_and_lease({ok, bogus}, 1001, 60000, 0).ok());
  stop = true;
  appender.join();
  auto leased_now = store_->list_deliveries({"acme", "leased", "", 10});
  ASSERT_TRUE(leased_now.ok());
  ASSERT_EQ(leased_now->size(), 1u) << "the good outcome was rolled back with the bad one";
  EXPECT_EQ((*leased_now)[0].id, leased[0].id);
  auto retried = store_->settle_and_lease({ok}, 1002, 60000, 1);
  ASSERT_TRUE(retried.ok()) << retried.error();
  EXPECT_EQ(retried->size(), 1u) << "what was appended meanwhile is due";
  EXPECT_EQ(store_->list_deliveries({"acme", "delivered", "", 10})->size(), 1u);
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

// append_then answers on the writer thread after the commit, with the id the caller chose, or
// with the first answer for a repeated key.
TEST_F(StoreTest, AppendThenAnswersOnceCommitted) {
  std::promise<Expected<AppendResult>> first, again;
  NewEvent e = event("k1");
  e.id = "evt_0000000000000000000000caller";
  store_->append_then(e, [&](Expected<AppendResult> r) { first.set_value(std::move(r)); });
  e.id = "evt_0000000000000000000000second";
  store_->append_then(e, [&](Expected<AppendResult> r) { again.set_value(std::move(r)); });
  auto r1 = first.get_future().get();
  auto r2 = again.get_future().get();
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r1->event_id, "evt_0000000000000000000000caller");
  EXPECT_FALSE(r1->repeated);
  EXPECT_EQ(r2->event_id, "evt_0000000000000000000000caller");
  EXPECT_TRUE(r2->repeated);
  auto committed = store_->list_deliveries({"acme", "", "evt_0000000000000000000000caller", 10});
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->size(), 1u) << "answered before it was readable";
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

// A database written by a build with schema version 1 (the outbox as first shipped) upgrades in
// place: every delivery keeps its state, its attempts and its dead letter stay attached.
TEST_F(StoreTest, UpgradesAVersion1DatabaseKeepingEveryDelivery) {
  store_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "crmhost.db").c_str(), &db), SQLITE_OK);
  const char* v1 = R"sql(
CREATE TABLE events (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, idempotency_key TEXT,
  event_type TEXT NOT NULL, payload TEXT NOT NULL, received_at INTEGER NOT NULL,
  deliveries INTEGER NOT NULL);
CREATE UNIQUE INDEX events_idempotency ON events(tenant_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE TABLE deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL REFERENCES events(id),
  tenant_id TEXT NOT NULL, integration_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','leased','delivered','dead')),
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, lease_until INTEGER,
  last_http_status INTEGER, last_error TEXT, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX deliveries_tenant ON deliveries(tenant_id, status, updated_at);
CREATE INDEX deliveries_event ON deliveries(event_id);
CREATE TABLE attempts (id INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL REFERENCES deliveries(id),
  attempt INTEGER NOT NULL, started_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL, http_status INTEGER, error TEXT);
CREATE INDEX attempts_delivery ON attempts(delivery_id);
CREATE TABLE dead_letters (id INTEGER PRIMARY KEY,
  delivery_id TEXT NOT NULL REFERENCES deliveries(id), tenant_id TEXT NOT NULL,
  integration_id TEXT NOT NULL, reason TEXT NOT NULL, dead_at INTEGER NOT NULL,
  replayed_at INTEGER);
CREATE INDEX dead_letters_delivery ON dead_letters(delivery_id);
INSERT INTO events VALUES ('evt_a', 'acme', NULL, 'visitor.checked_in', '{}', 1000, 3);
INSERT INTO deliveries VALUES
  ('dlv_pending', 'evt_a', 'acme', 'hook', 'pending', 1, 5000, NULL, 503, 'busy', 1000, 2000),
  ('dlv_leased', 'evt_a', 'acme', 'crm', 'leased', 0, 1000, 61000, NULL, NULL, 1000, 1000),
  ('dlv_dead', 'evt_a', 'acme', 'old', 'dead', 2, 1000, NULL, 410, 'gone', 1000, 3000);
INSERT INTO attempts(delivery_id, attempt, started_at, duration_ms, outcome, http_status, error)
  VALUES ('dlv_pending', 1, 1500, 5, 'RETRY', 503, 'busy'),
         ('dlv_dead', 1, 1500, 5, 'RETRY', 503, 'busy'),
         ('dlv_dead', 2, 2500, 5, 'PERMANENT', 410, 'gone');
INSERT INTO dead_letters(delivery_id, tenant_id, integration_id, reason, dead_at)
  VALUES ('dlv_dead', 'acme', 'old', 'PERMANENT: gone', 3000);
PRAGMA user_version = 1;
)sql";
  ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto reopened = Store::open(dir_.string());
  ASSERT_TRUE(reopened.ok()) << reopened.error();
  store_ = std::move(*reopened);
  auto all = store_->list_deliveries({"acme", "", "", 10});
  ASSERT_TRUE(all.ok()) << all.error();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "dlv_dead") << "newest update first";
  EXPECT_EQ((*all)[0].dead_reason, "PERMANENT: gone");
  EXPECT_EQ((*all)[0].attempts, 2);
  EXPECT_EQ((*all)[1].id, "dlv_pending");
  EXPECT_EQ((*all)[1].last_error, "busy");
  EXPECT_EQ((*all)[2].status, "leased");

  EXPECT_EQ(*store_->release_all_leases(), 1);
  auto due = lease(5000);
  ASSERT_EQ(due.size(), 2u) << "the released lease and the retry are both due";
  EXPECT_EQ(due[0].id, "dlv_leased");
  EXPECT_EQ(due[1].id, "dlv_pending");
  EXPECT_EQ(due[1].attempt, 2);
  EXPECT_EQ(*store_->replay("acme", "dlv_dead", 6000), ReplayResult::kReplayed);
  EXPECT_EQ(lease(6000).size(), 1u);

  sqlite3* check = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "crmhost.db").c_str(), &check), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(check,
                     "SELECT (SELECT COUNT(*) FROM attempts a JOIN deliveries d"
                     " ON d.id = a.delivery_id), (SELECT user_version FROM pragma_user_version)",
                     -1, &q, nullptr);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 3) << "every attempt still names its delivery";
  EXPECT_GE(sqlite3_column_int(q, 1), 2);
  sqlite3_finalize(q);
  sqlite3_close(check);
}

// A stored row that breaks a status the schema allows is refused, as before the rebuild.
TEST_F(StoreTest, RefusesAnUnknownDeliveryStatus) {
  ASSERT_TRUE(store_->append(event("")).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "crmhost.db").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE deliveries SET status = 'lost'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace
}  // namespace crmhost
