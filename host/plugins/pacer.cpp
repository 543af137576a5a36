#include "plugins/pacer.h"

#include <algorithm>
#include <chrono>

namespace crmhost {

bool Pacer::admit(const Clock& clock, int64_t deadline_ms) {
  std::unique_lock lock(mu_);
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
      return true;
    }
    // Room comes back when the oldest request leaves the window, or one in flight finishes.
    int64_t until = deadline_ms;
    if (window_full) until = std::min(until, sent_ms_.front() + limits_.window_ms);
    if (now >= deadline_ms) return false;
    room_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, until - now)));
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
