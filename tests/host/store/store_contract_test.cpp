#include "store/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <future>
#include <set>
#include <thread>

#include "store/sqlite/sqlite_store.h"
#include "support/temp_dir.h"

namespace crmhost {
namespace {

// An engine under test: how to open a store of it in an empty directory.
struct Engine {
  std::string name;
  std::function<Expected<std::unique_ptr<Store>>(const std::filesystem::path& dir)> open;
};

void PrintTo(const Engine& engine, std::ostream* out) { *out << engine.name; }

// The contract every store engine must pass (store/store.h). A new engine adds itself to
// kEngines below and passes every test here unchanged.
class StoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    auto s = GetParam().open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.error();
    store_ = std::move(*s);
  }
  void TearDown() override { store_.reset(); }
  NewEvent event(const std::string& key, std::vector<std::string> integrations = {"hook"}) {
    return NewEvent{"acme", key, "visitor.checked_in", R"({"event":"visitor.checked_in"})",
                    std::move(integrations), 1000, ""};
  }
  std::vector<LeasedDelivery> lease(int64_t now, int limit = 100) {
    auto l = store_->settle_and_lease({}, now, 60000, limit);
    EXPECT_TRUE(l.ok()) << l.error();
    return l.ok() ? *l : std::vector<LeasedDelivery>{};
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

const Engine kEngines[] = {
    {"sqlite",
     [](const std::filesystem::path& dir) -> Expected<std::unique_ptr<Store>> {
       auto s = SqliteStore::open(dir.string());
       if (!s.ok()) return s.failure();
       return std::unique_ptr<Store>(std::move(*s));
     }},
};
INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::ValuesIn(kEngines),
                         [](const auto& info) { return info.param.name; });

TEST_P(StoreTest, ConcurrentAppendsAllCommitAndRepeatedKeysCreateOneEvent) {
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
TEST_P(StoreTest, RoundsAndAppendsFromManyThreadsLeaseEachDeliveryOnce) {
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
      done.push_back({d.id, Settlement::Kind::kDelivered, d.attempt, now, 1, Outcome::kOk, 204, "", 0, "", ""});
    }
    if (leased->empty() && appended == kTotal) break;  // the check below reports what is missing
  }
  ASSERT_TRUE(store_->settle_and_lease(done, ++now, 60000, 0).ok());
  for (auto& t : appenders) t.join();
  EXPECT_EQ(leased_ids.size(), size_t{kTotal});
  EXPECT_EQ(std::set<std::string>(leased_ids.begin(), leased_ids.end()).size(), size_t{kTotal});
  auto delivered = store_->list_deliveries({"acme", DeliveryStatus::kDelivered, "", 1000});
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->size(), size_t{kTotal});
}

// A round that fails part-way (here: an outcome for a delivery that does not exist breaks the
// attempts table's foreign key) changes nothing, and the store keeps committing.
TEST_P(StoreTest, AFailedRoundIsRolledBackWhole) {
  ASSERT_TRUE(store_->append(event("")).ok());
  auto leased = lease(1000);
  ASSERT_EQ(leased.size(), 1u);
  Settlement ok{leased[0].id, Settlement::Kind::kDelivered, 1, 1000, 5, Outcome::kOk, 204, "", 0, "", ""};
  Settlement bogus{"dlv_missing", Settlement::Kind::kDelivered, 1, 1000, 5, Outcome::kOk, 204, "", 0, "", ""};
  // Appends keep coming meanwhile, so the failing rounds share commits with them.
  // A loaded machine may not schedule the appender at once: the rounds go on until it has
  // appended a few.
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::thread appender([&] {
    while (!stop) {
      EXPECT_TRUE(store_->append(event("")).ok());  // counted even so: the rounds must end
      ++appended;
    }
  });
  for (int i = 0; i < 50 || appended < 5; ++i)
    EXPECT_FALSE(store_->settle_and_lease({ok, bogus}, 1001, 60000, 0).ok());
  stop = true;
  appender.join();
  auto leased_now = store_->list_deliveries({"acme", DeliveryStatus::kLeased, "", 10});
  ASSERT_TRUE(leased_now.ok());
  ASSERT_EQ(leased_now->size(), 1u) << "the good outcome was rolled back with the bad one";
  EXPECT_EQ((*leased_now)[0].id, leased[0].id);
  auto retried = store_->settle_and_lease({ok}, 1002, 60000, 1);
  ASSERT_TRUE(retried.ok()) << retried.error();
  EXPECT_EQ(retried->size(), 1u) << "what was appended meanwhile is due";
  EXPECT_EQ(store_->list_deliveries({"acme", DeliveryStatus::kDelivered, "", 10})->size(), 1u);
}

TEST_P(StoreTest, ARepeatedKeyReturnsTheFirstAnswer) {
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
TEST_P(StoreTest, AppendThenAnswersOnceCommitted) {
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
  auto committed = store_->list_deliveries({"acme", std::nullopt, "evt_0000000000000000000000caller", 10});
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->size(), 1u) << "answered before it was readable";
}

TEST_P(StoreTest, SettlementsMoveDeliveriesThroughTheirStates) {
  ASSERT_TRUE(store_->append(event("")).ok());
  auto leased = lease(1000);
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].attempt, 1);
  EXPECT_TRUE(lease(1000).empty()) << "a leased delivery is not leased twice";

  Settlement retry{leased[0].id, Settlement::Kind::kRetry, 1, 1000, 5, Outcome::kRetry, 503, "busy", 6000, "", ""};
  auto next = store_->settle_and_lease({retry}, 1005, 60000, 10);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->empty()) << "not due until 6000";
  auto again = lease(6000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);

  Settlement dead{again[0].id, Settlement::Kind::kDead, 2, 6000, 5, Outcome::kPermanent, 410, "gone", 0, "PERMANENT: gone", ""};
  ASSERT_TRUE(store_->settle_and_lease({dead}, 6005, 60000, 10).ok());
  auto dead_list = store_->list_deliveries({"acme", DeliveryStatus::kDead, "", 10});
  ASSERT_TRUE(dead_list.ok());
  ASSERT_EQ(dead_list->size(), 1u);
  EXPECT_EQ((*dead_list)[0].attempts, 2);
  EXPECT_EQ((*dead_list)[0].dead_reason, "PERMANENT: gone");
  EXPECT_EQ((*dead_list)[0].last_http_status, 410);
  EXPECT_TRUE(store_->list_deliveries({"other-tenant", DeliveryStatus::kDead, "", 10})->empty());

  auto foreign = store_->replay("other-tenant", again[0].id, 7000);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error_kind(), ErrorKind::kNotFound) << "another tenant's delivery is not found";
  ASSERT_TRUE(store_->replay("acme", again[0].id, 7000).ok());
  auto not_dead = store_->replay("acme", again[0].id, 7000);
  ASSERT_FALSE(not_dead.ok());
  EXPECT_EQ(not_dead.error_kind(), ErrorKind::kConflict);
  auto replayed = lease(7000);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(replayed[0].attempt, 1) << "a replay starts a fresh attempt count";
}

TEST_P(StoreTest, ExpiredLeasesReturnAndParkingBurnsNoAttempt) {
  ASSERT_TRUE(store_->append(event("")).ok());
  auto leased = store_->settle_and_lease({}, 1000, 500, 10);
  ASSERT_EQ(leased->size(), 1u);
  EXPECT_EQ(*store_->return_expired_leases(1400), 0);
  EXPECT_EQ(*store_->return_expired_leases(1600), 1);
  auto again = lease(1600);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 1) << "an expired lease made no recorded attempt";

  Settlement park{again[0].id, Settlement::Kind::kPark, 1, 0, 0, Outcome::kRetry, 0, "no adapter", 9000, "", ""};
  ASSERT_TRUE(store_->settle_and_lease({park}, 1700, 500, 0).ok());
  auto after = lease(9000);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].attempt, 1);
}

// The store, not its callers, says when deliveries became due: after an append that made some and
// after a replay, not after an append that made none or a repeated key.
TEST_P(StoreTest, TellsItsListenerWhenDeliveriesBecomeDue) {
  store_.reset();
  std::atomic<int> told{0};
  {
    auto s = GetParam().open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.error();
    store_ = std::move(*s);
  }
  store_->on_deliveries_due([&] { ++told; });
  ASSERT_TRUE(store_->append(event("", {})).ok());
  EXPECT_EQ(told.load(), 0) << "an event no integration subscribes to makes nothing due";
  ASSERT_TRUE(store_->append(event("k", {"a", "b"})).ok());
  EXPECT_EQ(told.load(), 1);
  ASSERT_TRUE(store_->append(event("k", {"a", "b"})).ok());
  EXPECT_EQ(told.load(), 1) << "a repeated key creates nothing";
  auto leased = lease(1000);
  ASSERT_EQ(leased.size(), 2u);
  Settlement dead{leased[0].id, Settlement::Kind::kDead, 1, 1000, 5, Outcome::kPermanent, 410,
                  "gone", 0, "PERMANENT: gone", ""};
  ASSERT_TRUE(store_->settle_and_lease({dead}, 1005, 60000, 0).ok());
  EXPECT_EQ(told.load(), 1) << "the dispatcher's own rounds do not wake it";
  ASSERT_TRUE(store_->replay("acme", leased[0].id, 2000).ok());
  EXPECT_EQ(told.load(), 2);
  store_->on_deliveries_due(nullptr);
  ASSERT_TRUE(store_->append(event("later", {"a"})).ok());
  EXPECT_EQ(told.load(), 2) << "a cleared listener is not called";
}


// The figures of GET /v1/status follow every change of state, without a scan: after each step
// they equal a count of the deliveries themselves.
TEST_P(StoreTest, IntegrationStatsFollowEveryStateChange) {
  auto figures = [&](const std::string& integration) {
    auto all = store_->integration_stats("acme");
    EXPECT_TRUE(all.ok());
    for (const auto& st : *all)
      if (st.integration_id == integration) return st;
    return IntegrationStats{};
  };
  auto counted = [&](const std::string& integration, DeliveryStatus status) {
    int64_t n = 0;
    auto rows = store_->list_deliveries({"acme", status, "", 1000});
    EXPECT_TRUE(rows.ok());
    if (!rows.ok()) return n;
    for (const auto& d : *rows)
      if (d.integration_id == integration && !d.discarded_at_ms) ++n;
    return n;
  };
  auto check = [&](const char* step) {
    for (const std::string in : {"a", "b"}) {
      auto st = figures(in);
      EXPECT_EQ(st.pending, counted(in, DeliveryStatus::kPending)) << step << " " << in;
      EXPECT_EQ(st.leased, counted(in, DeliveryStatus::kLeased)) << step << " " << in;
      EXPECT_EQ(st.delivered, counted(in, DeliveryStatus::kDelivered)) << step << " " << in;
      EXPECT_EQ(st.dead, counted(in, DeliveryStatus::kDead)) << step << " " << in;
    }
  };
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_->append(event("", {"a", "b"})).ok());
  check("appended");
  EXPECT_EQ(figures("a").pending, 4);
  EXPECT_EQ(figures("a").oldest_pending_at_ms, 1000);
  auto leased = store_->settle_and_lease({}, 2000, 500, 100);
  ASSERT_EQ(leased->size(), 8u);
  check("leased");
  // a: all delivered. b, in lease order: one dead, two retried, one left in flight.
  std::vector<Settlement> done;
  const LeasedDelivery* dead_one = nullptr;
  int b_seen = 0;
  for (const auto& d : *leased) {
    if (d.integration_id == "a") {
      done.push_back({d.id, Settlement::Kind::kDelivered, 1, 2000, 5, Outcome::kOk, 204, "", 0, "", ""});
      continue;
    }
    ++b_seen;
    if (b_seen == 1) {
      dead_one = &d;
      done.push_back({d.id, Settlement::Kind::kDead, 1, 2000, 5, Outcome::kPermanent, 410, "gone", 0,
                      "PERMANENT: gone", "HTTP 410\ngone"});
    } else if (b_seen <= 3) {
      done.push_back({d.id, Settlement::Kind::kRetry, 1, 2000, 5, Outcome::kRetry, 503, "busy", 9000, "", ""});
    }
  }
  // The last error is the last failure settled: a retry when one came after the dead one.
  std::stable_partition(done.begin(), done.end(),
                        [](const Settlement& x) { return x.kind != Settlement::Kind::kRetry; });
  ASSERT_TRUE(store_->settle_and_lease(done, 2100, 500, 0).ok());
  check("settled");
  auto a = figures("a");
  EXPECT_EQ(a.delivered, 4);
  EXPECT_EQ(a.last_success_at_ms, 2100);
  EXPECT_EQ(a.last_error_at_ms, 0);
  auto b = figures("b");
  EXPECT_EQ(b.dead, 1);
  EXPECT_EQ(b.last_error_at_ms, 2100);
  EXPECT_EQ(b.last_error_http_status, 503);  // the last of the round: the retries came after
  EXPECT_EQ(b.leased, 1) << "one left in flight";
  EXPECT_EQ(*store_->return_expired_leases(3000), 1);
  check("expired lease returned");
  ASSERT_TRUE(store_->replay("acme", dead_one->id, 3100).ok());
  check("replayed");
  EXPECT_EQ(figures("b").dead, 0);

  // Dead again, then discarded: out of the dead letters, counted apart.
  auto again = store_->settle_and_lease({}, 3200, 500, 100);
  ASSERT_FALSE(again->empty());
  std::vector<Settlement> die;
  for (const auto& d : *again)
    die.push_back({d.id, Settlement::Kind::kDead, 1, 3200, 5, Outcome::kPermanent, 400, "bad", 0,
                   "PERMANENT: bad", ""});
  ASSERT_TRUE(store_->settle_and_lease(die, 3300, 500, 0).ok());
  check("dead");
  auto letters = store_->list_dead_letters({"acme", "b", "", "", 0, 0, 0, "", 100});
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->letters.size(), die.size());
  ASSERT_GE(letters->letters.size(), 2u);  // the replayed one and the returned lease
  ASSERT_TRUE(store_->discard("acme", letters->letters[0].id, "test data", 3400).ok());
  EXPECT_EQ(store_->discard("acme", letters->letters[0].id, "again", 3500).error_kind(),
            ErrorKind::kConflict);
  EXPECT_EQ(store_->discard("other", letters->letters[1].id, "x", 3500).error_kind(),
            ErrorKind::kNotFound);
  EXPECT_EQ(figures("b").discarded, 1);
  EXPECT_EQ(figures("b").dead, static_cast<int64_t>(die.size()) - 1);
  EXPECT_EQ(store_->list_dead_letters({"acme", "b", "", "", 0, 0, 0, "", 100})->letters.size(),
            die.size() - 1);
  check("discarded");
  EXPECT_TRUE(store_->integration_stats("other")->empty()) << "another tenant's figures are not shown";
  EXPECT_EQ(store_->integration_stats("")->size(), 2u);

  // The attempt keeps the CRM's answer; the detail is tenant-scoped.
  auto detail = store_->delivery_detail("acme", dead_one->id);
  ASSERT_TRUE(detail.ok()) << detail.error();
  ASSERT_GE(detail->attempts.size(), 1u);
  EXPECT_EQ(detail->attempts[0].response, "HTTP 410\ngone");
  EXPECT_EQ(detail->payload, R"({"event":"visitor.checked_in"})");
  EXPECT_EQ(store_->delivery_detail("other", dead_one->id).error_kind(), ErrorKind::kNotFound);
}

// A pending delivery due since before the threshold is a stall; one due later, or leased, is not.
TEST_P(StoreTest, AStalledDeliveryIsTheOneDueTheLongest) {
  ASSERT_TRUE(store_->append(event("", {"a"})).ok());
  EXPECT_FALSE(store_->stalled_delivery(1000)->has_value()) << "due at 1000 is not before 1000";
  auto stalled = store_->stalled_delivery(1001);
  ASSERT_TRUE(stalled.ok() && stalled->has_value());
  EXPECT_EQ((*stalled)->integration_id, "a");
  lease(1000);
  EXPECT_FALSE(store_->stalled_delivery(5000)->has_value()) << "a leased delivery is in flight";
}

}  // namespace
}  // namespace crmhost
