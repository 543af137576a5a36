#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <optional>

#include "common/ids.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/statement.h"
#include "store/sqlite/stats_tally.h"
#include "store/sqlite/wal_write_batching.h"

namespace crmhost {

// An event queued for the writer thread, and whom to tell once it is committed.
struct SqliteStore::PendingAppend {
  NewEvent event;
  AppendDone done;
  Expected<AppendResult> result = Error{"not committed"};
};

// A dispatcher round queued for the writer thread; its caller waits for it. Shared by the caller
// and the writer, so the writer can signal it after releasing the lock even if the caller has
// already seen `done` and returned.
struct SqliteStore::PendingRound {
  std::mutex mu;
  bool done = false;  // guarded by mu
  std::condition_variable cv;
  const std::vector<Settlement>* done_deliveries = nullptr;  // the caller's, alive until done
  int64_t now_ms = 0, lease_ms = 0;
  int limit = 0;
  Expected<std::vector<LeasedDelivery>> result = Error{"not committed"};
};

namespace {

constexpr size_t kMaxAppendBatch = 256;

std::string truncated(const std::string& text, size_t limit = Store::kMaxErrorText) {
  return text.size() <= limit ? text : text.substr(0, limit);
}

void bind_or_null(SqliteStatement& q, int index, int64_t value) {
  if (value)
    q.bind(index, value);
  else
    q.bind_null(index);
}

Expected<sqlite3*> open_connection(const std::string& path, SqliteStore::Sync sync) {
  sqlite3* db = nullptr;
  // Every commit syncs the WAL under kFull, which is what gathering its writes requires.
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           sync == SqliteStore::Sync::kFull ? wal_write_batching_vfs() : nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error{"opening " + path + ": " + message};
  }
  sqlite3_busy_timeout(db, 5000);
  // temp_store=MEMORY: the savepoint around a dispatcher round keeps its undo copies in memory
  // rather than in a temporary file created and unlinked for every other commit.
  auto pragmas = sqlite_exec(db, sync == SqliteStore::Sync::kFull
                                     ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                       "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                                     : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                       "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;");
  if (!pragmas.ok()) {
    sqlite3_close(db);
    return Error{"configuring " + path + ": " + pragmas.error()};
  }
  return db;
}

// The flock is the engine's single-host guarantee: taken before the database is opened, so a
// second crmhost neither migrates nor touches a database that a running one serves.
Expected<int> lock_data_dir(const std::string& data_dir) {
  std::string path = data_dir + "/crmhost.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot open " + path, ErrorKind::kUnavailable};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Error{"another crmhost is using data_dir " + data_dir, ErrorKind::kUnavailable};
  }
  return fd;
}


// The columns every delivery view reads, in read_view()'s order.
#define CRMHOST_DELIVERY_VIEW_COLUMNS                                                         \
  "d.id, d.event_id, d.tenant_id, d.integration_id, e.event_type, d.status, d.attempts,"     \
  " d.last_http_status, d.last_error, d.next_attempt_at, d.updated_at, d.last_outcome,"      \
  " d.discarded_at, d.discard_reason,"                                                        \
  " (SELECT reason FROM dead_letters x WHERE x.delivery_id = d.id ORDER BY x.id DESC LIMIT 1)"

DeliveryView read_view(const SqliteStatement& q) {
  DeliveryView v;
  v.id = q.text(0);
  v.event_id = q.text(1);
  v.tenant_id = q.text(2);
  v.integration_id = q.text(3);
  v.event_type = q.text(4);
  v.status = parse_delivery_status(q.text(5)).value_or(DeliveryStatus::kPending);
  v.attempts = static_cast<int>(q.integer(6));
  v.last_http_status = static_cast<int>(q.integer(7));
  v.last_error = q.text(8);
  v.next_attempt_at_ms = q.integer(9);
  v.updated_at_ms = q.integer(10);
  v.last_outcome = q.text(11);
  v.discarded_at_ms = q.integer(12);
  v.discard_reason = q.text(13);
  if (v.status == DeliveryStatus::kDead) v.dead_reason = q.text(14);
  return v;
}

// A dead-letter page cursor: "<updated_at ms>.<delivery id>" of the last letter of a page.
std::string cursor_of(const DeliveryView& v) {
  return std::to_string(v.updated_at_ms) + "." + v.id;
}

bool parse_cursor(const std::string& cursor, int64_t* at_ms, std::string* id) {
  auto dot = cursor.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 18) return false;
  for (size_t i = 0; i < dot; ++i)
    if (cursor[i] < '0' || cursor[i] > '9') return false;
  *at_ms = std::stoll(cursor.substr(0, dot));
  *id = cursor.substr(dot + 1);
  return id->rfind("dlv_", 0) == 0;
}

}  // namespace

Expected<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir, Sync sync) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return Error{"creating data_dir " + data_dir + ": " + ec.message(), ErrorKind::kUnavailable};
  auto lock = lock_data_dir(data_dir);
  if (!lock.ok()) return lock.failure();
  std::string path = data_dir + "/crmhost.db";
  auto fail = [&](Error e, sqlite3* a, sqlite3* b) -> Error {
    sqlite3_close(b);
    sqlite3_close(a);
    ::close(*lock);
    return e;
  };
  auto writer = open_connection(path, sync);
  if (!writer.ok()) return fail(writer.failure(), nullptr, nullptr);
  if (auto migrated = migrate_schema(*writer); !migrated.ok())
    return fail(Error{path + ": " + migrated.error(), ErrorKind::kUnavailable}, *writer, nullptr);
  auto reader = open_connection(path, sync);
  if (!reader.ok()) return fail(reader.failure(), *writer, nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(*lock, *writer, *reader));
  auto released = store->release_all_leases();
  if (!released.ok())
    return Error{path + ": releasing old leases: " + released.error(), ErrorKind::kUnavailable};
  store->leases_released_at_open_ = *released;
  return store;
}

SqliteStore::SqliteStore(int lock_fd, sqlite3* write_db, sqlite3* read_db)
    : lock_fd_(lock_fd),
      write_db_(write_db),
      write_sql_(std::make_unique<StatementCache>(write_db)),
      read_db_(read_db),
      read_sql_(std::make_unique<StatementCache>(read_db)),
      writer_([this] { write_loop(); }) {}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  writer_cv_.notify_one();
  writer_.join();
  write_sql_.reset();
  read_sql_.reset();
  sqlite3_close(read_db_);
  sqlite3_close(write_db_);
  ::close(lock_fd_);  // releases the data_dir lock
}

void SqliteStore::append_then(NewEvent event, AppendDone done) {
  if (event.id.empty()) event.id = new_id("evt");
  bool queued = hand_to_writer([&] {
    append_queue_.push_back({std::move(event), std::move(done), Error{"not committed"}});
  });
  if (!queued) done(Error{"the store is closing", ErrorKind::kUnavailable});
}

Expected<std::vector<LeasedDelivery>> SqliteStore::settle_and_lease(
    const std::vector<Settlement>& done, int64_t now_ms, int64_t lease_ms, int limit) {
  auto self = std::make_shared<PendingRound>();
  self->done_deliveries = &done;
  self->now_ms = now_ms;
  self->lease_ms = lease_ms;
  self->limit = limit;
  if (!hand_to_writer([&] { round_queue_.push_back(self); }))
    return Error{"the store is closing", ErrorKind::kUnavailable};
  std::unique_lock lock(self->mu);
  self->cv.wait(lock, [&] { return self->done; });
  return std::move(self->result);
}

bool SqliteStore::hand_to_writer(const std::function<void()>& enqueue) {
  std::lock_guard lock(queue_mu_);
  if (stopping_) return false;
  bool writer_idle = append_queue_.empty() && round_queue_.empty();
  enqueue();
  if (writer_idle) writer_cv_.notify_one();
  return true;
}

void SqliteStore::write_loop() {
  pthread_setname_np(pthread_self(), "crmh-writer");  // for top, perf and gdb
  std::vector<PendingAppend> appends;
  std::vector<std::shared_ptr<PendingRound>> rounds;
  std::unique_lock lock(queue_mu_);
  for (;;) {
    writer_cv_.wait(lock,
                    [&] { return stopping_ || !append_queue_.empty() || !round_queue_.empty(); });
    if (append_queue_.empty() && round_queue_.empty()) return;  // stopping, nothing left
    // Everything queued while the previous commit was written goes into this one.
    if (append_queue_.size() <= kMaxAppendBatch) {
      appends.swap(append_queue_);
    } else {
      appends.assign(std::make_move_iterator(append_queue_.begin()),
                     std::make_move_iterator(append_queue_.begin() + kMaxAppendBatch));
      append_queue_.erase(append_queue_.begin(), append_queue_.begin() + kMaxAppendBatch);
    }
    rounds.swap(round_queue_);
    lock.unlock();
    if (commit(appends, rounds)) deliveries_became_due();
    for (auto& p : appends) p.done(std::move(p.result));
    for (const auto& r : rounds) {
      {
        std::lock_guard done_lock(r->mu);
        r->done = true;
      }
      r->cv.notify_one();  // without the caller's lock held, so it does not block on it at once
    }
    appends.clear();
    rounds.clear();
    lock.lock();
  }
}

bool SqliteStore::commit(std::vector<PendingAppend>& appends,
                         const std::vector<std::shared_ptr<PendingRound>>& rounds) {
  auto fail_all = [&](const std::string& why) {
    for (auto& p : appends) p.result = Error{why, ErrorKind::kUnavailable};
    for (const auto& r : rounds) r->result = Error{why, ErrorKind::kUnavailable};
    return false;
  };
  std::lock_guard lock(write_mu_);
  auto& sql = *write_sql_;
  Transaction txn(sql);
  if (!txn.begun().ok()) return fail_all(txn.begun().error());
  bool wrote = !appends.empty();
  StatsTally tally;  // what this transaction changes in integration_stats
  if (wrote) {
    if (auto s = write_appends(appends, tally); !s.ok()) return fail_all(s.error());
  }
  for (const auto& r : rounds) {
    if (auto s = sql("SAVEPOINT round").run(); !s.ok()) return fail_all(s.error());
    StatsTally round_tally;
    r->result = write_round(*r, round_tally);
    if (!r->result.ok()) {
      if (auto s = sql("ROLLBACK TO round").run(); !s.ok()) return fail_all(s.error());
    } else {
      wrote = wrote || !r->done_deliveries->empty() || !r->result->empty();
      tally.merge(round_tally);
    }
    if (auto s = sql("RELEASE round").run(); !s.ok()) return fail_all(s.error());
  }
  if (!wrote) return false;  // an idle round: nothing to commit (the transaction rolls back)
  if (auto s = tally.write(sql); !s.ok()) return fail_all(s.error());
  if (auto c = txn.commit(); !c.ok()) return fail_all(c.error());
  for (const auto& p : appends)
    if (p.result.ok() && !p.result->repeated && p.result->deliveries > 0) return true;
  return false;
}

Status SqliteStore::write_appends(std::vector<PendingAppend>& batch, StatsTally& tally) {
  auto& sql = *write_sql_;
  for (auto& p : batch) {
    const NewEvent& e = p.event;
    if (!e.idempotency_key.empty()) {
      auto& seen = sql("SELECT id, deliveries FROM events WHERE tenant_id=? AND idempotency_key=?");
      seen.bind(1, e.tenant_id).bind(2, e.idempotency_key);
      int rc = seen.step();
      if (rc == SQLITE_ROW) {
        p.result = AppendResult{seen.text(0), static_cast<int>(seen.integer(1)), true};
        continue;
      }
      // A failed look-up must not be taken for "not seen": that would store a repeat.
      if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(write_db_), ErrorKind::kUnavailable};
    }
    AppendResult r{e.id, static_cast<int>(e.integration_ids.size()), false};
    auto& ins =
        sql("INSERT INTO events(id, tenant_id, idempotency_key, event_type, payload, received_at,"
            " deliveries) VALUES(?,?,?,?,?,?,?)");
    ins.bind(1, r.event_id).bind(2, e.tenant_id).bind(4, e.event_type).bind(5, e.payload);
    ins.bind(6, e.received_at_ms).bind(7, static_cast<int64_t>(r.deliveries));
    if (e.idempotency_key.empty())
      ins.bind_null(3);
    else
      ins.bind(3, e.idempotency_key);
    if (auto s = ins.run(); !s.ok()) return s;
    for (const auto& integration : e.integration_ids) {
      auto& d =
          sql("INSERT INTO deliveries(id, event_id, tenant_id, integration_id, status,"
              " next_attempt_at, created_at, updated_at) VALUES(?,?,?,?,'pending',?,?,?)");
      d.bind(1, new_id("dlv")).bind(2, r.event_id).bind(3, e.tenant_id).bind(4, integration);
      d.bind(5, e.received_at_ms).bind(6, e.received_at_ms).bind(7, e.received_at_ms);
      if (auto s = d.run(); !s.ok()) return s;
      tally.moved(e.tenant_id, integration, std::nullopt, DeliveryStatus::kPending);
    }
    p.result = r;
  }
  return ok_status();
}

Expected<std::vector<LeasedDelivery>> SqliteStore::write_round(const PendingRound& round,
                                                              StatsTally& tally) {
  auto& sql = *write_sql_;
  const int64_t now_ms = round.now_ms;
  for (const auto& s : *round.done_deliveries) {
    if (s.kind != Settlement::Kind::kPark) {
      auto& a =
          sql("INSERT INTO attempts(delivery_id, attempt, started_at, duration_ms, outcome,"
              " http_status, error, response) VALUES(?,?,?,?,?,?,?,?)");
      a.bind(1, s.delivery_id).bind(2, static_cast<int64_t>(s.attempt)).bind(3, s.started_at_ms);
      a.bind(4, s.duration_ms).bind(5, outcome_name(s.outcome)).bind(7, truncated(s.error));
      bind_or_null(a, 6, s.http_status);
      if (s.response.empty())
        a.bind_null(8);
      else
        a.bind(8, truncated(s.response, Store::kMaxResponseText));
      if (auto r = a.run(); !r.ok()) return r.failure();
    }
    const char* update = nullptr;
    DeliveryStatus to = DeliveryStatus::kPending;
    // ?8 = 1: only while leased, which is where a settled delivery is unless its lease expired
    // and was handed back; RETURNING names its integration for the figures.
    switch (s.kind) {
      case Settlement::Kind::kDelivered:
        update =
            "UPDATE deliveries SET status='delivered', attempts=?2, lease_until=NULL,"
            " last_http_status=?3, last_error=NULL, updated_at=?5, last_outcome=?7"
            " WHERE id=?1 AND (?8 = 0 OR status = 'leased') RETURNING tenant_id, integration_id";
        to = DeliveryStatus::kDelivered;
        break;
      case Settlement::Kind::kRetry:
        update =
            "UPDATE deliveries SET status='pending', attempts=?2, lease_until=NULL,"
            " last_http_status=?3, last_error=?4, updated_at=?5, next_attempt_at=?6,"
            " last_outcome=?7"
            " WHERE id=?1 AND (?8 = 0 OR status = 'leased') RETURNING tenant_id, integration_id";
        break;
      case Settlement::Kind::kDead:
        update =
            "UPDATE deliveries SET status='dead', attempts=?2, lease_until=NULL,"
            " last_http_status=?3, last_error=?4, updated_at=?5, last_outcome=?7"
            " WHERE id=?1 AND (?8 = 0 OR status = 'leased') RETURNING tenant_id, integration_id";
        to = DeliveryStatus::kDead;
        break;
      case Settlement::Kind::kPark:
        update =
            "UPDATE deliveries SET status='pending', lease_until=NULL, last_error=?4,"
            " updated_at=?5, next_attempt_at=?6"
            " WHERE id=?1 AND (?8 = 0 OR status = 'leased') RETURNING tenant_id, integration_id";
        break;
    }
    std::optional<DeliveryStatus> from = DeliveryStatus::kLeased;
    std::string tenant, integration;
    for (int only_leased = 1; only_leased >= 0; --only_leased) {
      if (!only_leased) {  // not leased any more: where is it?
        auto& was = sql("SELECT status FROM deliveries WHERE id=?");
        was.bind(1, s.delivery_id);
        int rc = was.step();
        if (rc == SQLITE_ROW) from = parse_delivery_status(was.text(0));
        was.reset();
        if (rc == SQLITE_DONE) return Error{"no delivery " + s.delivery_id, ErrorKind::kInternal};
        if (rc != SQLITE_ROW) return Error{sqlite3_errmsg(write_db_), ErrorKind::kUnavailable};
      }
      auto& u = sql(update);
      u.bind(1, s.delivery_id).bind(2, static_cast<int64_t>(s.attempt)).bind(4, truncated(s.error));
      u.bind(5, now_ms).bind(6, s.next_attempt_at_ms).bind(8, static_cast<int64_t>(only_leased));
      bind_or_null(u, 3, s.http_status);
      if (s.kind != Settlement::Kind::kPark) u.bind(7, outcome_name(s.outcome));
      int rc = u.step();
      if (rc == SQLITE_ROW) {
        tenant = u.text(0);
        integration = u.text(1);
        rc = u.step();
      }
      u.reset();
      if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(write_db_), ErrorKind::kUnavailable};
      if (!tenant.empty()) break;
    }
    tally.moved(tenant, integration, from, to);
    if (s.kind == Settlement::Kind::kDelivered)
      tally.succeeded(tenant, integration, now_ms);
    else if (s.kind != Settlement::Kind::kPark)
      tally.failed(tenant, integration, now_ms, std::string(outcome_name(s.outcome)),
                   s.http_status, truncated(s.error));
    if (s.kind == Settlement::Kind::kDead) {
      auto& dl =
          sql("INSERT INTO dead_letters(delivery_id, tenant_id, integration_id, reason, dead_at)"
              " SELECT id, tenant_id, integration_id, ?2, ?3 FROM deliveries WHERE id=?1");
      dl.bind(1, s.delivery_id).bind(2, truncated(s.dead_reason)).bind(3, now_ms);
      if (auto r = dl.run(); !r.ok()) return r.failure();
    }
  }

  std::vector<LeasedDelivery> leased;
  if (round.limit > 0) {
    auto& q = sql(
        "SELECT d.id, d.event_id, d.tenant_id, d.integration_id, e.event_type, e.payload,"
        " d.attempts FROM deliveries d JOIN events e ON e.id = d.event_id"
        " WHERE d.status='pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?");
    q.bind(1, now_ms).bind(2, static_cast<int64_t>(round.limit));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      leased.push_back({q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5),
                        static_cast<int>(q.integer(6)) + 1});
    }
    q.reset();
    if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(write_db_), ErrorKind::kUnavailable};
    for (const auto& d : leased) {
      auto& l = sql("UPDATE deliveries SET status='leased', lease_until=? WHERE id=?");
      l.bind(1, now_ms + round.lease_ms).bind(2, d.id);
      if (auto r = l.run(); !r.ok()) return r.failure();
      tally.moved(d.tenant_id, d.integration_id, DeliveryStatus::kPending, DeliveryStatus::kLeased);
    }
  }
  return leased;
}

Expected<int> SqliteStore::return_expired_leases(int64_t now_ms) {
  return return_leases(
      "UPDATE deliveries SET status='pending', lease_until=NULL, next_attempt_at=?1"
      " WHERE status='leased' AND lease_until < ?1 RETURNING tenant_id, integration_id",
      now_ms);
}

Expected<int> SqliteStore::release_all_leases() {
  return return_leases(
      "UPDATE deliveries SET status='pending', lease_until=NULL"
      " WHERE status='leased' AND ?1 = ?1 RETURNING tenant_id, integration_id",
      0);
}

Expected<int> SqliteStore::return_leases(const char* update, int64_t now_ms) {
  std::lock_guard lock(write_mu_);
  auto& sql = *write_sql_;
  Transaction txn(sql);
  if (!txn.begun().ok()) return txn.begun().failure();
  auto& u = sql(update);
  u.bind(1, now_ms);
  StatsTally tally;
  int returned = 0, rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    tally.moved(u.text(0), u.text(1), DeliveryStatus::kLeased, DeliveryStatus::kPending);
    ++returned;
  }
  u.reset();
  if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(write_db_), ErrorKind::kUnavailable};
  if (returned == 0) return 0;  // nothing to commit
  if (auto s = tally.write(sql); !s.ok()) return s.failure();
  if (auto c = txn.commit(); !c.ok()) return c.failure();
  return returned;
}

Expected<std::optional<int64_t>> SqliteStore::next_due_at_ms() {
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)("SELECT MIN(next_attempt_at) FROM deliveries WHERE status='pending'");
  std::optional<int64_t> due;
  int rc = q.step();
  if (rc == SQLITE_ROW && !q.is_null(0)) due = q.integer(0);
  q.reset();
  if (rc != SQLITE_ROW) return Error{sqlite3_errmsg(read_db_), ErrorKind::kUnavailable};
  return due;
}

Expected<std::vector<DeliveryView>> SqliteStore::list_deliveries(const DeliveryQuery& query) {
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)(
      "SELECT " CRMHOST_DELIVERY_VIEW_COLUMNS
      " FROM deliveries d JOIN events e ON e.id = d.event_id"
      " WHERE d.tenant_id = ?1 AND (?2 = '' OR d.status = ?2) AND (?3 = '' OR d.event_id = ?3)"
      " ORDER BY d.updated_at DESC, d.id LIMIT ?4");
  q.bind(1, query.tenant_id).bind(3, query.event_id);
  q.bind(2, query.status ? delivery_status_name(*query.status) : std::string_view(""));
  q.bind(4, static_cast<int64_t>(query.limit));
  std::vector<DeliveryView> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_view(q));
  q.reset();
  if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(read_db_), ErrorKind::kUnavailable};
  return out;
}

Status SqliteStore::replay(const std::string& tenant_id, const std::string& delivery_id,
                           int64_t now_ms) {
  {
    std::lock_guard lock(write_mu_);
    Transaction txn(*write_sql_);
    if (!txn.begun().ok()) return txn.begun().failure();
    auto& sql = *write_sql_;
    auto letter = dead_letter_of(tenant_id, delivery_id, "replayed");
    if (!letter.ok()) return letter.failure();
    // A replay starts a fresh attempt count; the attempts table keeps the history.
    auto& u =
        sql("UPDATE deliveries SET status='pending', attempts=0, next_attempt_at=?2, updated_at=?2"
            " WHERE id=?1");
    u.bind(1, delivery_id).bind(2, now_ms);
    if (auto r = u.run(); !r.ok()) return r.failure();
    auto& dl =
        sql("UPDATE dead_letters SET replayed_at=?2 WHERE delivery_id=?1 AND replayed_at IS NULL");
    dl.bind(1, delivery_id).bind(2, now_ms);
    if (auto r = dl.run(); !r.ok()) return r.failure();
    StatsTally tally;
    tally.moved(tenant_id, *letter, DeliveryStatus::kDead, DeliveryStatus::kPending);
    if (auto t = tally.write(sql); !t.ok()) return t;
    if (auto c = txn.commit(); !c.ok()) return c.failure();
  }
  deliveries_became_due();
  return ok_status();
}

Expected<std::string> SqliteStore::dead_letter_of(const std::string& tenant_id,
                                                  const std::string& delivery_id,
                                                  const char* verb) {
  auto& q = (*write_sql_)(
      "SELECT status, integration_id, discarded_at FROM deliveries WHERE id=? AND tenant_id=?");
  q.bind(1, delivery_id).bind(2, tenant_id);
  int rc = q.step();
  if (rc == SQLITE_DONE)
    return Error{"no delivery " + delivery_id + " for this tenant", ErrorKind::kNotFound};
  if (rc != SQLITE_ROW) return Error{sqlite3_errmsg(write_db_), ErrorKind::kUnavailable};
  const std::string status = q.text(0), integration = q.text(1);
  const bool discarded = !q.is_null(2);
  q.reset();
  if (status != delivery_status_name(DeliveryStatus::kDead))
    return Error{"delivery " + delivery_id + " is " + status + ", not a dead letter; only dead letters are " + verb,
                 ErrorKind::kConflict};
  if (discarded)
    return Error{"delivery " + delivery_id + " was discarded; a discarded dead letter is not " + verb,
                 ErrorKind::kConflict};
  return integration;
}

Status SqliteStore::discard(const std::string& tenant_id, const std::string& delivery_id,
                            const std::string& reason, int64_t now_ms) {
  std::lock_guard lock(write_mu_);
  auto& sql = *write_sql_;
  Transaction txn(sql);
  if (!txn.begun().ok()) return txn.begun().failure();
  auto letter = dead_letter_of(tenant_id, delivery_id, "discarded");
  if (!letter.ok()) return letter.failure();
  auto& u = sql(
      "UPDATE deliveries SET discarded_at=?2, discard_reason=?3, updated_at=?2 WHERE id=?1");
  u.bind(1, delivery_id).bind(2, now_ms).bind(3, truncated(reason));
  if (auto r = u.run(); !r.ok()) return r;
  StatsTally tally;
  tally.discarded(tenant_id, *letter);
  if (auto t = tally.write(sql); !t.ok()) return t;
  return txn.commit();
}

Expected<DeadLetterPage> SqliteStore::list_dead_letters(const DeadLetterQuery& query) {
  int64_t after_at = 0;
  std::string after_id;
  if (!query.after.empty() && !parse_cursor(query.after, &after_at, &after_id))
    return Error{"not a cursor this crmhost gave", ErrorKind::kBadInput};
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)(
      "SELECT " CRMHOST_DELIVERY_VIEW_COLUMNS
      " FROM deliveries d JOIN events e ON e.id = d.event_id"
      " WHERE d.tenant_id = ?1 AND d.status = 'dead' AND d.discarded_at IS NULL"
      " AND (?2 = '' OR d.integration_id = ?2) AND (?3 = '' OR e.event_type = ?3)"
      " AND (?4 = '' OR d.last_outcome = ?4) AND (?5 = 0 OR d.last_http_status = ?5)"
      " AND (?6 = 0 OR d.updated_at >= ?6) AND (?7 = 0 OR d.updated_at < ?7)"
      " AND (?8 = '' OR d.updated_at < ?9 OR (d.updated_at = ?9 AND d.id < ?8))"
      " ORDER BY d.updated_at DESC, d.id DESC LIMIT ?10");
  q.bind(1, query.tenant_id).bind(2, query.integration_id).bind(3, query.event_type);
  q.bind(4, query.outcome).bind(5, static_cast<int64_t>(query.http_status));
  q.bind(6, query.from_ms).bind(7, query.to_ms).bind(8, after_id).bind(9, after_at);
  q.bind(10, static_cast<int64_t>(query.limit) + 1);  // one more: is there a next page?
  DeadLetterPage page;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) page.letters.push_back(read_view(q));
  q.reset();
  if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(read_db_), ErrorKind::kUnavailable};
  if (page.letters.size() > static_cast<size_t>(query.limit)) {
    page.letters.pop_back();
    page.next = cursor_of(page.letters.back());
  }
  return page;
}

Expected<DeliveryDetail> SqliteStore::delivery_detail(const std::string& tenant_id,
                                                      const std::string& delivery_id) {
  std::lock_guard lock(read_mu_);
  auto& sql = *read_sql_;
  DeliveryDetail detail;
  {
    auto& q = sql("SELECT " CRMHOST_DELIVERY_VIEW_COLUMNS ", e.payload, e.received_at"
                  " FROM deliveries d JOIN events e ON e.id = d.event_id"
                  " WHERE d.id = ?1 AND d.tenant_id = ?2");
    q.bind(1, delivery_id).bind(2, tenant_id);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      q.reset();
      return Error{"no delivery " + delivery_id + " for this tenant", ErrorKind::kNotFound};
    }
    if (rc != SQLITE_ROW) {
      q.reset();
      return Error{sqlite3_errmsg(read_db_), ErrorKind::kUnavailable};
    }
    detail.delivery = read_view(q);
    detail.payload = q.text(15);
    detail.received_at_ms = q.integer(16);
    q.reset();
  }
  auto& a = sql(
      "SELECT attempt, started_at, duration_ms, outcome, http_status, error, response"
      " FROM attempts WHERE delivery_id = ? ORDER BY id");
  a.bind(1, delivery_id);
  int rc;
  while ((rc = a.step()) == SQLITE_ROW) {
    detail.attempts.push_back({static_cast<int>(a.integer(0)), a.integer(1), a.integer(2),
                               a.text(3), static_cast<int>(a.integer(4)), a.text(5), a.text(6)});
  }
  a.reset();
  if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(read_db_), ErrorKind::kUnavailable};
  return detail;
}

Expected<std::vector<IntegrationStats>> SqliteStore::integration_stats(
    const std::string& tenant_id) {
  std::lock_guard lock(read_mu_);
  auto& sql = *read_sql_;
  auto& q = sql(
      "SELECT tenant_id, integration_id, pending, leased, delivered, dead, discarded,"
      " last_success_at, last_error_at, last_error_outcome, last_error_http_status, last_error"
      " FROM integration_stats WHERE ?1 = '' OR tenant_id = ?1 ORDER BY tenant_id, integration_id");
  q.bind(1, tenant_id);
  std::vector<IntegrationStats> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    IntegrationStats st;
    st.tenant_id = q.text(0);
    st.integration_id = q.text(1);
    st.pending = q.integer(2);
    st.leased = q.integer(3);
    st.delivered = q.integer(4);
    st.dead = q.integer(5);
    st.discarded = q.integer(6);
    st.last_success_at_ms = q.integer(7);
    st.last_error_at_ms = q.integer(8);
    st.last_error_outcome = q.text(9);
    st.last_error_http_status = static_cast<int>(q.integer(10));
    st.last_error = q.text(11);
    out.push_back(std::move(st));
  }
  q.reset();
  if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(read_db_), ErrorKind::kUnavailable};
  for (auto& st : out) {
    if (st.pending == 0) continue;
    auto& age = sql(
        "SELECT MIN(created_at) FROM deliveries WHERE status = 'pending' AND tenant_id = ?1"
        " AND integration_id = ?2");
    age.bind(1, st.tenant_id).bind(2, st.integration_id);
    rc = age.step();
    if (rc == SQLITE_ROW) st.oldest_pending_at_ms = age.integer(0);
    age.reset();
    if (rc != SQLITE_ROW) return Error{sqlite3_errmsg(read_db_), ErrorKind::kUnavailable};
  }
  return out;
}

Expected<std::optional<DeliveryView>> SqliteStore::stalled_delivery(int64_t due_before_ms) {
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)(
      "SELECT " CRMHOST_DELIVERY_VIEW_COLUMNS
      " FROM deliveries d JOIN events e ON e.id = d.event_id"
      " WHERE d.status = 'pending' AND d.next_attempt_at < ?1"
      " ORDER BY d.next_attempt_at LIMIT 1");
  q.bind(1, due_before_ms);
  std::optional<DeliveryView> stalled;
  int rc = q.step();
  if (rc == SQLITE_ROW) stalled = read_view(q);
  q.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return Error{sqlite3_errmsg(read_db_), ErrorKind::kUnavailable};
  return stalled;
}

}  // namespace crmhost
