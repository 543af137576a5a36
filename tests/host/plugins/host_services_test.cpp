// The host services table as an adapter sees it, on a real Integration of webhook.so.
#include "plugins/host_services.h"

#include <gtest/gtest.h>

#include "plugins/adapter_library.h"
#include "plugins/integration.h"
#include "host/plugins/webhook_config.h"

namespace crmhost {
namespace {

crmh_str S(const char* s) { return {s, std::strlen(s)}; }

class HostServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lib = AdapterLibrary::load(CRMHOST_WEBHOOK_SO, (dir_ / "copies").string());
    ASSERT_TRUE(lib.ok()) << lib.error();
    auto in = Integration::create(testing::WebhookIntegration("acme", "hook"), *lib, clock_,
                                  reference_secrets());
    ASSERT_TRUE(in.ok()) << in.error();
    integration_ = *in;
  }
  testing::TempDir dir_;
  SystemClock clock_;
  std::shared_ptr<Integration> integration_;
};

TEST_F(HostServicesTest, TheTableIsThisHostsAbiWithEveryServiceSet) {
  const crmh_host_api* api = host_api();
  EXPECT_EQ(api->struct_size, sizeof(crmh_host_api));
  EXPECT_EQ(api->abi_major, CRMH_ABI_MAJOR);
  EXPECT_EQ(api->abi_minor, CRMH_ABI_MINOR);
  EXPECT_TRUE(api->log && api->wall_clock_ms && api->monotonic_ms && api->http_send &&
              api->hmac_sha256 && api->check_secret);
}

// check_secret (1.1) and hmac_sha256 agree: a secret is usable in a format exactly when it signs.
TEST_F(HostServicesTest, CheckSecretSaysWhetherHmacWouldSign) {
  const crmh_host_api* api = host_api();
  void* ctx = integration_.get();
  EXPECT_EQ(api->check_secret(ctx, S("secret"), CRMH_KEY_WHSEC_BASE64), CRMH_OK);
  EXPECT_EQ(api->check_secret(ctx, S("secret"), CRMH_KEY_RAW), CRMH_OK);
  EXPECT_EQ(api->check_secret(ctx, S("password"), CRMH_KEY_RAW), CRMH_BAD_CONFIG) << "not set";
  EXPECT_EQ(api->check_secret(ctx, S("secret"), 99), CRMH_BAD_CONFIG) << "no such format";

  crmh_call call{integration_.get(), nullptr, 0};
  uint8_t mac[32];
  EXPECT_EQ(api->hmac_sha256(&call, S("secret"), CRMH_KEY_WHSEC_BASE64, S("m"), mac), CRMH_OK);
  EXPECT_EQ(api->hmac_sha256(&call, S("password"), CRMH_KEY_RAW, S("m"), mac), CRMH_BAD_CONFIG);
}

TEST_F(HostServicesTest, ClocksAreTheIntegrationsClock) {
  const crmh_host_api* api = host_api();
  int64_t before = clock_.wall_ms();
  int64_t seen = api->wall_clock_ms(integration_.get());
  EXPECT_GE(seen, before);
  EXPECT_LE(seen, clock_.wall_ms());
  EXPECT_LE(api->monotonic_ms(integration_.get()), clock_.monotonic_ms());
}

}  // namespace
}  // namespace crmhost
