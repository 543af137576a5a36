#include "delivery/failure_log.h"

#include <algorithm>

namespace crmhost {

void FailureLog::failed(const IntegrationKey& key, const std::string& outcome, bool dead,
                        int64_t next_attempt_at_ms, const std::string& line, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[key];
  if (!e.failing) {
    e.failing = true;
    e.failing_since_ms = now_ms;
    e.failed_attempts = 0;
  }
  ++e.failed_attempts;
  if (may_log(e, now_ms) && e.unlogged.empty() && !e.recovery_unlogged) {
    if (dead)
      logger_.warning(line);
    else
      logger_.information(line);
    e.logged_at_ms = now_ms;
    return;
  }
  ++e.unlogged[dead ? "dead" : outcome];
  if (!dead) e.next_attempt_at_ms = std::max(e.next_attempt_at_ms, next_attempt_at_ms);
}

void FailureLog::succeeded(const IntegrationKey& key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.failing) return;
  Entry& e = it->second;
  e.failing = false;
  e.recovery_unlogged = true;
  if (may_log(e, now_ms)) log_due(key, e, now_ms);
}

void FailureLog::flush(int64_t now_ms, bool force) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (force || may_log(e, now_ms)) log_due(it->first, e, now_ms);
    // A recovered integration is forgotten once a quiet interval has passed.
    if (!e.failing && !e.recovery_unlogged && e.unlogged.empty() && may_log(e, now_ms))
      it = entries_.erase(it);
    else
      ++it;
  }
}

void FailureLog::log_due(const IntegrationKey& key, Entry& e, int64_t now_ms) {
  const std::string name = "[" + key.log_name() + "] ";
  if (!e.unlogged.empty()) {
    int64_t count = 0;
    std::string by_outcome;
    for (const auto& [outcome, n] : e.unlogged) {
      count += n;
      by_outcome += (by_outcome.empty() ? "" : ", ") + outcome + " " + std::to_string(n);
    }
    std::string next = e.failing && e.next_attempt_at_ms > now_ms
                           ? "; next attempt in " +
                                 std::to_string((e.next_attempt_at_ms - now_ms + 999) / 1000) + " s"
                           : "";
    logger_.warning(name + (e.failing ? "still failing: " : "failed meanwhile: ") +
                    std::to_string(count) + " more failed attempts (" + by_outcome + ")" + next +
                    "; each is in the attempts of GET /v1/dead-letters/{id} and GET /v1/deliveries");
    e.unlogged.clear();
    e.next_attempt_at_ms = 0;
    e.logged_at_ms = now_ms;
  }
  if (e.recovery_unlogged && !e.failing) {
    logger_.information(name + "recovered: delivering again after " +
                        std::to_string(e.failed_attempts) + " failed attempts in " +
                        std::to_string((now_ms - e.failing_since_ms) / 1000) + " s");
    e.recovery_unlogged = false;
    e.logged_at_ms = now_ms;
  }
}

}  // namespace crmhost
