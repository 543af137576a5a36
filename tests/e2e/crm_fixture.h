// Shared set-up of the CRM adapters' end-to-end tests: the real binary with the bundled adapter
// (plugins/<adapter>) serving one integration `crm` of tenant `acme` against a fake CRM from
// tests/fakes, its client secret held by the host (env:), a master key so that OAuth tokens are
// sealed, and fast retries.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "e2e_fixture.h"
#include "fakes/fake_crm.h"

namespace crmhost::testing {

inline constexpr char kCrmClientId[] = "crmhost-test-client";
inline constexpr char kCrmClientSecret[] = "s3cret-of-the-crm-client";
inline constexpr char kVisitorEmail[] = "jane.smith@example.com";

struct CrmIntegration {
  std::string adapter;
  std::map<std::string, std::string> config;  // besides client_id/client_secret, lookup
  std::string mapping;                        // the `mapping` block, YAML flow style
  std::vector<std::string> events;            // empty = all
  std::string deliver_timeout = "3s";
  int attempts = 10;
  bool oauth_client = true;  // client_id and client_secret (env:) in the config
};

class CrmE2eTest : public E2eTest {
 protected:
  void StartCrm(const CrmIntegration& spec, std::map<std::string, std::string> env = {});
  // POST /v1/events with a VisitorEvent of `type` for `email`; returns the event id.
  std::string Post(const std::string& type, const std::string& email = kVisitorEmail,
                   const std::string& body = "");
  // Waits until the event's one delivery is in `status`; returns it.
  DeliveryView Await(const std::string& event_id, const std::string& status);
  // Restarts the host on the same data directory.
  void Restart();
  // POST /v1/deliveries/{id}/replay; expects 202.
  void Replay(const std::string& delivery_id);
  // GET /v1/contacts?email=..[&timeout=..] as the tenant; the parsed 200 answer and its time.
  struct LookupAnswer {
    Poco::JSON::Object::Ptr json;
    int64_t elapsed_ms = 0;
  };
  LookupAnswer Lookup(const std::string& email, const std::string& timeout = "");
  // The look-up of `email` (which the CRM knows) while `fake` answers 503 and then while it is
  // slow: "skipped" both times, the slow one at its 300 ms deadline, not when the CRM answers.
  void ExpectLookUpSkippedWhenTheCrmIsDownOrSlow(FakeCrm& fake, const std::string& email);
  // POST /v1/integrations/crm/test as the tenant: the adapter's cheap authenticated read.
  Poco::JSON::Object::Ptr TestConnection();

  HostConfig config_;
  std::map<std::string, std::string> env_;
};

// obj[key] as text ("" when absent or null); obj may be a record of a fake.
std::string Text(const Poco::JSON::Object::Ptr& obj, const std::string& key);

}  // namespace crmhost::testing
