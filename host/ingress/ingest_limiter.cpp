#include "ingress/ingest_limiter.h"

#include <algorithm>
#include <cmath>

namespace crmhost {

bool IngestLimiter::try_acquire(const std::string& tenant_id, double rate, int* retry_after_s) {
  const double burst = std::max(1.0, rate * 2);
  int64_t now = clock_.monotonic_ms();
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(tenant_id, Bucket{burst, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst, b.tokens + rate * static_cast<double>(now - b.refilled_at_ms) / 1000.0);
    b.refilled_at_ms = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  *retry_after_s = std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate)));
  return false;
}

}  // namespace crmhost
