// Moves deliveries from the outbox to adapters and records what happened.
//
// One dispatcher thread owns every write the delivery path makes: it settles finished deliveries
// and leases due ones in one transaction per round (so commits are shared, as on ingest), and
// hands leased deliveries to a pool of worker threads. Each worker owns an HttpClient and calls
// the integration's adapter with a deadline; the outcome goes back to the dispatcher.
// A sweeper step in the same loop returns leases that expired (a crashed worker or host).
//
// Thread-safety: start/stop from one thread; wake() from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "delivery/retry_policy.h"
#include "plugins/adapter_registry.h"
#include "store/store.h"

namespace crmhost {

class HttpClient;

struct DispatcherSettings {
  int workers = 8;
  int64_t lease_ms = 60000;
  int64_t deliver_timeout_ms = 15000;
  int64_t park_ms = 5000;  // how long a delivery whose integration has no adapter waits
};

class Dispatcher {
 public:
  Dispatcher(Store& store, const AdapterRegistry& registry, const RetryPolicy& policy,
             const Clock& clock, DispatcherSettings settings);
  ~Dispatcher();

  void start();
  // Lets running calls finish and records their outcomes; queued, unstarted deliveries stay
  // leased in the store and are released at the next start.
  void stop();
  // New deliveries may be due now (called after an append commits).
  void wake();

 private:
  void dispatch_loop();
  void worker_loop();
  Settlement run(const LeasedDelivery& delivery, HttpClient& http);
  int64_t wait_budget_ms(int64_t now_ms);

  Store& store_;
  const AdapterRegistry& registry_;
  const RetryPolicy& policy_;
  const Clock& clock_;
  const DispatcherSettings settings_;
  const int max_in_flight_;

  std::mutex mu_;  // guards everything below
  std::condition_variable dispatcher_cv_;  // completions arrived, wake() or stop()
  std::condition_variable worker_cv_;      // queue_ has work or stop()
  std::deque<LeasedDelivery> queue_;       // leased, not yet started
  std::vector<Settlement> completions_;    // finished, not yet recorded
  int in_flight_ = 0;                      // leased and not yet recorded
  bool woken_ = false;
  bool stopping_ = false;      // workers finish their call and exit
  bool workers_done_ = false;  // every worker has exited; the dispatcher records and exits

  std::thread dispatcher_;
  std::vector<std::thread> workers_;
};

}  // namespace crmhost
