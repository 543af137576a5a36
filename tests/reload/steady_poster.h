// Posts visitor events to a running crmhost at a steady rate from its own thread, each for its
// own visitor email ("reload-<n>@example.com", so an arrival at a receiver names its event), and
// records every acknowledged one (202) with its event id and how long the answer took.
// Thread-safety: Stop() and the readers may be called from any one thread while it runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace crmhost::testing {

struct AcknowledgedEvent {
  std::string email;
  std::string event_id;  // "evt_…" from the 202 answer
};

class SteadyPoster {
 public:
  // Starts posting at once: one event every 1/per_second s, until Stop(), `max_events` posts or
  // `max_time`, whichever comes first.
  SteadyPoster(std::string base_url, std::string api_key, int per_second, size_t max_events,
               std::chrono::milliseconds max_time);
  ~SteadyPoster();  // stops
  SteadyPoster(const SteadyPoster&) = delete;
  SteadyPoster& operator=(const SteadyPoster&) = delete;

  void Stop();

  static std::string EmailOf(size_t n) { return "reload-" + std::to_string(n) + "@example.com"; }

  std::vector<AcknowledgedEvent> acknowledged() const;
  size_t acknowledged_count() const;
  // One line per post that was not acknowledged (status and body, or the exception).
  std::vector<std::string> failures() const;
  size_t posted() const { return posted_.load(); }
  // The slowest answer to a post: the longest ingest stall a client saw.
  std::chrono::milliseconds longest_answer() const;

 private:
  void Run();

  const std::string base_url_, api_key_;
  const std::chrono::nanoseconds interval_;
  const size_t max_events_;
  const std::chrono::milliseconds max_time_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> posted_{0};

  mutable std::mutex mu_;  // guards the three below
  std::vector<AcknowledgedEvent> acknowledged_;
  std::vector<std::string> failures_;
  std::chrono::milliseconds longest_answer_{0};

  std::thread thread_;  // last: starts after everything above is initialized
};

}  // namespace crmhost::testing
