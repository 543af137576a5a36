// A contact look-up by email through an integration's adapter (lookup_contact), bounded by a
// deadline that covers everything, an OAuth refresh included: whatever the CRM does, the answer
// comes within the budget. A look-up that cannot answer in time, or whose CRM is down,
// rate-limited or refuses the credential, is "skipped" with the reason, never an error.
//
// The adapter call runs on a thread of its own; one that overruns the deadline is left to finish
// on it (the caller has its answer by then).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "plugins/integration.h"

namespace crmhost {

struct ContactLookup {
  bool found = false;
  std::string contact_json;  // with found: the adapter's contact object
  std::string skipped;       // non-empty: why there is no answer
};

ContactLookup lookup_contact(std::shared_ptr<Integration> integration, const std::string& email,
                             const Clock& clock, int64_t budget_ms);

// Waits (at most `max_wait_ms`) for look-up threads still finishing after their answer was
// given, so that none outlives the services it uses at shutdown. False when some still run.
// Thread-safe; called once the listeners have stopped.
bool drain_contact_lookups(int64_t max_wait_ms);

}  // namespace crmhost
