// What the SQLite engine adds to the store contract (store_contract_test.cpp): one host per
// data_dir, schema migrations, and what it does with a database it finds.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "support/temp_dir.h"

namespace crmhost {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::open(dir_.path().string());
    ASSERT_TRUE(s.ok()) << s.error();
    store_ = std::move(*s);
  }
  NewEvent event(const std::string& key) {
    return NewEvent{"acme", key, "visitor.checked_in", "{}", {"hook"}, 1000, ""};
  }
  std::vector<LeasedDelivery> lease(int64_t now, int limit = 100) {
    auto l = store_->settle_and_lease({}, now, 60000, limit);
    EXPECT_TRUE(l.ok()) << l.error();
    return l.ok() ? *l : std::vector<LeasedDelivery>{};
  }
  // Runs SQL on the database from a connection of its own.
  void exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "crmhost.db").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

// A second store on the same data_dir is refused before it opens the database: it must not
// migrate a schema under the host that serves it. The database file here is empty, as a fresh
// one is; a store that opened it before taking the lock would have written the schema into it.
TEST_F(SqliteStoreTest, ASecondStoreOnTheSameDataDirIsRefusedBeforeItTouchesTheDatabase) {
  testing::TempDir other;
  auto first = SqliteStore::open(other.path().string());
  ASSERT_TRUE(first.ok()) << first.error();
  std::filesystem::remove(other.path() / "crmhost.db-wal");
  std::filesystem::remove(other.path() / "crmhost.db-shm");
  // Replace the database by an empty file behind the running store's back (the lock stays).
  std::filesystem::remove(other.path() / "crmhost.db");
  other.Write("crmhost.db", "");
  auto second = SqliteStore::open(other.path().string());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error_kind(), ErrorKind::kUnavailable);
  EXPECT_NE(second.error().find("another crmhost is using data_dir"), std::string::npos)
      << second.error();
  EXPECT_EQ(std::filesystem::file_size(other.path() / "crmhost.db"), 0u)
      << "the refused store migrated the database";
  first.value().reset();
  EXPECT_TRUE(SqliteStore::open(other.path().string()).ok()) << "the lock goes with the store";
}

// A database error during a replay is the store failing, not "no such delivery": the caller
// must answer 503, never 404.
TEST_F(SqliteStoreTest, ADatabaseErrorDuringReplayIsUnavailableNotNotFound) {
  ASSERT_TRUE(store_->append(event("")).ok());
  auto leased = lease(1000);
  ASSERT_EQ(leased.size(), 1u);
  exec("ALTER TABLE deliveries RENAME TO deliveries_elsewhere");
  auto replayed = store_->replay("acme", leased[0].id, 2000);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error_kind(), ErrorKind::kUnavailable) << replayed.error();
}

// A failed idempotency look-up must fail the append, not be taken for "key not seen" (which
// would store a repeat). `events` becomes a view whose reads fail at run time (abs() of the
// smallest integer overflows) while writes still reach the table through a trigger.
TEST_F(SqliteStoreTest, AFailedIdempotencyLookUpFailsTheAppend) {
  exec("ALTER TABLE events RENAME TO events_stored;"
       " CREATE VIEW events AS SELECT * FROM events_stored"
       "   WHERE abs(-9223372036854775807 - 1) IS NOT NULL;"
       " CREATE TRIGGER events_insert INSTEAD OF INSERT ON events BEGIN"
       "   INSERT INTO events_stored VALUES (NEW.id, NEW.tenant_id, NEW.idempotency_key,"
       "     NEW.event_type, NEW.payload, NEW.received_at, NEW.deliveries);"
       " END;");
  ASSERT_TRUE(store_->append(event("")).ok()) << "writes without a key still work";
  auto keyed = store_->append(event("k1"));
  ASSERT_FALSE(keyed.ok()) << "stored although the look-up of its key failed";
  EXPECT_EQ(keyed.error_kind(), ErrorKind::kUnavailable);
}

TEST_F(SqliteStoreTest, ReopeningKeepsEverythingAndTheSchemaVersion) {
  ASSERT_TRUE(store_->append(event("persist")).ok());
  store_.reset();
  auto reopened = SqliteStore::open(dir_.path().string());
  ASSERT_TRUE(reopened.ok()) << reopened.error();
  auto again = (*reopened)->append(event("persist"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->repeated);
  store_ = std::move(*reopened);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerCrmhost) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "crmhost.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto s = SqliteStore::open(dir_.path().string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("newer"), std::string::npos) << s.error();
}

// A database written by a build with schema version 1 (the outbox as first shipped) upgrades in
// place: every delivery keeps its state, its attempts and its dead letter stay attached.
TEST_F(SqliteStoreTest, UpgradesAVersion1DatabaseKeepingEveryDelivery) {
  store_.reset();
  std::filesystem::remove(dir_.path() / "crmhost.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "crmhost.db").c_str(), &db), SQLITE_OK);
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

  auto reopened = SqliteStore::open(dir_.path().string());
  ASSERT_TRUE(reopened.ok()) << reopened.error();
  store_ = std::move(*reopened);
  auto all = store_->list_deliveries({"acme", std::nullopt, "", 10});
  ASSERT_TRUE(all.ok()) << all.error();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "dlv_dead") << "newest update first";
  EXPECT_EQ((*all)[0].dead_reason, "PERMANENT: gone");
  EXPECT_EQ((*all)[0].attempts, 2);
  EXPECT_EQ((*all)[1].id, "dlv_pending");
  EXPECT_EQ((*all)[1].last_error, "busy");
  EXPECT_EQ((*all)[2].status, DeliveryStatus::kPending) << "released at open";
  EXPECT_EQ(store_->leases_released_at_open(), 1) << "a lease from a dead run is released at open";
  auto due = lease(5000);
  ASSERT_EQ(due.size(), 2u) << "the released lease and the retry are both due";
  EXPECT_EQ(due[0].id, "dlv_leased");
  EXPECT_EQ(due[1].id, "dlv_pending");
  EXPECT_EQ(due[1].attempt, 2);
  EXPECT_TRUE(store_->replay("acme", "dlv_dead", 6000).ok());
  EXPECT_EQ(lease(6000).size(), 1u);

  sqlite3* check = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "crmhost.db").c_str(), &check), SQLITE_OK);
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
TEST_F(SqliteStoreTest, RefusesAnUnknownDeliveryStatus) {
  ASSERT_TRUE(store_->append(event("")).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "crmhost.db").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE deliveries SET status = 'lost'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace
}  // namespace crmhost
