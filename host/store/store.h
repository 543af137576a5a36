// The durable outbox: events, their deliveries (one per subscribed integration), every attempt,
// and dead letters, in one SQLite database in WAL mode.
//
// Durability (config `durability`): by default `synchronous=FULL` — every commit fsyncs the WAL
// before it returns, so an event is on disk when POST /v1/events answers 202 and survives power
// loss, not just a crash. The cost of one fsync per commit is shared: one writer thread commits
// every append that queued while its previous commit was being written (group commit), and the
// dispatcher's round (settle finished deliveries, lease due ones) rides in the same transaction.
// Under `full` the connections use the wal_write_batching VFS, so a commit's WAL frames reach
// the file in one write rather than two per page. `normal` (WAL, synchronous=NORMAL) skips the
// per-commit fsync: a crash of crmhost loses nothing, a power loss may lose the last commits.
//
// Thread-safety: every method may be called from any thread. Writes are serialized on one
// connection (write_mu_); reads use a second connection (read_mu_) and see the last commit.
// The Store owns its writer thread, started by open() and joined by the destructor after it
// has committed whatever was queued.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <crmhost/adapter.h>

#include "common/expected.h"
#include "store/sqlite_statement.h"

namespace crmhost {

struct NewEvent {
  std::string tenant_id;
  std::string idempotency_key;  // empty = none
  std::string event_type;
  std::string payload;          // the request body, as received
  std::vector<std::string> integration_ids;  // one delivery each
  int64_t received_at_ms = 0;
  std::string id;  // empty = the store makes one
};

struct AppendResult {
  std::string event_id;
  int deliveries = 0;
  bool repeated = false;  // the idempotency key was seen before; nothing new was created
};

// A delivery handed to a worker. `attempt` is the number this attempt will carry (1-based).
struct LeasedDelivery {
  std::string id, event_id, tenant_id, integration_id, event_type, payload;
  int attempt = 0;
};

// What became of one leased delivery.
struct Settlement {
  enum class Kind { kDelivered, kRetry, kDead, kPark };  // kPark: no attempt was made
  std::string delivery_id;
  Kind kind = Kind::kRetry;
  int attempt = 0;
  int64_t started_at_ms = 0, duration_ms = 0;
  std::string outcome;  // outcome name, for the attempts table
  int http_status = 0;
  std::string error;     // truncated to kMaxErrorText
  int64_t next_attempt_at_ms = 0;  // with kRetry and kPark
  std::string dead_reason;         // with kDead
};

struct DeliveryView {
  std::string id, event_id, tenant_id, integration_id, event_type, status;
  int attempts = 0;
  int last_http_status = 0;
  std::string last_error, dead_reason;
  int64_t next_attempt_at_ms = 0, updated_at_ms = 0;
};

struct DeliveryQuery {
  std::string tenant_id;  // required: every read is tenant-scoped
  std::string status;     // empty = any
  std::string event_id;   // empty = any
  int limit = 100;
};

enum class ReplayResult { kReplayed, kNotFound, kNotDead };

class Store {
 public:
  static constexpr size_t kMaxErrorText = 512;

  // Opens (creating if needed) data_dir/crmhost.db and applies pending schema migrations.
  enum class Sync { kFull, kNormal };
  static Expected<std::unique_ptr<Store>> open(const std::string& data_dir, Sync sync = Sync::kFull);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Durably records an event and its deliveries; concurrent callers share one commit.
  Expected<AppendResult> append(const NewEvent& event);
  // The same without waiting: queues `event` for the next commit and returns. `done` gets what
  // append() would have returned, once: on the writer thread right after the commit, or at once
  // on the caller's thread if the store is closing. It runs while the commit's other callers wait
  // for theirs, so it must be quick, and it must not call the store.
  using AppendDone = std::function<void(Expected<AppendResult>)>;
  void append_then(NewEvent event, AppendDone done);

  // Atomically records what happened to finished deliveries, then leases up to `limit` due ones
  // (status pending, next_attempt_at <= now) until now + lease_ms. Shares the commit of the
  // appends queued with it; a failed round is rolled back alone (a savepoint).
  Expected<std::vector<LeasedDelivery>> settle_and_lease(const std::vector<Settlement>& done,
                                                        int64_t now_ms, int64_t lease_ms,
                                                        int limit);
  // Returns leases that expired (a worker or host died) to pending. Returns how many.
  Expected<int> return_expired_leases(int64_t now_ms);
  // At start on the embedded store this host is the only one: every lease is from a dead run.
  Expected<int> release_all_leases();
  // Earliest next_attempt_at of a pending delivery, if any.
  Expected<std::optional<int64_t>> next_due_at_ms();

  Expected<std::vector<DeliveryView>> list_deliveries(const DeliveryQuery& query);
  Expected<ReplayResult> replay(const std::string& tenant_id, const std::string& delivery_id,
                                int64_t now_ms);

 private:
  struct PendingAppend;
  struct PendingRound;
  Store(sqlite3* write_db, sqlite3* read_db);
  // Runs `enqueue` under queue_mu_ and wakes the writer if it was idle; false, and nothing
  // queued, once the store is closing.
  bool hand_to_writer(const std::function<void()>& enqueue);
  void write_loop();  // the writer thread
  // One transaction for a batch of appends and rounds; sets each one's result. Requires that
  // the caller is the writer thread.
  void commit(std::vector<PendingAppend>& appends,
              const std::vector<std::shared_ptr<PendingRound>>& rounds);
  Status write_appends(std::vector<PendingAppend>& appends);
  Expected<std::vector<LeasedDelivery>> write_round(const PendingRound& round);

  std::mutex write_mu_;  // guards write_db_ and write_sql_
  sqlite3* write_db_;
  std::unique_ptr<StatementCache> write_sql_;
  std::mutex read_mu_;   // guards read_db_ and read_sql_
  sqlite3* read_db_;
  std::unique_ptr<StatementCache> read_sql_;

  std::mutex queue_mu_;  // guards the queues and stopping_
  std::condition_variable writer_cv_;  // something was queued, or stopping_
  std::vector<PendingAppend> append_queue_;
  std::vector<std::shared_ptr<PendingRound>> round_queue_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace crmhost
