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

RetryDecision RetryPolicy::decide(crmh_status status, int attempt, int64_t retry_after_ms,
                                  const std::string& message) const {
  switch (status) {
    case CRMH_OK:
      return {RetryDecision::Kind::kDelivered, 0, ""};
    case CRMH_PERMANENT:
    case CRMH_BAD_CONFIG:
    case CRMH_UNSUPPORTED:
      return {RetryDecision::Kind::kDead, 0, outcome_name(status) + ": " + message};
    default:
      // RETRY, RATE_LIMITED, AUTH_EXPIRED, INTERNAL and any value a newer adapter invents: retry,
      // never drop (DESIGN.md §3.5).
      break;
  }
  if (attempt >= settings_.attempts) {
    return {RetryDecision::Kind::kDead, 0,
            "gave up after " + std::to_string(attempt) + " attempts; last: " +
                outcome_name(status) + ": " + message};
  }
  return {RetryDecision::Kind::kRetry,
          delay_ms(attempt, status == CRMH_RATE_LIMITED || status == CRMH_RETRY ? retry_after_ms : 0),
          ""};
}

std::string outcome_name(crmh_status status) {
  switch (status) {
    case CRMH_OK: return "OK";
    case CRMH_RETRY: return "RETRY";
    case CRMH_RATE_LIMITED: return "RATE_LIMITED";
    case CRMH_AUTH_EXPIRED: return "AUTH_EXPIRED";
    case CRMH_PERMANENT: return "PERMANENT";
    case CRMH_BAD_CONFIG: return "BAD_CONFIG";
    case CRMH_UNSUPPORTED: return "UNSUPPORTED";
    case CRMH_INTERNAL: return "INTERNAL";
    default: return "UNKNOWN(" + std::to_string(status) + ")";
  }
}

}  // namespace crmhost
