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
  std::string response;  // the CRM's last answer when the attempt failed, redacted; truncated
                         // to Store::kMaxResponseText
};

struct DeliveryView {
  std::string id, event_id, tenant_id, integration_id, event_type;
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;
  int last_http_status = 0;
  std::string last_outcome;  // of the last attempt; empty before the first
  std::string last_error, dead_reason;
  int64_t next_attempt_at_ms = 0, updated_at_ms = 0;
  int64_t discarded_at_ms = 0;  // a dead letter an operator discarded; 0 = not
  std::string discard_reason;
};

// One attempt of a delivery, as the attempts table keeps it.
struct AttemptView {
  int attempt = 0;
  int64_t started_at_ms = 0, duration_ms = 0;
  std::string outcome;
  int http_status = 0;
  std::string error, response;
};

// A delivery with what an operator needs to judge it: the event as received and every attempt.
struct DeliveryDetail {
  DeliveryView delivery;
  std::string payload;
  int64_t received_at_ms = 0;
  std::vector<AttemptView> attempts;  // oldest first
};

// Dead letters waiting for an operator (dead, not discarded), newest first. Every filter is
// optional but the tenant.
struct DeadLetterQuery {
  std::string tenant_id;  // required
  std::string integration_id, event_type, outcome;
  int http_status = 0;
  int64_t from_ms = 0, to_ms = 0;  // when they died: [from, to); 0 = open
  std::string after;  // a page's `next` cursor; empty = from the newest
  int limit = 100;
};
struct DeadLetterPage {
  std::vector<DeliveryView> letters;
  std::string next;  // the cursor of the page after this one; empty = this was the last
};

// The figures of one integration's sync, kept up to date by the store as deliveries change state
// (never counted by a scan), plus the age of its oldest pending delivery (an index seek).
struct IntegrationStats {
  std::string tenant_id, integration_id;
  int64_t pending = 0, leased = 0, delivered = 0, dead = 0, discarded = 0;  // dead excludes discarded
  int64_t last_success_at_ms = 0;  // 0 = never
  int64_t last_error_at_ms = 0;    // 0 = never
  std::string last_error_outcome, last_error;
  int last_error_http_status = 0;
  int64_t oldest_pending_at_ms = 0;  // created_at of the oldest pending delivery; 0 = none
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
  static constexpr size_t kMaxResponseText = 4096;

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

  // Dead letters of one tenant, filtered, a page at a time. kBadInput for a cursor it did not make.
  virtual Expected<DeadLetterPage> list_dead_letters(const DeadLetterQuery& query) = 0;
  // One delivery of `tenant_id` with its event and attempts; kNotFound for another's or none.
  virtual Expected<DeliveryDetail> delivery_detail(const std::string& tenant_id,
                                                   const std::string& delivery_id) = 0;
  // Sets a dead letter aside for good, with the operator's reason: it leaves the dead letters
  // and is never attempted again. kNotFound as replay; kConflict when it is not a dead letter.
  virtual Status discard(const std::string& tenant_id, const std::string& delivery_id,
                         const std::string& reason, int64_t now_ms) = 0;
  // The sync figures of every integration of `tenant_id` that ever had a delivery (empty tenant:
  // of every tenant), by tenant and integration.
  virtual Expected<std::vector<IntegrationStats>> integration_stats(
      const std::string& tenant_id) = 0;
  // The pending delivery whose attempt has been due the longest, if one has been due since before
  // `due_before_ms`: a stalled queue (GET /readyz).
  virtual Expected<std::optional<DeliveryView>> stalled_delivery(int64_t due_before_ms) = 0;

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
