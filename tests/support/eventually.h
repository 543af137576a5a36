// Polling with a deadline: tests wait for an observable state, never for a guessed duration.
#pragma once

#include <chrono>
#include <thread>

namespace crmhost::testing {

// Calls `condition` every `interval` until it returns true (-> true) or `timeout` passes
// (-> false, after one last try).
template <typename Condition>
bool Eventually(Condition&& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(interval);
  }
  return condition();
}

}  // namespace crmhost::testing
