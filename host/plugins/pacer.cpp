#include "plugins/pacer.h"

#include <algorithm>
#include <chrono>

namespace crmhost {

namespace {
constexpr int64_t kMaxWaitMs = 1000;  // longer, and the integration parks rather than a worker waits
constexpr int64_t kBusyRetryMs = 100;  // all concurrency slots taken: when to look again
}  // namespace

int64_t Pacer::admit(const Clock& clock, int64_t deadline_ms) {
  std::unique_lock lock(mu_);
  const int64_t wait_limit = std::min(deadline_ms, clock.monotonic_ms() + kMaxWaitMs);
  for (;;) {
    const int64_t now = clock.monotonic_ms();
    if (limits_.requests > 0 && limits_.window_ms > 0)
      while (!sent_ms_.empty() && sent_ms_.front() <= now - limits_.window_ms) sent_ms_.pop_front();
    const bool window_full = limits_.requests > 0 && limits_.window_ms > 0 &&
                             sent_ms_.size() >= limits_.requests;
    const bool too_many = limits_.concurrency > 0 && in_flight_ >= limits_.concurrency;
    if (!window_full && !too_many) {
      if (limits_.requests > 0 && limits_.window_ms > 0) sent_ms_.push_back(now);
      ++in_flight_;
      return 0;
    }
    // Room comes back when the oldest request leaves the window, or one in flight finishes.
    const int64_t room_at = window_full ? sent_ms_.front() + limits_.window_ms : now + kBusyRetryMs;
    if (room_at > wait_limit || now >= wait_limit) return std::max<int64_t>(1, room_at - now);
    room_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, room_at - now)));
  }
}

void Pacer::release() {
  {
    std::lock_guard lock(mu_);
    if (in_flight_ > 0) --in_flight_;
  }
  room_.notify_one();
}

void Pacer::park_until(int64_t wall_ms) {
  std::lock_guard lock(mu_);
  parked_until_ms_ = std::max(parked_until_ms_, wall_ms);
}

int64_t Pacer::parked_until_ms() const {
  std::lock_guard lock(mu_);
  return parked_until_ms_;
}

void Pacer::set_limits(PacingLimits limits) {
  {
    std::lock_guard lock(mu_);
    limits_ = limits;
  }
  room_.notify_all();
}

PacingLimits Pacer::limits() const {
  std::lock_guard lock(mu_);
  return limits_;
}

std::shared_ptr<Pacer> PacingBook::pacer(const IntegrationKey& key, PacingLimits limits) {
  std::lock_guard lock(mu_);
  auto& p = pacers_[key];
  if (!p)
    p = std::make_shared<Pacer>(limits);
  else if (p->limits() != limits)
    p->set_limits(limits);
  return p;
}

}  // namespace crmhost
