// The clocks the host reads, injected so retry and lease logic can be tested without sleeping.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace crmhost {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t wall_ms() const = 0;       // Unix epoch milliseconds
  virtual int64_t monotonic_ms() const = 0;  // for deadlines
};

class SystemClock final : public Clock {
 public:
  int64_t wall_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t monotonic_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace crmhost
