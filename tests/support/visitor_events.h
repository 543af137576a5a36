// Visitor event bodies for POST /v1/events, shaped like the payloads of the product's webhook
// documentation (shared/seeds/atrium-generic-webhook.txt).
#pragma once

#include <string>

namespace crmhost::testing {

inline constexpr const char* kPreRegistered = "visitor.pre_registered";
inline constexpr const char* kCheckedIn = "visitor.checked_in";
inline constexpr const char* kCheckedOut = "visitor.checked_out";

// The seed's pre-registration example, byte for byte in its layout (indentation, newlines), so a
// test can tell whether the host forwards the exact bytes it acknowledged.
extern const char* const kSeedPreRegisteredBody;

// A compact, valid event of `event_type` (one of the three above) for visitor `email`. A non-empty
// `id` adds the optional client event id used for idempotency.
std::string VisitorEvent(const std::string& event_type,
                         const std::string& email = "jane.smith@example.com",
                         const std::string& id = "");

}  // namespace crmhost::testing
