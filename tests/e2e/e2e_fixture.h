// Shared set-up of the end-to-end tests: each test gets its own temp dir, receivers on ephemeral
// ports and its own crmhost process (also on port 0), and waits on observable state with
// deadlines.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "support/eventually.h"
#include "support/host_process.h"
#include "support/http_client.h"
#include "support/receiver.h"
#include "support/temp_dir.h"
#include "support/visitor_events.h"
#include "support/webhook_signature.h"

namespace crmhost::testing {

using namespace std::chrono_literals;

inline const std::regex kEventId("^evt_[0-9a-f]{26}$");
inline const std::regex kDeliveryId("^dlv_[0-9a-f]{26}$");

// Long enough for an ASan build on a loaded 2-core machine; tests pass in a fraction of it.
inline constexpr std::chrono::milliseconds kDeadline = 20s;

class E2eTest : public ::testing::Test {
 protected:
  // Stops crmhost with SIGTERM and expects exit 0; prints its stderr when the test failed.
  void TearDown() override;

  // A tenant `id` with key `api_key` and one webhook integration `<id>-webhook` to `receiver`.
  static TenantSpec Tenant(const std::string& id, const std::string& api_key,
                           const Receiver& receiver, std::vector<std::string> events = {});
  // Two tenants, acme (key "acme-key") and beta ("beta-key"), each with one webhook integration to
  // its receiver, and the admin key `admin_key`: the operator tests' host.
  static HostConfig AcmeAndBeta(const std::string& admin_key, const Receiver& acme,
                                const Receiver& beta);

  // Starts crmhost on `config` in this test's directory (throws with its stderr on failure).
  HostProcess& StartHost(HostConfig config, std::map<std::string, std::string> env = {});
  HttpClient Client() const { return HttpClient(host_->base_url()); }

  // POST /v1/events; throws unless 202 with an evt_ id. Returns the event id.
  std::string PostEvent(const std::string& api_key, const std::string& body,
                        Headers extra = {}) const;
  // Polls until the event has `count` deliveries, all in `status`; returns them (fails the test
  // with the last rows seen on timeout).
  std::vector<DeliveryView> WaitForDeliveries(const std::string& api_key,
                                              const std::string& event_id,
                                              const std::string& status, size_t count = 1,
                                              std::chrono::milliseconds timeout = kDeadline) const;

  TempDir dir_;
  std::unique_ptr<HostProcess> host_;
};

}  // namespace crmhost::testing
