// The dispatcher's pace with more deliveries due than it keeps in flight (32 per worker), through
// the real binary: the backlog drains at the workers' pace, without idle pauses.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "support/eventually.h"
#include "support/host_process.h"
#include "support/http_client.h"
#include "support/temp_dir.h"
#include "support/visitor_events.h"

namespace crmhost::testing {
namespace {

using namespace std::chrono_literals;

const char kKey[] = "acme-key";
const char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

IntegrationSpec Misbehaving(const std::string& id, const std::string& mode,
                            std::vector<std::string> events) {
  IntegrationSpec s;
  s.id = id;
  s.adapter = "misbehaving";
  s.events = std::move(events);
  s.url = "http://127.0.0.1:9/unused";
  s.secret = kSecret;
  s.extra_config = {{"mode", mode}, {"hang_ms", "1000"}};
  return s;
}

// Once a backlog stalled: a round that settled every call in flight but leased nothing (it still
// counted those outcomes as in flight) was followed by a one-second idle wait, so a backlog
// drained at 32 deliveries a second per worker. Instant deliveries make that round likely.
TEST(BacklogTest, DrainsBeyondTheInFlightLimitWithoutPausing) {
  TempDir dir;
  const auto plugins = dir.path() / "plugins";
  std::filesystem::create_directories(plugins);
  std::filesystem::copy_file(CRMHOST_MISBEHAVING_SO, plugins / "misbehaving.so");
  HostConfig config;
  config.plugin_dir = plugins.string();
  config.workers = 1;
  TenantSpec acme{"acme", {kKey}, std::nullopt, {}};
  // check-outs hold the one worker for a second; check-ins are delivered at once.
  acme.integrations.push_back(Misbehaving("slow", "hang", {kCheckedOut}));
  acme.integrations.push_back(Misbehaving("instant", "ok", {kCheckedIn}));
  config.tenants.push_back(acme);
  HostProcess host(dir.path(), config);
  host.Start();
  HttpClient client(host.base_url());

  auto post = [&](const std::string& type, const std::string& email) {
    auto r = client.PostJson("/v1/events", VisitorEvent(type, email), kKey);
    ASSERT_EQ(r.status, 202) << r.body;
  };
  post(kCheckedOut, "holder@example.com");
  ASSERT_TRUE(Eventually([&] { return !ListDeliveries(client, kKey, "status=leased").empty(); }, 20s));
  constexpr size_t kBacklog = 8 * 32;
  for (size_t i = 0; i < kBacklog; ++i) post(kCheckedIn, "v" + std::to_string(i) + "@example.com");
  const auto posted = std::chrono::steady_clock::now();

  ASSERT_TRUE(Eventually(
      [&] { return ListDeliveries(client, kKey, "status=delivered&limit=1000").size() == kBacklog + 1; },
      20s));
  // The holder answers within a second of the posts; the backlog then takes milliseconds.
  // Stalled, it took a second per 32.
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - posted);
  EXPECT_LT(took.count(), 3500) << kBacklog << " instant deliveries took " << took.count() << " ms";
  EXPECT_EQ(host.Stop(), std::optional<int>(0)) << host.stderr_text();
}

}  // namespace
}  // namespace crmhost::testing
