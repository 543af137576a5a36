// The one outcome vocabulary, from an adapter's crmh_status to the attempts and dead-letter rows.
//
// An adapter classifies what the CRM answered (crmh_status, sdk/include/crmhost/adapter.h); the
// host decides what follows. Both halves meet here: outcome_of() reads a crmh_status, and
// describe() is the table that says, for every outcome, the name written to the attempts table,
// the logs and the dead-letter reason, and what the host does next. Nothing else in the host
// maps a status or spells an outcome's name.
#pragma once

#include <cstdint>
#include <string_view>

#include <crmhost/adapter.h>

namespace crmhost {

enum class Outcome {
  kOk,
  kRetry,
  kRateLimited,
  kAuthExpired,
  kPermanent,
  kBadConfig,
  kUnsupported,
  kInternal,
  kUnknown,  // a value the host does not know (from a newer adapter)
};

// What the host does with a delivery after an attempt with that outcome (before counting
// attempts: a retry past the last attempt dead-letters).
enum class Disposition {
  kDelivered,
  kRetry,       // again after the backoff delay
  kDeadLetter,  // at once: it will never succeed as sent
};

struct OutcomeTraits {
  std::string_view name;     // "RATE_LIMITED": the attempts table, the logs, dead reasons
  Disposition disposition;
  bool honours_retry_after;  // a longer wait the CRM asked for replaces the backoff delay
};

Outcome outcome_of(crmh_status status);
// The table. AUTH_EXPIRED is retried with the backoff like any transient failure: the host does
// not refresh credentials yet (the OAuth issue makes it refresh before the retry).
const OutcomeTraits& describe(Outcome outcome);
inline std::string_view outcome_name(Outcome outcome) { return describe(outcome).name; }

}  // namespace crmhost
