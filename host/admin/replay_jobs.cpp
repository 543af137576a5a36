#include "admin/replay_jobs.h"

#include <Poco/Logger.h>

#include <vector>

#include "common/ids.h"

namespace crmhost {
namespace {

// What a job's audit entry says of its filter (never a payload).
std::string describe(const DeadLetterQuery& f) {
  std::string out;
  auto add = [&](const char* name, const std::string& value) {
    if (value.empty()) return;
    if (!out.empty()) out += ", ";
    out += std::string(name) + "=" + value;
  };
  add("integration", f.integration_id);
  add("event_type", f.event_type);
  add("outcome", f.outcome);
  add("http_status", f.http_status ? std::to_string(f.http_status) : "");
  add("since_ms", f.from_ms ? std::to_string(f.from_ms) : "");
  add("until_ms", f.to_ms ? std::to_string(f.to_ms) : "");
  return out.empty() ? "every dead letter" : out;
}

}  // namespace

ReplayJobs::ReplayJobs(Store& store, ConfigStore& audit, const Clock& clock)
    : store_(store), audit_(audit), clock_(clock), thread_([this] { run_jobs(); }) {}

ReplayJobs::~ReplayJobs() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

ReplayJob ReplayJobs::start(DeadLetterQuery filter, std::string actor) {
  auto job = std::make_shared<ReplayJob>();
  job->id = new_id("job");
  job->tenant_id = filter.tenant_id;
  job->actor = std::move(actor);
  job->filter = std::move(filter);
  job->filter.after.clear();
  job->created_at_ms = clock_.wall_ms();
  std::lock_guard lock(mu_);
  jobs_.push_back(job);
  // Forget the oldest finished jobs beyond kKeptJobs.
  for (auto it = jobs_.begin(); jobs_.size() > kKeptJobs && it != jobs_.end();) {
    if ((*it)->state == "queued" || (*it)->state == "running")
      ++it;
    else
      it = jobs_.erase(it);
  }
  queue_.push_back(job);
  cv_.notify_all();
  return *job;
}

std::optional<ReplayJob> ReplayJobs::job(const std::string& tenant_id,
                                         const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& j : jobs_)
    if (j->id == id && (tenant_id.empty() || j->tenant_id == tenant_id)) return *j;
  return std::nullopt;
}

void ReplayJobs::run_jobs() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) {
      for (auto& j : queue_) j->state = "stopped";
      return;
    }
    auto job = queue_.front();
    queue_.pop_front();
    job->state = "running";
    lock.unlock();
    run(job);
    lock.lock();
  }
}

void ReplayJobs::run(std::shared_ptr<ReplayJob> job) {
  // The letters as they are now: what dies while the job runs is not part of it.
  std::vector<std::string> ids;
  DeadLetterQuery page = job->filter;
  page.limit = kPageSize;
  std::string failure;
  for (;;) {
    auto letters = store_.list_dead_letters(page);
    if (!letters.ok()) {
      failure = letters.error();
      break;
    }
    for (const auto& l : letters->letters) ids.push_back(l.id);
    update(*job, [&](ReplayJob& j) { j.total = static_cast<int64_t>(ids.size()); });
    if (letters->next.empty()) break;
    page.after = letters->next;
  }
  bool stopped = false;
  for (size_t i = 0; failure.empty() && i < ids.size(); ++i) {
    {
      std::lock_guard lock(mu_);
      stopped = stopping_;
    }
    if (stopped) break;
    Status replayed = store_.replay(job->tenant_id, ids[i], clock_.wall_ms());
    update(*job, [&](ReplayJob& j) {
      if (replayed.ok())
        ++j.replayed;
      else if (replayed.error_kind() == ErrorKind::kConflict ||
               replayed.error_kind() == ErrorKind::kNotFound)
        ++j.skipped;  // no longer a dead letter: replayed or discarded by someone else
      else
        ++j.failed;
    });
  }
  ReplayJob done;
  update(*job, [&](ReplayJob& j) {
    j.state = !failure.empty() ? "failed" : stopped ? "stopped" : "done";
    j.error = failure;
    j.finished_at_ms = clock_.wall_ms();
    done = j;
  });
  if (!failure.empty())
    Poco::Logger::get("crmhost.admin").error("replay job " + done.id + ": " + failure);
  (void)audit_.record({done.finished_at_ms, done.actor, "dead_letters.bulk_replay",
                       done.tenant_id, done.id,
                       describe(done.filter) + ": " + std::to_string(done.replayed) +
                           " replayed, " + std::to_string(done.skipped) + " skipped, " +
                           std::to_string(done.failed) + " failed of " +
                           std::to_string(done.total),
                       done.state == "done" ? "ok" : done.state});
}

}  // namespace crmhost
