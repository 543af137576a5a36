// An adapter built long ago keeps working: abi_v10.so was compiled by clang, in plain C, against
// the frozen v1.0 header only (tests/abi/v1.0). Today's crmhost, built by g++ from the live
// header, must accept it in `plugin check` and deliver through it beside today's webhook adapter.
#include <filesystem>
#include <string>

#include "e2e/e2e_fixture.h"

namespace crmhost::testing {
namespace {

class AbiV10 : public E2eTest {
 protected:
  void SetUp() override {
    if (!std::string(CRMHOST_CLANG_MISSING).empty()) FAIL() << CRMHOST_CLANG_MISSING;
    ASSERT_TRUE(std::filesystem::exists(CRMHOST_ABI_V10_SO))
        << CRMHOST_ABI_V10_SO << " was not built (target crmhost_abi_v10_adapter)";
  }

  // A plugin_dir holding copies of abi_v10.so and today's webhook.so.
  std::string PluginDir() const {
    const std::filesystem::path dir = dir_ / "plugins";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(CRMHOST_ABI_V10_SO, dir / "abi_v10.so");
    std::filesystem::copy_file(WebhookPluginPath(), dir / "webhook.so");
    return dir.string();
  }
};

TEST_F(AbiV10, IsBuiltByClangNotByTheHostsCompiler) {
  // clang records itself in the image's .comment section ("Debian clang version 14...").
  const std::string image = ReadFile(CRMHOST_ABI_V10_SO);
  EXPECT_NE(image.find("clang version"), std::string::npos)
      << CRMHOST_ABI_V10_SO << " carries no clang version string";
}

TEST_F(AbiV10, PluginCheckAcceptsIt) {
  const CommandResult r =
      RunCommand({CrmhostBinary(), "plugin", "check", CRMHOST_ABI_V10_SO}, dir_.path());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("name:            abi_v10"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("abi:             1.0"), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find("refused"), std::string::npos) << r.out << r.err;
}

TEST_F(AbiV10, DeliversBesideTodaysWebhookAdapter) {
  Receiver old_crm(NewWhsecSecret());
  Receiver webhook_receiver(NewWhsecSecret());
  HostConfig config;
  config.plugin_dir = PluginDir();
  TenantSpec acme = Tenant("acme", "acme-key", webhook_receiver);
  IntegrationSpec v10;
  v10.id = "acme-v10";
  v10.adapter = "abi_v10";
  v10.url = old_crm.url("/v10");
  v10.secret = old_crm.secret();
  acme.integrations.push_back(v10);
  config.tenants.push_back(acme);
  StartHost(config);

  const HttpResponse plugins = Client().Get("/v1/plugins", "acme-key");
  ASSERT_EQ(plugins.status, 200) << plugins.body;
  EXPECT_EQ(plugins.json()->getArray("refused")->size(), 0u) << plugins.body;
  Poco::JSON::Array::Ptr loaded = plugins.json()->getArray("plugins");
  Poco::JSON::Object::Ptr old_adapter;
  for (size_t i = 0; i < loaded->size(); ++i) {
    Poco::JSON::Object::Ptr p = loaded->getObject(static_cast<unsigned>(i));
    if (JsonString(p, "name") == "abi_v10") old_adapter = p;
  }
  ASSERT_FALSE(old_adapter.isNull()) << plugins.body;
  EXPECT_EQ(JsonString(old_adapter, "abi_version"), "1.0");
  EXPECT_EQ(JsonString(old_adapter, "version"), "1.0.0-frozen");

  const std::string body = VisitorEvent(kCheckedIn);
  const std::string event_id = PostEvent("acme-key", body);
  const auto rows = WaitForDeliveries("acme-key", event_id, "delivered", 2);
  ASSERT_EQ(rows.size(), 2u);
  std::string v10_delivery;
  for (const DeliveryView& d : rows) {
    if (d.integration == "acme-v10") v10_delivery = d.id;
  }
  ASSERT_FALSE(v10_delivery.empty());

  // What the old adapter sent: every v1.0 host service crossed the compiler boundary intact
  // (http_send carried its headers and body; hmac_sha256 and wall_clock_ms made a signature the
  // receiver verifies).
  ASSERT_TRUE(old_crm.WaitForCount(1, kDeadline));
  const Arrival a = old_crm.arrivals().at(0);
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.path, "/v10");
  EXPECT_EQ(a.body, body);
  EXPECT_EQ(a.webhook_id, v10_delivery);
  EXPECT_TRUE(a.verified()) << "signature " << a.webhook_signature << " timestamp "
                            << a.webhook_timestamp;
  EXPECT_EQ(a.headers.count("x-crmhost-adapter") ? a.headers.at("x-crmhost-adapter") : "",
            "abi_v10");
  EXPECT_EQ(old_crm.count(), 1u);
  ASSERT_TRUE(webhook_receiver.WaitForCount(1, kDeadline));
  EXPECT_TRUE(webhook_receiver.arrivals().at(0).verified());

  // And its log line (host_api.log) reached the host's log, tagged with the integration.
  EXPECT_TRUE(Eventually(
      [&] {
        return host_->stderr_text().find("abi_v10: delivering one event") != std::string::npos;
      },
      kDeadline))
      << host_->stderr_text();
}

}  // namespace
}  // namespace crmhost::testing
