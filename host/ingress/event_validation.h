// Validation of a POST /v1/events body against the visitor event of the product documents
// (seeds/atrium-generic-webhook.txt). Pure; thread-safe.
#pragma once

#include <string>

#include "common/expected.h"
#include "http/exchange.h"

namespace crmhost {

struct VisitorEvent {
  std::string type;  // visitor.pre_registered | visitor.checked_in | visitor.checked_out
  std::string id;    // the client's optional event id (an idempotency key); empty = none
};

// On failure `problem` names the field (JSON path) and what is wrong with it (HTTP 400).
Expected<VisitorEvent> validate_event(const std::string& body, Problem* problem);

// One '@', no whitespace, and a dot inside the domain (not at its ends); at most 254 bytes.
bool plausible_email(std::string_view s);

}  // namespace crmhost
