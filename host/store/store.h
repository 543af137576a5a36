// The durable outbox, as the rest of the host sees it: events, their deliveries (one per
// subscribed integration), every attempt, and dead letters. An interface, so that the delivery,
// ingress and admin code do not know which engine serves them: the embedded SQLite engine
// (store/sqlite/) today, PostgreSQL next. Every engine passes the contract suite in
// tests/host/store/store_contract_test.cpp.
//
// What every engine promises:
// - append/append_then return only once the event and all its deliveries are durable (per the
//   engine's durability setting), and an idempotency key repeated for the same tenant creates
//   nothing and answers the first result again;
// - settle_and_lease records outcomes and leases due deliveries atomically; a delivery is leased
//   to one caller at a time, and an expired lease is handed out again by return_expired_leases;
// - every read and write of a tenant's data names the tenant and touches nothing of another's;
// - after a commit that made deliveries due (an append with deliveries, a replay), the engine
//   calls the listener set with on_deliveries_due, so that the dispatcher needs no poll.
// Errors carry a kind (common/expected.h): kNotFound and kConflict for what the caller asked,
// kUnavailable when the engine cannot read or commit right now.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "common/outcome.h"

namespace crmhost {

// Where a delivery is in its life. Stored by each engine as delivery_status_name().
enum class DeliveryStatus {
  kPending,    // waiting for its next attempt (next_attempt_at)
  kLeased,     // an attempt is in flight right now
  kDelivered,  // the CRM accepted it
  kDead,       // a dead letter: given up on, or refused for good; an operator may replay it
};
std::string_view delivery_status_name(DeliveryStatus status);
std::optional<DeliveryStatus> parse_delivery_status(std::string_view name);

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
  Outcome outcome = Outcome::kRetry;  // for the attempts table (not with kPark)
  int http_status = 0;
  std::string error;     // truncated to Store::kMaxErrorText
  int64_t next_attempt_at_ms = 0;  // with kRetry and kPark
  std::string dead_reason;         // with kDead
};

struct DeliveryView {
  std::string id, event_id, tenant_id, integration_id, event_type;
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;
  int last_http_status = 0;
  std::string last_error, dead_reason;
  int64_t next_attempt_at_ms = 0, updated_at_ms = 0;
};

struct DeliveryQuery {
  std::string tenant_id;  // required: every read is tenant-scoped
  std::optional<DeliveryStatus> status;  // none = any
  std::string event_id;   // empty = any
  int limit = 100;
};

class Store {
 public:
  static constexpr size_t kMaxErrorText = 512;

  virtual ~Store() = default;

  // Durably records an event and its deliveries; concurrent callers share one commit.
  virtual Expected<AppendResult> append(const NewEvent& event);
  // The same without waiting: queues `event` for the next commit and returns. `done` gets what
  // append() would have returned, once: on the engine's thread right after the commit, or at once
  // on the caller's thread if the store is closing. It runs while the commit's other callers wait
  // for theirs, so it must be quick, and it must not call the store.
  using AppendDone = std::function<void(Expected<AppendResult>)>;
  virtual void append_then(NewEvent event, AppendDone done) = 0;

  // Atomically records what happened to finished deliveries, then leases up to `limit` due ones
  // (pending, next_attempt_at <= now) until now + lease_ms. A failed round changes nothing.
  virtual Expected<std::vector<LeasedDelivery>> settle_and_lease(
      const std::vector<Settlement>& done, int64_t now_ms, int64_t lease_ms, int limit) = 0;
  // Returns leases that expired (a worker or host died) to pending. Returns how many.
  virtual Expected<int> return_expired_leases(int64_t now_ms) = 0;
  // Earliest next_attempt_at of a pending delivery, if any.
  virtual Expected<std::optional<int64_t>> next_due_at_ms() = 0;

  virtual Expected<std::vector<DeliveryView>> list_deliveries(const DeliveryQuery& query) = 0;
  // Makes a dead delivery of `tenant_id` pending again with a fresh attempt count. kNotFound when
  // the tenant has no such delivery, kConflict when it is not dead.
  virtual Status replay(const std::string& tenant_id, const std::string& delivery_id,
                        int64_t now_ms) = 0;

  // `due` is called (by the thread that committed, after the commit) whenever deliveries became due
  // now; it must be quick and must not call the store. nullptr stops the calls: whoever set it
  // clears it before `due`'s target goes away (the store's writer may still commit then).
  void on_deliveries_due(std::function<void()> due) {
    std::lock_guard lock(due_mu_);
    deliveries_due_ = std::move(due);
  }

 protected:
  void deliveries_became_due() {
    std::lock_guard lock(due_mu_);
    if (deliveries_due_) deliveries_due_();
  }

 private:
  std::mutex due_mu_;  // guards deliveries_due_
  std::function<void()> deliveries_due_;
};

}  // namespace crmhost
