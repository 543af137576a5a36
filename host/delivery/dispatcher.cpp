#include "delivery/dispatcher.h"

#include <Poco/Logger.h>

#include <pthread.h>

#include <algorithm>

#include "common/log_context.h"
#include "plugins/credentialed_call.h"
#include "plugins/host_services.h"

namespace crmhost {

// A worker thread's slot. Shared between the thread and the dispatcher so that an abandoned
// thread can still read its own flag after the dispatcher has let go of it.
struct Dispatcher::Worker {
  std::thread thread;
  std::atomic<bool> abandoned{false};  // set under mu_; read without it by the worker
  // Guarded by mu_:
  bool busy = false;
  LeasedDelivery current;
  int64_t deadline_ms = 0;  // monotonic; meaningful while busy
};

namespace {

crmh_str view(const std::string& s) { return {s.data(), s.size()}; }

constexpr int64_t kIdleWaitMs = 1000;
constexpr int64_t kWatchdogTickMs = 100;
// A throttled integration waits at least this long, even when the CRM named no Retry-After.
constexpr int64_t kMinRateLimitPauseMs = 1000;
// Every round is written by the store's one writer, in a commit that ingest's appends wait on:
// under load, rounds are spaced this far apart so that each settles and leases many deliveries
// at once. An idle dispatcher still answers a wake at once.
constexpr auto kRoundSpacing = std::chrono::milliseconds(10);

Poco::Logger& logger() { return Poco::Logger::get("crmhost.delivery"); }

// Names the calling thread (at most 15 characters) so top, perf and gdb tell the roles apart.
void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

// A delivery's fields in the log lines written while a worker attempts it.
class DeliveryLogFields final : public LogSource {
 public:
  explicit DeliveryLogFields(const LeasedDelivery& d) : d_(d) {}
  void fields(std::vector<LogField>* out) const override {
    out->push_back({"delivery_id", d_.id});
    out->push_back({"event_id", d_.event_id});
    out->push_back({"tenant", d_.tenant_id});
    out->push_back({"integration", d_.integration_id});
    out->push_back({"attempt", std::to_string(d_.attempt)});
  }

 private:
  const LeasedDelivery& d_;
};

}  // namespace

Dispatcher::Dispatcher(Store& store, AdapterRegistry& registry, const RetryPolicy& policy,
                       const Clock& clock, HttpTransportFactory transports,
                       DispatcherSettings settings, Metrics& metrics)
    : store_(store),
      registry_(registry),
      policy_(policy),
      clock_(clock),
      transports_(std::move(transports)),
      settings_(settings),
      metrics_(metrics),
      // Leased-ahead deliveries keep workers busy through a commit; 32 per worker lets one round
      // settle and lease a few hundred.
      max_in_flight_(settings.workers * 32),
      failures_(logger(), settings.failure_summary_ms) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start_worker() {
  auto w = std::make_shared<Worker>();
  ++running_workers_;
  w->thread = std::thread([this, w] { worker_loop(w); });
  workers_.push_back(std::move(w));
}

void Dispatcher::start() {
  {
    std::lock_guard lock(mu_);
    for (int i = 0; i < settings_.workers; ++i) start_worker();
  }
  dispatcher_ = std::thread([this] { dispatch_loop(); });
}

void Dispatcher::stop() {
  if (!dispatcher_.joinable()) return;
  std::vector<std::shared_ptr<Worker>> workers;
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    worker_cv_.notify_all();
    // The dispatcher keeps abandoning calls that overrun, so this wait is bounded by the
    // deadline plus the margin even when an adapter never returns.
    stopped_cv_.wait(lock, [&] { return running_workers_ == 0; });
    workers_done_ = true;
    workers.swap(workers_);
  }
  for (auto& w : workers) w->thread.join();
  dispatcher_cv_.notify_all();
  dispatcher_.join();
}

void Dispatcher::wake() {
  bool wanted;
  {
    std::lock_guard lock(mu_);
    woken_ = true;
    wanted = dispatcher_awaits_work_;
  }
  if (wanted) dispatcher_cv_.notify_one();
}

int64_t Dispatcher::wait_budget_ms(int64_t now_ms) {
  auto due = store_.next_due_at_ms();
  if (!due.ok() || !due->has_value()) return kIdleWaitMs;
  return std::clamp<int64_t>(**due - now_ms, 0, kIdleWaitMs);
}

void Dispatcher::abandon_overrunning_calls() {
  int64_t now = clock_.monotonic_ms();
  for (size_t i = 0; i < workers_.size();) {
    auto w = workers_[i];
    if (!w->busy || now <= w->deadline_ms + settings_.overrun_margin_ms) {
      ++i;
      continue;
    }
    const LeasedDelivery& d = w->current;
    IntegrationKey key{d.tenant_id, d.integration_id};
    std::string message = "abandoned: the adapter call overran its deadline by more than " +
                          std::to_string(settings_.overrun_margin_ms) + " ms";
    logger().error("[" + key.log_name() + "] " + d.id + " attempt " + std::to_string(d.attempt) + ": " + message);
    Settlement s = settle(d, CRMH_RETRY, 0, 0, message, key.log_name());
    s.started_at_ms = clock_.wall_ms() - (now - (w->deadline_ms - settings_.deliver_timeout_ms));
    s.duration_ms = now - (w->deadline_ms - settings_.deliver_timeout_ms);
    completions_.push_back({std::move(s), std::move(key), true});
    w->abandoned = true;
    w->thread.detach();  // it exits on its own once the adapter returns, if ever
    workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(i));
    --running_workers_;
    if (!stopping_) start_worker();
    stopped_cv_.notify_all();
  }
}

void Dispatcher::apply_overruns(const std::vector<Completion>& done) {
  for (const auto& c : done) {
    if (!c.overrun) {
      if (c.settlement.kind != Settlement::Kind::kPark) overruns_.erase(c.integration);
      continue;
    }
    if (int& count = overruns_[c.integration]; ++count >= settings_.suspend_after_overruns) {
      registry_.suspend(c.integration, std::to_string(count) +
                                           " calls in a row overran the deadline; reload the"
                                           " adapter to resume");
      overruns_.erase(c.integration);
    }
  }
}

void Dispatcher::dispatch_loop() {
  name_this_thread("crmh-dispatch");
  int64_t next_sweep_ms = 0;
  std::vector<Completion> done;
  auto round_started = std::chrono::steady_clock::now();
  for (;;) {
    int capacity;
    bool stopping;
    {
      std::lock_guard lock(mu_);
      abandon_overrunning_calls();
      for (auto& c : completions_) done.push_back(std::move(c));
      completions_.clear();
      stopping = workers_done_;  // the last round: every outcome is in
      // The outcomes settled in this round's transaction free their places in it.
      capacity = stopping_ ? 0 : max_in_flight_ - in_flight_ + static_cast<int>(done.size());
      woken_ = false;
    }
    apply_overruns(done);
    round_started = std::chrono::steady_clock::now();
    int64_t now = clock_.wall_ms();
    failures_.flush(now, stopping);
    if (now >= next_sweep_ms && capacity > 0) {
      auto returned = store_.return_expired_leases(now);
      if (returned.ok() && *returned > 0)
        logger().warning(std::to_string(*returned) + " expired leases returned to pending");
      next_sweep_ms = now + std::max<int64_t>(settings_.lease_ms / 4, 100);
    }
    std::vector<Settlement> settlements;
    settlements.reserve(done.size());
    for (const auto& c : done) settlements.push_back(c.settlement);
    auto leased = store_.settle_and_lease(settlements, now, settings_.lease_ms, std::max(capacity, 0));
    if (!leased.ok()) {
      // The outcomes stay in `done` and are recorded on the next round.
      logger().error("store: " + leased.error());
      std::unique_lock lock(mu_);
      dispatcher_cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (workers_done_) return;
      continue;
    }
    bool busy;
    {
      std::lock_guard lock(mu_);
      in_flight_ += static_cast<int>(leased->size()) - static_cast<int>(done.size());
      for (auto& d : *leased) queue_.push_back(std::move(d));
      busy = in_flight_ > 0;
    }
    done.clear();
    if (!leased->empty()) worker_cv_.notify_all();
    if (stopping) return;
    // A full lease round may have left more due work: go again at once.
    if (capacity > 0 && static_cast<int>(leased->size()) == capacity) continue;

    int64_t budget = capacity > 0 ? wait_budget_ms(now) : kIdleWaitMs;
    if (busy) budget = std::min(budget, kWatchdogTickMs);  // calls in flight: keep watching them
    std::unique_lock lock(mu_);
    dispatcher_awaits_work_ = true;
    dispatcher_cv_.wait_for(lock, std::chrono::milliseconds(budget), [&] {
      return woken_ || !completions_.empty() || workers_done_;
    });
    // What arrives from here on is taken by the next round anyway: nobody wakes the dispatcher
    // for it (a wake per completion was a context switch per delivery).
    dispatcher_awaits_work_ = false;
    dispatcher_cv_.wait_until(lock, round_started + kRoundSpacing, [&] { return workers_done_; });
  }
}

void Dispatcher::worker_loop(std::shared_ptr<Worker> self) {
  name_this_thread("crmh-deliver");
  std::unique_ptr<HttpTransport> http = transports_();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      worker_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        --running_workers_;
        stopped_cv_.notify_all();
        return;
      }
      self->current = std::move(queue_.front());
      queue_.pop_front();
      self->busy = true;
      self->deadline_ms = clock_.monotonic_ms() + settings_.deliver_timeout_ms;
    }
    // Written only by this thread under mu_ while not busy; the watchdog reads it while busy.
    const LeasedDelivery& d = self->current;
    Completion c;
    bool settled;
    {
      DeliveryLogFields log_fields(d);
      LogScope log_scope(log_fields);
      settled = run(d, *http, *self, &c.settlement);
    }
    // An abandoned worker must not touch the dispatcher again: it may be gone by now.
    if (!settled) return;
    std::unique_lock lock(mu_);
    if (self->abandoned) return;  // abandoned between run() returning and here
    self->busy = false;
    c.integration = {d.tenant_id, d.integration_id};
    completions_.push_back(std::move(c));
    const bool wanted = dispatcher_awaits_work_;
    lock.unlock();
    if (wanted) dispatcher_cv_.notify_one();
  }
}

Settlement Dispatcher::settle(const LeasedDelivery& d, crmh_status status, int http_status,
                              int64_t retry_after_ms, const std::string& message,
                              const std::string& log_name) {
  Settlement s;
  s.delivery_id = d.id;
  s.attempt = d.attempt;
  s.outcome = outcome_of(status);
  s.http_status = http_status;
  s.error = status == CRMH_OK ? "" : message;
  if (s.outcome == Outcome::kUnknown)  // the attempts row keeps the number the adapter invented
    s.error = "outcome " + std::to_string(status) + ": " + s.error;
  auto decision = policy_.decide(s.outcome, d.attempt, std::max<int64_t>(retry_after_ms, 0), message);
  switch (decision.kind) {
    case RetryDecision::Kind::kDelivered:
      s.kind = Settlement::Kind::kDelivered;
      failures_.succeeded({d.tenant_id, d.integration_id}, clock_.wall_ms());
      break;
    case RetryDecision::Kind::kRetry:
      s.kind = Settlement::Kind::kRetry;
      s.next_attempt_at_ms = clock_.wall_ms() + decision.delay_ms;
      failures_.failed({d.tenant_id, d.integration_id}, std::string(outcome_name(s.outcome)),
                       false, s.next_attempt_at_ms,
                       "[" + log_name + "] " + d.id + " attempt " + std::to_string(d.attempt) +
                           " " + std::string(outcome_name(s.outcome)) + " (" + s.error +
                           "); next in " + std::to_string(decision.delay_ms) +
                           " ms; further failures are summarised",
                       clock_.wall_ms());
      break;
    case RetryDecision::Kind::kDead:
      s.kind = Settlement::Kind::kDead;
      s.dead_reason = decision.dead_reason;
      failures_.failed({d.tenant_id, d.integration_id}, std::string(outcome_name(s.outcome)),
                       true, 0,
                       "[" + log_name + "] " + d.id + " dead: " + s.dead_reason +
                           "; further failures are summarised",
                       clock_.wall_ms());
      break;
  }
  return s;
}

bool Dispatcher::run(const LeasedDelivery& d, HttpTransport& http, Worker& self, Settlement* out) {
  auto integration = registry_.integration({d.tenant_id, d.integration_id});
  // No attempt is made, so none is counted: the delivery waits.
  auto park = [&](const std::string& why, int64_t until_ms = 0) {
    *out = Settlement{};
    out->delivery_id = d.id;
    out->attempt = d.attempt;
    out->kind = Settlement::Kind::kPark;
    out->error = why;
    out->next_attempt_at_ms = until_ms > 0 ? until_ms : clock_.wall_ms() + settings_.park_ms;
    return true;
  };
  if (!integration)
    return park("integration " + d.tenant_id + "/" + d.integration_id + " has no loaded adapter");
  // The CRM asked this integration to pause (Retry-After, a spent quota): its queue waits.
  Pacer* pacer = integration->pacer();
  if (int64_t until = pacer->parked_until_ms(); until > clock_.wall_ms())
    return park("rate limited: the integration waits for its CRM", until);
  // The host maps the event to the CRM's records; a required field left empty never will be.
  auto records = integration->map_event(d.event_type, d.payload);
  const std::string& adapter = integration->config().adapter;
  if (!records.ok()) {
    *out = settle(d, CRMH_PERMANENT, 0, 0, records.error(), integration->log_name());
    out->started_at_ms = clock_.wall_ms();
    metrics_.delivery_attempts.with({adapter, std::string(outcome_name(out->outcome))}).add();
    return true;
  }
  crmh_delivery delivery{};
  delivery.struct_size = sizeof delivery;
  delivery.attempt = static_cast<uint32_t>(d.attempt);
  delivery.delivery_id = view(d.id);
  delivery.event_id = view(d.event_id);
  delivery.tenant_id = view(d.tenant_id);
  delivery.integration_id = view(d.integration_id);
  delivery.event_type = view(d.event_type);
  delivery.deadline_ms = self.deadline_ms;
  delivery.payload_schema_version = 1;
  delivery.payload_json = view(d.payload);
  delivery.record_json = view(*records);
  crmh_result result{};
  result.struct_size = sizeof result;

  int64_t started_at = clock_.wall_ms();
  int64_t t0 = clock_.monotonic_ms();
  auto called = call_with_credential(
      *integration, http, self.deadline_ms,
      [&](crmh_call* call) {
        result = crmh_result{};
        result.struct_size = sizeof result;
        return integration->deliver(call, delivery, &result);
      },
      [&] { return self.abandoned.load(); });
  if (self.abandoned.load()) return false;  // the watchdog settled this delivery already
  // The host could attach no credential: a person must authorize the connection first.
  if (!called.reauthorization.empty())
    return park("reauthorization required: " + called.reauthorization);
  crmh_status status = called.status;
  int64_t duration = clock_.monotonic_ms() - t0;
  result.message[sizeof result.message - 1] = '\0';
  // Throttled with a schedule (the CRM's Retry-After or spent quota, or our own pacing): the
  // integration's queue waits, and the attempt is not counted. A RATE_LIMITED that names no wait
  // is an ordinary retry on our backoff, so a CRM that only ever refuses still ends dead.
  if (status == CRMH_RATE_LIMITED && (result.retry_after_ms > 0 || called.paced_wait_ms > 0)) {
    int64_t wait_ms = std::max({result.retry_after_ms, called.paced_wait_ms, kMinRateLimitPauseMs});
    int64_t until = clock_.wall_ms() + wait_ms;
    pacer->park_until(until);
    metrics_.pacing_waits.with({adapter}).add();
    const std::string why = called.paced_wait_ms > 0 ? "paced: the integration's request budget "
                                                       "(pacing_*) is spent"
                                                     : std::string(result.message);
    logger().information("[" + integration->log_name() + "] " + d.id + " rate limited (" + why +
                         "); the integration waits " + std::to_string(wait_ms) + " ms");
    park("rate limited: " + why, until);
    out->http_status = result.http_status;
    return true;
  }

  if (outcome_of(status) == Outcome::kUnknown)
    logger().warning("[" + integration->log_name() + "] adapter returned unknown outcome " +
                     std::to_string(status) + " for " + d.id + "; handled as RETRY");
  *out = settle(d, status, result.http_status, result.retry_after_ms, result.message,
                integration->log_name());
  out->response = std::move(called.last_answer);
  out->started_at_ms = started_at;
  out->duration_ms = duration;
  metrics_.delivery_attempts.with({adapter, std::string(outcome_name(out->outcome))}).add();
  metrics_.delivery_seconds.with({adapter}).observe(static_cast<double>(duration) / 1000.0);
  return true;
}

}  // namespace crmhost
