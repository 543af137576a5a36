// The registry with the real webhook.so: integrations keyed by (tenant, integration), and
// configs the adapter cannot use refused when the instance is created.
#include "plugins/adapter_registry.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "host/plugins/webhook_config.h"

namespace crmhost {
namespace {

using testing::AddIntegration;
using testing::WebhookIntegration;

class AdapterRegistryTest : public ::testing::Test {
 protected:
  AdapterRegistry& Load(const Config& config) {
    registry_ = std::make_unique<AdapterRegistry>(testing::WebhookPluginDir(dir_).string(),
                                                  (dir_ / "copies").string(), clock_,
                                                  reference_secrets());
    registry_->load(testing::Integrations(config));
    return *registry_;
  }
  testing::TempDir dir_;
  SystemClock clock_;
  std::unique_ptr<AdapterRegistry> registry_;
};

// Tenant "a/b" with integration "c" and tenant "a" with integration "b/c" once shared the key
// "a/b/c", so one tenant could be handed the other's instance. The loader now refuses such ids;
// the registry keys by the pair all the same.
TEST_F(AdapterRegistryTest, KeysArePairsSoNoTwoTenantsShareAnInstance) {
  Config config;
  AddIntegration(config, WebhookIntegration("a/b", "c", "http://127.0.0.1:9/first"));
  AddIntegration(config, WebhookIntegration("a", "b/c", "http://127.0.0.1:9/second"));
  auto& registry = Load(config);
  auto first = registry.integration({"a/b", "c"});
  auto second = registry.integration({"a", "b/c"});
  ASSERT_TRUE(first && second);
  EXPECT_NE(first, second);
  EXPECT_EQ(first->config().tenant_id, "a/b");
  EXPECT_EQ(second->config().tenant_id, "a");

  registry.suspend({"a", "b/c"}, "test");
  EXPECT_EQ(registry.integration({"a/b", "c"}), first) << "suspending one left the other";
  EXPECT_EQ(registry.integration({"a", "b/c"}), nullptr);
}

// A webhook secret that is not whsec_ + base64 could sign nothing: the instance is refused at
// create, naming the key, instead of serving and dead-lettering every delivery.
TEST_F(AdapterRegistryTest, AWebhookSecretThatIsNotWhsecIsRefusedAtCreate) {
  Config config;
  AddIntegration(config, WebhookIntegration("acme", "signed"));
  AddIntegration(config, WebhookIntegration("acme", "broken", "http://127.0.0.1:9/hook",
                                            "not-a-standard-webhooks-secret"));
  auto& registry = Load(config);
  EXPECT_NE(registry.integration({"acme", "signed"}), nullptr);
  EXPECT_EQ(registry.integration({"acme", "broken"}), nullptr);
  auto snap = registry.snapshot();
  auto why = snap->unavailable.find({"acme", "broken"});
  ASSERT_NE(why, snap->unavailable.end());
  EXPECT_NE(why->second.find("secret must be \"whsec_\""), std::string::npos) << why->second;
  EXPECT_EQ(why->second.find("not-a-standard"), std::string::npos) << "the value never shows";
}

TEST_F(AdapterRegistryTest, ASecretReferenceThatNoLongerResolvesNamesItsKey) {
  Config config;
  ::unsetenv("CRMHOST_TEST_GONE");
  AddIntegration(config, WebhookIntegration("acme", "hook", "http://127.0.0.1:9/hook",
                                            "env:CRMHOST_TEST_GONE"));
  auto& registry = Load(config);
  auto snap = registry.snapshot();
  auto why = snap->unavailable.find({"acme", "hook"});
  ASSERT_NE(why, snap->unavailable.end());
  EXPECT_NE(why->second.find("config.secret: environment variable CRMHOST_TEST_GONE"),
            std::string::npos)
      << why->second;
}

}  // namespace
}  // namespace crmhost
