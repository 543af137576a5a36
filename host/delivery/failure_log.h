// What the log says of failing deliveries, so that a CRM outage (or a CRM that fails one call in a
// hundred) does not flood it. Per integration, at most one line per interval: the first failure
// is logged as it happens; later ones are counted and logged as one summary when the interval has
// passed (how many, by outcome, the next attempt); the first success after failures is logged as
// the recovery, at once or once the interval has passed. The per-attempt detail is in the attempts
// table (the dead-letter view). Dead letters are counted the same way.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <Poco/Logger.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/integration_key.h"

namespace crmhost {

class FailureLog {
 public:
  FailureLog(Poco::Logger& logger, int64_t interval_ms)
      : logger_(logger), interval_ms_(interval_ms) {}

  // An attempt of `key` failed with `outcome` (dead: the delivery is now a dead letter), retried
  // at `next_attempt_at_ms`. `line` says it all, for when it is logged as it is.
  void failed(const IntegrationKey& key, const std::string& outcome, bool dead,
              int64_t next_attempt_at_ms, const std::string& line, int64_t now_ms);
  void succeeded(const IntegrationKey& key, int64_t now_ms);
  // Logs what is due (everything with `force`); called by the dispatcher every round.
  void flush(int64_t now_ms, bool force = false);

 private:
  struct Entry {
    bool failing = false;
    int64_t failing_since_ms = 0, failed_attempts = 0;  // of the current run of failures
    int64_t logged_at_ms = -1;                           // the last line of this integration
    std::map<std::string, int64_t> unlogged;             // failures since, by outcome or "dead"
    int64_t next_attempt_at_ms = 0;                      // the latest retry among them
    bool recovery_unlogged = false;
  };
  bool may_log(const Entry& e, int64_t now_ms) const {
    return e.logged_at_ms < 0 || now_ms - e.logged_at_ms >= interval_ms_;
  }
  void log_due(const IntegrationKey& key, Entry& e, int64_t now_ms);

  Poco::Logger& logger_;
  const int64_t interval_ms_;
  std::mutex mu_;  // guards entries_
  std::map<IntegrationKey, Entry> entries_;
};

}  // namespace crmhost
