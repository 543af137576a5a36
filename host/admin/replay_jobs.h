// Bulk replays of dead letters, run as jobs (POST /v1/dead-letters/replay, GET /v1/jobs/{id}).
//
// A job first takes the ids of the dead letters its filter matches, then replays them one by one
// (each one Store::replay: a fresh attempt count, never a second delivery); a letter that stopped
// being dead meanwhile (replayed or discarded by someone else) is skipped, and one that dies again
// while the job runs is not replayed twice. Jobs run one at a time on the jobs thread, in the order
// asked; their progress is kept in memory (the last kKeptJobs), so a restart forgets them — the
// replays already made stay made, and the audit log records each job's end.
//
// Thread-safety: every method may be called from any thread. The destructor stops the thread
// (a running job stops between two replays).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "store/config_store.h"
#include "store/store.h"

namespace crmhost {

struct ReplayJob {
  std::string id;  // job_<hex>
  std::string tenant_id, actor;
  DeadLetterQuery filter;
  std::string state = "queued";  // queued, running, done, failed, stopped
  int64_t total = 0, replayed = 0, skipped = 0, failed = 0;
  std::string error;  // why it failed
  int64_t created_at_ms = 0, finished_at_ms = 0;
};

class ReplayJobs {
 public:
  static constexpr size_t kKeptJobs = 100;
  static constexpr int kPageSize = 500;

  ReplayJobs(Store& store, ConfigStore& audit, const Clock& clock);
  ~ReplayJobs();
  ReplayJobs(const ReplayJobs&) = delete;
  ReplayJobs& operator=(const ReplayJobs&) = delete;

  // Queues a replay of what `filter` matches (its tenant required; its cursor and limit unused).
  ReplayJob start(DeadLetterQuery filter, std::string actor);
  // The job `id` of `tenant_id` (empty: of any tenant, for the admin key).
  std::optional<ReplayJob> job(const std::string& tenant_id, const std::string& id) const;

 private:
  void run_jobs();  // the jobs thread
  void run(std::shared_ptr<ReplayJob> job);
  // Applies `change` to the job under mu_.
  template <typename Change>
  void update(ReplayJob& job, Change change) {
    std::lock_guard lock(mu_);
    change(job);
  }

  Store& store_;
  ConfigStore& audit_;
  const Clock& clock_;
  mutable std::mutex mu_;  // guards everything below and every job's fields
  std::condition_variable cv_;
  std::deque<std::shared_ptr<ReplayJob>> jobs_;  // newest last; at most kKeptJobs
  std::deque<std::shared_ptr<ReplayJob>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // started on the first job
};

}  // namespace crmhost
