#include "delivery/dispatcher.h"

#include <Poco/Logger.h>

#include <algorithm>

#include "plugins/host_services.h"
#include "plugins/http_client.h"

namespace crmhost {
namespace {

crmh_str view(const std::string& s) { return {s.data(), s.size()}; }

constexpr int64_t kIdleWaitMs = 1000;
constexpr auto kGatherWindow = std::chrono::milliseconds(2);

}  // namespace

Dispatcher::Dispatcher(Store& store, const AdapterRegistry& registry, const RetryPolicy& policy,
                       const Clock& clock, DispatcherSettings settings)
    : store_(store),
      registry_(registry),
      policy_(policy),
      clock_(clock),
      settings_(settings),
      // Leased-ahead deliveries keep workers busy through a commit; 32 per worker lets one round
      // settle and lease a few hundred.
      max_in_flight_(settings.workers * 32) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  for (int i = 0; i < settings_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  dispatcher_ = std::thread([this] { dispatch_loop(); });
}

void Dispatcher::stop() {
  if (!dispatcher_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  worker_cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  {
    std::lock_guard lock(mu_);
    workers_done_ = true;
  }
  dispatcher_cv_.notify_all();
  dispatcher_.join();
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  dispatcher_cv_.notify_one();
}

int64_t Dispatcher::wait_budget_ms(int64_t now_ms) {
  auto due = store_.next_due_at_ms();
  if (!due.ok() || !due->has_value()) return kIdleWaitMs;
  return std::clamp<int64_t>(**due - now_ms, 0, kIdleWaitMs);
}

void Dispatcher::dispatch_loop() {
  auto& logger = Poco::Logger::get("crmhost.delivery");
  int64_t next_sweep_ms = 0;
  std::vector<Settlement> done;
  for (;;) {
    int capacity;
    bool stopping;
    {
      std::lock_guard lock(mu_);
      for (auto& s : completions_) done.push_back(std::move(s));
      completions_.clear();
      stopping = workers_done_;  // the last round: every outcome is in
      capacity = stopping_ ? 0 : max_in_flight_ - in_flight_;
      woken_ = false;
    }
    int64_t now = clock_.wall_ms();
    if (now >= next_sweep_ms && capacity > 0) {
      auto returned = store_.return_expired_leases(now);
      if (returned.ok() && *returned > 0)
        logger.warning(std::to_string(*returned) + " expired leases returned to pending");
      next_sweep_ms = now + std::max<int64_t>(settings_.lease_ms / 4, 100);
    }
    auto leased = store_.settle_and_lease(done, now, settings_.lease_ms, std::max(capacity, 0));
    if (!leased.ok()) {
      // The outcomes stay in `done` and are recorded on the next round.
      logger.error("store: " + leased.error());
      std::unique_lock lock(mu_);
      dispatcher_cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (workers_done_) return;
      continue;
    }
    {
      std::lock_guard lock(mu_);
      in_flight_ += static_cast<int>(leased->size()) - static_cast<int>(done.size());
      for (auto& d : *leased) queue_.push_back(std::move(d));
    }
    done.clear();
    if (!leased->empty()) worker_cv_.notify_all();
    if (stopping) return;
    // A full lease round may have left more due work: go again at once.
    if (capacity > 0 && static_cast<int>(leased->size()) == capacity) continue;

    int64_t budget = capacity > 0 ? wait_budget_ms(now) : kIdleWaitMs;
    std::unique_lock lock(mu_);
    dispatcher_cv_.wait_for(lock, std::chrono::milliseconds(budget), [&] {
      return woken_ || !completions_.empty() || workers_done_;
    });
    // Every round is a commit (an fsync) on the one write connection that ingest shares, so a
    // round for a single completion is wasteful: give the others in flight a moment to finish.
    auto gather_until = std::chrono::steady_clock::now() + kGatherWindow;
    dispatcher_cv_.wait_until(lock, gather_until, [&] {
      return woken_ || workers_done_ ||
             static_cast<int>(completions_.size()) >= std::max(1, in_flight_ / 2);
    });
  }
}

void Dispatcher::worker_loop() {
  HttpClient http(clock_);
  for (;;) {
    LeasedDelivery d;
    {
      std::unique_lock lock(mu_);
      worker_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      d = std::move(queue_.front());
      queue_.pop_front();
    }
    Settlement s = run(d, http);
    {
      std::lock_guard lock(mu_);
      completions_.push_back(std::move(s));
    }
    dispatcher_cv_.notify_one();
  }
}

Settlement Dispatcher::run(const LeasedDelivery& d, HttpClient& http) {
  auto& logger = Poco::Logger::get("crmhost.delivery");
  Settlement s;
  s.delivery_id = d.id;
  s.attempt = d.attempt;
  auto integration = registry_.integration(d.tenant_id, d.integration_id);
  if (!integration) {
    // No attempt is made, so none is counted: the delivery waits for its adapter.
    s.kind = Settlement::Kind::kPark;
    s.error = "integration " + d.tenant_id + "/" + d.integration_id + " has no loaded adapter";
    s.next_attempt_at_ms = clock_.wall_ms() + settings_.park_ms;
    return s;
  }
  crmh_call call{integration.get(), &http, clock_.monotonic_ms() + settings_.deliver_timeout_ms, {}, {}};
  crmh_delivery delivery{};
  delivery.struct_size = sizeof delivery;
  delivery.attempt = static_cast<uint32_t>(d.attempt);
  delivery.delivery_id = view(d.id);
  delivery.event_id = view(d.event_id);
  delivery.tenant_id = view(d.tenant_id);
  delivery.integration_id = view(d.integration_id);
  delivery.event_type = view(d.event_type);
  delivery.deadline_ms = call.deadline_ms;
  delivery.payload_schema_version = 1;
  delivery.payload_json = view(d.payload);
  crmh_result result{};
  result.struct_size = sizeof result;

  s.started_at_ms = clock_.wall_ms();
  int64_t t0 = clock_.monotonic_ms();
  crmh_status status = integration->deliver(&call, delivery, &result);
  s.duration_ms = clock_.monotonic_ms() - t0;
  result.message[sizeof result.message - 1] = '\0';

  s.outcome = outcome_name(status);
  s.http_status = result.http_status;
  s.error = status == CRMH_OK ? "" : result.message;
  if (status < CRMH_OK || status > CRMH_INTERNAL)
    logger.warning("[" + integration->log_name() + "] adapter returned unknown outcome " +
                   std::to_string(status) + " for " + d.id + "; handled as RETRY");
  auto decision = policy_.decide(status, d.attempt, std::max<int64_t>(result.retry_after_ms, 0),
                                 result.message);
  switch (decision.kind) {
    case RetryDecision::Kind::kDelivered:
      s.kind = Settlement::Kind::kDelivered;
      break;
    case RetryDecision::Kind::kRetry:
      s.kind = Settlement::Kind::kRetry;
      s.next_attempt_at_ms = clock_.wall_ms() + decision.delay_ms;
      logger.information("[" + integration->log_name() + "] " + d.id + " attempt " +
                         std::to_string(d.attempt) + " " + s.outcome + " (" + s.error +
                         "); next in " + std::to_string(decision.delay_ms) + " ms");
      break;
    case RetryDecision::Kind::kDead:
      s.kind = Settlement::Kind::kDead;
      s.dead_reason = decision.dead_reason;
      logger.warning("[" + integration->log_name() + "] " + d.id + " dead: " + s.dead_reason);
      break;
  }
  return s;
}

}  // namespace crmhost
