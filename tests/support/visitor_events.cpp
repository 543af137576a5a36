#include "support/visitor_events.h"

#include <stdexcept>

namespace crmhost::testing {

const char* const kSeedPreRegisteredBody = R"({
  "event": "visitor.pre_registered",
  "timestamp": "2026-04-15T09:30:00Z",
  "visitor": {
    "email": "jane.smith@example.com",
    "first_name": "Jane",
    "last_name": "Smith",
    "company": "Acme Corp"
  },
  "visit": {
    "host": "John Doe",
    "site": "Munich HQ",
    "expected_arrival": "2026-04-15T10:00:00Z",
    "purpose": "Project kickoff"
  }
})";

std::string VisitorEvent(const std::string& event_type, const std::string& email,
                         const std::string& id) {
  std::string visit;
  std::string timestamp;
  if (event_type == kPreRegistered) {
    timestamp = "2026-04-15T09:30:00Z";
    visit =
        R"({"host":"John Doe","site":"Munich HQ","expected_arrival":"2026-04-15T10:00:00Z","purpose":"Project kickoff"})";
  } else if (event_type == kCheckedIn) {
    timestamp = "2026-04-15T10:05:00Z";
    visit = R"({"host":"John Doe","site":"Munich HQ","checked_in_at":"2026-04-15T10:05:00Z"})";
  } else if (event_type == kCheckedOut) {
    timestamp = "2026-04-15T14:30:00Z";
    visit =
        R"({"host":"John Doe","site":"Munich HQ","checked_in_at":"2026-04-15T10:05:00Z","checked_out_at":"2026-04-15T14:30:00Z","documents_signed":["NDA v3","WiFi Policy v1"]})";
  } else {
    throw std::invalid_argument("unknown event type " + event_type);
  }
  std::string body = "{";
  if (!id.empty()) body += R"("id":")" + id + R"(",)";
  body += R"("event":")" + event_type + R"(","timestamp":")" + timestamp + R"(",)";
  body += R"("visitor":{"email":")" + email +
          R"(","first_name":"Jane","last_name":"Smith","company":"Acme Corp"},)";
  body += R"("visit":)" + visit + "}";
  return body;
}

}  // namespace crmhost::testing
