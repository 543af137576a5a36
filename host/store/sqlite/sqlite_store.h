// The embedded store engine: one SQLite database in WAL mode, data_dir/crmhost.db, serving one
// host.
//
// Single host: open() first takes an advisory lock on data_dir/crmhost.lock (a second crmhost on
// the same data_dir would hand out the same leases, or migrate the schema under a running one),
// and only then opens and migrates the database; every lease found at open is from a dead run
// and is released.
//
// Durability (`durability`): by default `synchronous=FULL` — every commit fsyncs the WAL before
// it returns, so an event is on disk when POST /v1/events answers 202 and survives power loss,
// not just a crash. The cost of one fsync per commit is shared: one writer thread commits every
// append that queued while its previous commit was being written (group commit), and the
// dispatcher's round (settle finished deliveries, lease due ones) rides in the same transaction.
// Under `full` the connections use the wal_write_batching VFS, so a commit's WAL frames reach
// the file in one write rather than two per page. `normal` (WAL, synchronous=NORMAL) skips the
// per-commit fsync: a crash of crmhost loses nothing, a power loss may lose the last commits.
//
// Thread-safety: every method may be called from any thread. Writes are serialized on one
// connection (write_mu_); reads use a second connection (read_mu_) and see the last commit.
// The store owns its writer thread, started by open() and joined by the destructor after it
// has committed whatever was queued; it owns the data_dir lock until then.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "store/config_store.h"
#include "store/store.h"

struct sqlite3;

namespace crmhost {

class StatementCache;
class StatsTally;

class SqliteStore final : public Store, public ConfigStore {
 public:
  enum class Sync { kFull, kNormal };
  // Locks data_dir, then opens (creating if needed) data_dir/crmhost.db, applies pending schema
  // migrations and releases the leases of a previous run. kUnavailable when another crmhost holds
  // data_dir.
  static Expected<std::unique_ptr<SqliteStore>> open(const std::string& data_dir,
                                                     Sync sync = Sync::kFull);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void append_then(NewEvent event, AppendDone done) override;
  Expected<std::vector<LeasedDelivery>> settle_and_lease(const std::vector<Settlement>& done,
                                                        int64_t now_ms, int64_t lease_ms,
                                                        int limit) override;
  Expected<int> return_expired_leases(int64_t now_ms) override;
  Expected<std::optional<int64_t>> next_due_at_ms() override;
  Expected<std::vector<DeliveryView>> list_deliveries(const DeliveryQuery& query) override;
  Status replay(const std::string& tenant_id, const std::string& delivery_id,
                int64_t now_ms) override;
  Expected<DeadLetterPage> list_dead_letters(const DeadLetterQuery& query) override;
  Expected<DeliveryDetail> delivery_detail(const std::string& tenant_id,
                                           const std::string& delivery_id) override;
  Status discard(const std::string& tenant_id, const std::string& delivery_id,
                 const std::string& reason, int64_t now_ms) override;
  Expected<std::vector<IntegrationStats>> integration_stats(const std::string& tenant_id) override;
  Expected<std::optional<DeliveryView>> stalled_delivery(int64_t due_before_ms) override;

  Expected<std::vector<StoredTenant>> load_tenants() override;
  Expected<std::vector<StoredIntegration>> load_integrations() override;
  Status create_tenant(const StoredTenant& tenant, const AuditEntry& audit) override;
  Status delete_tenant(const std::string& tenant_id, const AuditEntry& audit) override;
  Expected<std::vector<ApiKeyRecord>> api_keys(const std::string& tenant_id) override;
  Status add_api_key(const std::string& tenant_id, const ApiKeyRecord& key,
                     const AuditEntry& audit) override;
  Status remove_api_key(const std::string& tenant_id, const std::string& key_id,
                        const AuditEntry& audit) override;
  Status put_integration(const StoredIntegration& integration,
                         const std::vector<SealedSecret>& secrets, bool create,
                         const AuditEntry& audit) override;
  Status delete_integration(const IntegrationKey& key, const AuditEntry& audit) override;
  Status put_secret(const IntegrationKey& key, const SealedSecret& secret, int64_t now_ms,
                    const AuditEntry* audit) override;
  Expected<std::vector<SealedSecret>> secrets_of(const IntegrationKey& key) override;
  Expected<std::vector<std::pair<IntegrationKey, SealedSecret>>> all_secrets() override;
  Status reseal_secrets(const std::vector<Reseal>& reseals, const AuditEntry& audit) override;
  Status record(const AuditEntry& audit) override;
  Expected<AuditPage> audit_entries(const AuditQuery& query) override;

  // How many leases open() found and released (deliveries in flight when the last run stopped).
  int leases_released_at_open() const { return leases_released_at_open_; }

 private:
  struct PendingAppend;
  struct PendingRound;
  SqliteStore(int lock_fd, sqlite3* write_db, sqlite3* read_db);
  Expected<int> release_all_leases();
  // Runs `update` (leased rows back to pending, RETURNING their tenant and integration; ?1 =
  // now_ms) in a transaction with its figures. Returns how many.
  Expected<int> return_leases(const char* update, int64_t now_ms);
  // The integration of `tenant_id`'s dead letter `delivery_id`, read on the write connection
  // inside the caller's transaction (requires write_mu_); kNotFound or kConflict, naming `verb`.
  Expected<std::string> dead_letter_of(const std::string& tenant_id,
                                       const std::string& delivery_id, const char* verb);
  // Runs `enqueue` under queue_mu_ and wakes the writer if it was idle; false, and nothing
  // queued, once the store is closing.
  bool hand_to_writer(const std::function<void()>& enqueue);
  void write_loop();  // the writer thread
  // One transaction for a batch of appends and rounds; sets each one's result. Returns whether
  // the commit made deliveries due. Requires that the caller is the writer thread.
  bool commit(std::vector<PendingAppend>& appends,
              const std::vector<std::shared_ptr<PendingRound>>& rounds);
  Status write_appends(std::vector<PendingAppend>& appends, StatsTally& tally);
  // Writes `audit` inside the caller's transaction; requires write_mu_.
  Status write_audit(const AuditEntry& audit);
  // Runs `change` in a transaction of its own on the write connection, then its audit entry.
  Status change(const AuditEntry& audit, const std::function<Status(StatementCache&)>& change);
  // Both add what they change in integration_stats to `tally`.
  Expected<std::vector<LeasedDelivery>> write_round(const PendingRound& round, StatsTally& tally);

  int lock_fd_;  // holds the flock on data_dir/crmhost.lock until the destructor
  int leases_released_at_open_ = 0;
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
