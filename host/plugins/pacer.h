// Client-side pacing of one integration's requests to its CRM, so that crmhost keeps under the
// CRM's published limits instead of collecting 429s: at most `requests` per sliding `window_ms`
// and at most `concurrency` in flight (0 = no such limit). The defaults come from the adapter's
// descriptor (ABI 1.2 pacing_*), an integration's `pacing_requests`, `pacing_window` and
// `pacing_concurrency` override them. A CRM's own pause (Retry-After, an exhausted daily quota)
// parks the integration: no delivery of it starts before then, and none burns an attempt.
//
// One Pacer per integration outlives the instances of its generations (PacingBook), so a reload
// does not reset the window. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "common/clock.h"
#include "common/integration_key.h"

namespace crmhost {

struct PacingLimits {
  uint32_t requests = 0;   // per window; 0 = unlimited
  int64_t window_ms = 0;
  uint32_t concurrency = 0;  // 0 = unlimited
  bool operator==(const PacingLimits&) const = default;
};

class Pacer {
 public:
  explicit Pacer(PacingLimits limits) : limits_(limits) {}

  // Room for one request: waits for it when it comes before `deadline_ms` (monotonic on `clock`)
  // and within a second (a worker is shared by every integration; a longer wait parks the
  // integration instead). 0: admitted, call release() when the exchange is over. Otherwise the
  // milliseconds until there is room, without waiting for it.
  int64_t admit(const Clock& clock, int64_t deadline_ms);
  void release();
  // The CRM asked for a pause: no delivery of this integration starts before `wall_ms`.
  void park_until(int64_t wall_ms);
  int64_t parked_until_ms() const;  // wall ms; 0 = not parked
  void set_limits(PacingLimits limits);
  PacingLimits limits() const;

 private:
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable room_;  // a request finished
  PacingLimits limits_;
  std::deque<int64_t> sent_ms_;  // monotonic start times inside the current window
  uint32_t in_flight_ = 0;
  int64_t parked_until_ms_ = 0;
};

// The pacers of every integration, by key. Thread-safe.
class PacingBook {
 public:
  // The integration's pacer, made on first use; later calls update its limits.
  std::shared_ptr<Pacer> pacer(const IntegrationKey& key, PacingLimits limits);

 private:
  std::mutex mu_;  // guards pacers_
  std::map<IntegrationKey, std::shared_ptr<Pacer>> pacers_;
};

}  // namespace crmhost
