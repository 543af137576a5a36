// The host services table as an adapter sees it, on a real Integration of webhook.so.
#include "plugins/host_services.h"

#include <gtest/gtest.h>

#include "plugins/adapter_library.h"
#include "plugins/integration.h"
#include "host/plugins/webhook_config.h"

#include <tuple>

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

// A request that asks for the credential gets it only for the connection's API base, and only
// over https (or to this machine): an adapter cannot send the token anywhere else.
class Recording final : public HttpTransport {
 public:
  HttpExchange send(const crmh_http_request& request, int64_t) override {
    urls.emplace_back(request.url.ptr, request.url.len);
    HttpExchange x;
    x.status = 200;
    return x;
  }
  std::vector<std::string> urls;
};

class FixedCredential final : public CredentialSource {
 public:
  explicit FixedCredential(std::string base) : base_(std::move(base)) {}
  Expected<Credential> credential(const Integration&) override {
    return Credential{"Bearer secret-token", base_};
  }
  Expected<Credential> after_rejection(const Integration& in, const std::string&) override {
    return credential(in);
  }

 private:
  std::string base_;
};

TEST_F(HostServicesTest, TheCredentialGoesToTheApiBaseOnlyAndOnlyOverHttps) {
  auto lib = AdapterLibrary::load(std::string(CRMHOST_OAUTH_PLUGIN_DIR) + "/oauthhub.so",
                                  (dir_ / "copies").string());
  ASSERT_TRUE(lib.ok()) << lib.error();
  IntegrationConfig ic;
  ic.tenant_id = "acme";
  ic.id = "crm";
  ic.adapter = "oauthhub";
  ic.config_json = "{}";
  for (const auto& [base, asked, sent] : std::vector<std::tuple<std::string, std::string, bool>>{
           {"https://api.example.com", "/v3/objects", true},
           {"https://api.example.com", "https://api.example.com/v3/objects", true},
           {"https://api.example.com", "https://api.example.com.evil.test/x", false},
           {"https://api.example.com", "https://evil.test/v3/objects", false},
           {"http://api.example.com", "/v3/objects", false},
           {"http://127.0.0.1:9", "/v3/objects", true},
       }) {
    FixedCredential source(base);
    auto in = Integration::create(ic, *lib, clock_, reference_secrets(), &source);
    ASSERT_TRUE(in.ok()) << in.error();
    Recording http;
    crmh_call call(in->get(), &http, clock_.monotonic_ms() + 1000);
    crmh_http_request req{};
    req.struct_size = sizeof req;
    req.method = S("GET");
    req.url = {asked.data(), asked.size()};
    req.flags = CRMH_REQUEST_USE_CREDENTIAL;
    crmh_http_response resp{};
    resp.struct_size = sizeof resp;
    crmh_status status = host_api()->http_send(&call, &req, &resp);
    EXPECT_EQ(status == CRMH_OK, sent) << base << " " << asked;
    EXPECT_EQ(http.urls.size(), sent ? 1u : 0u) << base << " " << asked;
  }
}

}  // namespace
}  // namespace crmhost
