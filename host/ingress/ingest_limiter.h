// Per-tenant ingest rate limit: a token bucket of `rate` events/s holding up to 2 s of burst.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"

namespace crmhost {

class IngestLimiter {
 public:
  explicit IngestLimiter(const Clock& clock) : clock_(clock) {}
  // True when the tenant may ingest one more event now; else `retry_after_s` says when.
  bool try_acquire(const std::string& tenant_id, double rate, int* retry_after_s);

 private:
  struct Bucket {
    double tokens;
    int64_t refilled_at_ms;
  };
  const Clock& clock_;
  std::mutex mu_;  // guards buckets_
  std::map<std::string, Bucket> buckets_;
};

}  // namespace crmhost
