#include "common/outcome.h"

namespace crmhost {

Outcome outcome_of(crmh_status status) {
  switch (status) {
    case CRMH_OK:
      return Outcome::kOk;
    case CRMH_RETRY:
      return Outcome::kRetry;
    case CRMH_RATE_LIMITED:
      return Outcome::kRateLimited;
    case CRMH_AUTH_EXPIRED:
      return Outcome::kAuthExpired;
    case CRMH_PERMANENT:
      return Outcome::kPermanent;
    case CRMH_BAD_CONFIG:
      return Outcome::kBadConfig;
    case CRMH_UNSUPPORTED:
      return Outcome::kUnsupported;
    case CRMH_INTERNAL:
      return Outcome::kInternal;
    default:
      return Outcome::kUnknown;
  }
}

const OutcomeTraits& describe(Outcome outcome) {
  // Retry, never drop, whatever is not known to be final (DESIGN.md §3.5).
  static const OutcomeTraits kTable[] = {
      /* kOk          */ {"OK", Disposition::kDelivered, false},
      /* kRetry       */ {"RETRY", Disposition::kRetry, true},
      /* kRateLimited */ {"RATE_LIMITED", Disposition::kRetry, true},
      /* kAuthExpired */ {"AUTH_EXPIRED", Disposition::kRetry, false},
      /* kPermanent   */ {"PERMANENT", Disposition::kDeadLetter, false},
      /* kBadConfig   */ {"BAD_CONFIG", Disposition::kDeadLetter, false},
      /* kUnsupported */ {"UNSUPPORTED", Disposition::kDeadLetter, false},
      /* kInternal    */ {"INTERNAL", Disposition::kRetry, false},
      /* kUnknown     */ {"UNKNOWN", Disposition::kRetry, false},
  };
  static_assert(sizeof kTable / sizeof kTable[0] == static_cast<size_t>(Outcome::kUnknown) + 1);
  return kTable[static_cast<size_t>(outcome)];
}

}  // namespace crmhost
