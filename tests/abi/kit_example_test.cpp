// sdk/examples/minimal, as an author builds it against the installed SDK (the ctest fixture
// abi.kit.install_build_and_check_example leaves it in build/tests/abi/kit), loaded by a running
// crmhost and delivering: the last step of sdk/README.md, "Test against a running crmhost".
#include <filesystem>
#include <string>

#include "e2e/e2e_fixture.h"

namespace crmhost::testing {
namespace {

class KitExample : public E2eTest {};

TEST_F(KitExample, DeliversThroughARunningCrmhost) {
  ASSERT_TRUE(std::filesystem::exists(CRMHOST_KIT_EXAMPLE_SO))
      << CRMHOST_KIT_EXAMPLE_SO
      << " is missing: run ctest -R abi.kit first (a fixture of this test)";
  const std::filesystem::path plugins = dir_ / "plugins";
  std::filesystem::create_directories(plugins);
  std::filesystem::copy_file(CRMHOST_KIT_EXAMPLE_SO, plugins / "examplecrm.so");

  Receiver crm(NewWhsecSecret());  // the example does not sign; the receiver only records
  HostConfig config;
  config.plugin_dir = plugins.string();
  TenantSpec acme;
  acme.id = "acme";
  acme.api_keys = {"acme-key"};
  IntegrationSpec example;
  example.id = "acme-examplecrm";
  example.adapter = "examplecrm";
  example.url = crm.url("/visits");
  example.secret = crm.secret();  // unused by the example; the host keeps it
  acme.integrations.push_back(example);
  config.tenants.push_back(acme);
  StartHost(config);

  const std::string body = VisitorEvent(kPreRegistered);
  const std::string event_id = PostEvent("acme-key", body);
  const auto rows = WaitForDeliveries("acme-key", event_id, "delivered");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].integration, "acme-examplecrm");
  EXPECT_EQ(rows[0].last_http_status, 204);

  ASSERT_TRUE(crm.WaitForCount(1, kDeadline));
  const Arrival a = crm.arrivals().at(0);
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.path, "/visits");
  EXPECT_EQ(a.body, body);
  EXPECT_EQ(a.headers.count("idempotency-key") ? a.headers.at("idempotency-key") : "", rows[0].id);
  EXPECT_EQ(a.headers.count("x-event-type") ? a.headers.at("x-event-type") : "", kPreRegistered);
}

TEST_F(KitExample, RefusesAConfigWithoutUrlAndSaysSoInReadyz) {
  ASSERT_TRUE(std::filesystem::exists(CRMHOST_KIT_EXAMPLE_SO)) << CRMHOST_KIT_EXAMPLE_SO;
  const std::filesystem::path plugins = dir_ / "plugins";
  std::filesystem::create_directories(plugins);
  std::filesystem::copy_file(CRMHOST_KIT_EXAMPLE_SO, plugins / "examplecrm.so");

  HostConfig config;
  config.plugin_dir = plugins.string();
  TenantSpec acme;
  acme.id = "acme";
  acme.api_keys = {"acme-key"};
  IntegrationSpec example;
  example.id = "acme-examplecrm";
  example.adapter = "examplecrm";
  example.url = "";  // written as url: "" -> the example's create answers BAD_CONFIG
  example.secret = NewWhsecSecret();
  acme.integrations.push_back(example);
  config.tenants.push_back(acme);
  StartHost(config);

  const HttpResponse ready = Client().Get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("acme-examplecrm"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("config needs"), std::string::npos) << ready.body;
}

}  // namespace
}  // namespace crmhost::testing
