// A removed adapter file retires the adapter (issue 5 §1): its deliveries wait without burning
// attempts, the integration status says why, and putting a build back delivers them.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "support/eventually.h"
#include "support/host_process.h"
#include "support/http_client.h"
#include "support/receiver.h"
#include "support/temp_dir.h"
#include "support/visitor_events.h"

namespace crmhost::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 30s;
const char kKey[] = "acme-key";
const char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

TEST(RetiredAdapterTest, DeliveriesWaitForTheAdapterToComeBack) {
  TempDir dir;
  auto plugins = dir.path() / "plugins";
  std::filesystem::create_directories(plugins);
  std::filesystem::copy_file(WebhookPluginPath(), plugins / "webhook.so");
  Receiver receiver(kSecret);
  HostConfig config;
  config.plugin_dir = plugins.string();
  IntegrationSpec hook;
  hook.id = "hook";
  hook.url = receiver.url();
  hook.secret = kSecret;
  config.tenants.push_back({"acme", {kKey}, std::nullopt, {hook}});
  HostProcess host(dir.path(), config);
  host.Start();
  HttpClient client(host.base_url());
  auto status = [&] {
    auto integrations = client.Get("/v1/plugins", kKey).json()->getObject("integrations");
    return integrations->has("acme/hook") ? integrations->getValue<std::string>("acme/hook") : "";
  };

  std::filesystem::remove(plugins / "webhook.so");
  ASSERT_TRUE(Eventually([&] { return status().find("retired") != std::string::npos; }, kDeadline)) << status();
  auto r = client.PostJson("/v1/events", VisitorEvent(kCheckedIn), kKey);
  ASSERT_EQ(r.status, 202) << r.body;
  std::this_thread::sleep_for(1500ms);  // time for attempts, were any (wrongly) made
  auto waiting = ListDeliveries(client, kKey, "status=pending");
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].attempts, 0) << "a delivery with no adapter burns no attempt";
  EXPECT_NE(waiting[0].last_error.find("no loaded adapter"), std::string::npos) << waiting[0].last_error;
  EXPECT_EQ(receiver.count(), 0u);

  // Put it back the way an operator should: a temp name, then an atomic rename over.
  std::filesystem::copy_file(WebhookPluginPath(), plugins / "webhook.so.new");
  std::filesystem::rename(plugins / "webhook.so.new", plugins / "webhook.so");
  ASSERT_TRUE(Eventually([&] { return status().rfind("serving", 0) == 0; }, kDeadline)) << status();
  // Parked deliveries are looked at again after the park interval (5 s).
  ASSERT_TRUE(receiver.WaitForCount(1, kDeadline));
  ASSERT_TRUE(Eventually([&] { return ListDeliveries(client, kKey, "status=delivered").size() == 1; }, kDeadline));
  EXPECT_EQ(ListDeliveries(client, kKey, "status=delivered")[0].attempts, 1);
  EXPECT_EQ(host.Stop(), std::optional<int>(0));
}

}  // namespace
}  // namespace crmhost::testing
