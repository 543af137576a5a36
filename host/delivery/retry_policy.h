// When to try a failed delivery again, and when to give up: 5 s doubling to a 5 min cap, +-20 %
// jitter, 10 attempts in all (the product documents' schedule; configurable for tests).
// A Retry-After from the CRM is honoured when it is longer than the computed delay.
// Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/outcome.h"
#include "config/config.h"

namespace crmhost {

// What the host does with a delivery after one attempt.
struct RetryDecision {
  enum class Kind { kDelivered, kRetry, kDead };
  Kind kind;
  int64_t delay_ms = 0;   // with kRetry
  std::string dead_reason; // with kDead
};

class RetryPolicy {
 public:
  // `unit_random` returns a uniform value in [0, 1); injected so tests are exact.
  RetryPolicy(RetrySettings settings, std::function<double()> unit_random);

  // Delay before attempt `attempts_made + 1`, given `attempts_made` >= 1 failures so far.
  int64_t delay_ms(int attempts_made, int64_t retry_after_ms) const;

  // What follows an attempt number `attempt` (1-based) with `outcome` (its disposition in
  // common/outcome.h, and the attempts left).
  RetryDecision decide(Outcome outcome, int attempt, int64_t retry_after_ms,
                       const std::string& message) const;

  int max_attempts() const { return settings_.attempts; }

 private:
  RetrySettings settings_;
  std::function<double()> unit_random_;
};

}  // namespace crmhost
