// Moves deliveries from the outbox to adapters and records what happened.
//
// One dispatcher thread makes every write of the delivery path: each round settles finished
// deliveries and leases due ones atomically (the store commits it together with ingest's
// appends), and hands leased deliveries to a pool of worker threads. Each worker owns an
// HttpTransport (made by the injected factory) and calls the integration's adapter with a deadline;
// the outcome goes back to the dispatcher. A sweeper step in the same loop returns leases that
// expired (a crashed worker or host).
//
// Containment: a call still running `overrun_margin` past its deadline is abandoned. Its
// delivery is settled as a retry, a fresh worker takes the stuck one's place (the stuck thread
// is left to return whenever it does, and then exits without touching anything shared), and an
// integration whose calls overrun `suspend_after_overruns` times in a row is suspended until its
// adapter is reloaded. Other integrations keep flowing throughout.
//
// Thread-safety: start/stop from one thread; wake() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "delivery/failure_log.h"
#include "delivery/retry_policy.h"
#include "metrics/metrics.h"
#include "plugins/adapter_registry.h"
#include "plugins/http_client.h"
#include "store/store.h"

namespace crmhost {

struct DispatcherSettings {
  int workers = 8;
  int64_t lease_ms = 60000;
  int64_t deliver_timeout_ms = 15000;
  int64_t park_ms = 5000;            // how long a delivery whose integration has no adapter waits
                                     // (config `park_delay`)
  int64_t overrun_margin_ms = 5000;  // past the deadline, a call is abandoned
  int suspend_after_overruns = 3;    // consecutive abandoned calls that suspend an integration
  int64_t failure_summary_ms = 60000;  // a failing integration's log summary, at most this often
                                       // (config `log_failure_summary`)
};

class Dispatcher {
 public:
  // Every reference must outlive the dispatcher; `transports` is called once per worker thread.
  Dispatcher(Store& store, AdapterRegistry& registry, const RetryPolicy& policy, const Clock& clock,
             HttpTransportFactory transports, DispatcherSettings settings, Metrics& metrics);
  ~Dispatcher();

  void start();
  // Lets running calls finish (abandoning those that overrun) and records their outcomes; queued,
  // unstarted deliveries stay leased in the store and are released at the next start.
  void stop();
  // New deliveries may be due now (called after an append commits or a replay).
  void wake();

 private:
  struct Worker;
  struct Completion {
    Settlement settlement;
    IntegrationKey integration;
    bool overrun = false;  // settled by the watchdog, not by the adapter
  };

  void dispatch_loop();
  void worker_loop(std::shared_ptr<Worker> self);
  void start_worker();  // requires mu_
  // Runs one delivery on `self`; returns false when the call was abandoned meanwhile.
  bool run(const LeasedDelivery& delivery, HttpTransport& http, Worker& self, Settlement* out);
  Settlement settle(const LeasedDelivery& d, crmh_status status, int http_status,
                    int64_t retry_after_ms, const std::string& message,
                    const std::string& log_name);
  void abandon_overrunning_calls();  // requires mu_
  void apply_overruns(const std::vector<Completion>& done);
  int64_t wait_budget_ms(int64_t now_ms);

  Store& store_;
  AdapterRegistry& registry_;
  const RetryPolicy& policy_;
  const Clock& clock_;
  const HttpTransportFactory transports_;
  const DispatcherSettings settings_;
  Metrics& metrics_;
  const int max_in_flight_;

  std::mutex mu_;                                 // guards everything below
  std::condition_variable dispatcher_cv_;         // completions arrived, wake() or stop()
  std::condition_variable worker_cv_;             // queue_ has work or stop()
  std::condition_variable stopped_cv_;            // a worker exited (stop() waits on it)
  std::deque<LeasedDelivery> queue_;              // leased, not yet started
  std::vector<Completion> completions_;           // finished, not yet recorded
  std::vector<std::shared_ptr<Worker>> workers_;  // serving workers (abandoned ones removed)
  int running_workers_ = 0;                       // serving worker threads not yet exited
  int in_flight_ = 0;                             // leased and not yet recorded
  bool woken_ = false;
  bool dispatcher_awaits_work_ = false;  // the dispatcher sleeps until woken_ or a completion
  bool stopping_ = false;                // workers finish their call and exit
  bool workers_done_ = false;  // every serving worker has exited; the dispatcher records and exits

  std::map<IntegrationKey, int> overruns_;  // consecutive overruns; dispatcher thread only
  FailureLog failures_;                     // thread-safe
  std::thread dispatcher_;
};

}  // namespace crmhost
