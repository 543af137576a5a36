#include "delivery/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace crmhost {

RetryPolicy::RetryPolicy(RetrySettings settings, std::function<double()> unit_random)
    : settings_(settings), unit_random_(std::move(unit_random)) {}

int64_t RetryPolicy::delay_ms(int attempts_made, int64_t retry_after_ms) const {
  // base * 2^(n-1), computed in double so a large n saturates at the cap instead of overflowing.
  double raw = static_cast<double>(settings_.base_ms) * std::pow(2.0, std::max(0, attempts_made - 1));
  double capped = std::min(raw, static_cast<double>(settings_.cap_ms));
  double factor = 1.0 + settings_.jitter * (2.0 * unit_random_() - 1.0);
  auto delay = static_cast<int64_t>(capped * factor);
  return std::max(delay, retry_after_ms);
}

RetryDecision RetryPolicy::decide(Outcome outcome, int attempt, int64_t retry_after_ms,
                                  const std::string& message) const {
  const OutcomeTraits& traits = describe(outcome);
  const std::string name(traits.name);
  switch (traits.disposition) {
    case Disposition::kDelivered:
      return {RetryDecision::Kind::kDelivered, 0, ""};
    case Disposition::kDeadLetter:
      return {RetryDecision::Kind::kDead, 0, name + ": " + message};
    case Disposition::kRetry:
      break;
  }
  if (attempt >= settings_.attempts) {
    return {RetryDecision::Kind::kDead, 0,
            "gave up after " + std::to_string(attempt) + " attempts; last: " + name + ": " + message};
  }
  return {RetryDecision::Kind::kRetry,
          delay_ms(attempt, traits.honours_retry_after ? retry_after_ms : 0), ""};
}

}  // namespace crmhost
