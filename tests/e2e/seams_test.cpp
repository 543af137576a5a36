// Through the real binary: the data_dir lock taken before the database is opened, a webhook
// secret the adapter cannot use refused at create, the operator API on its own address, and a
// visitor without a company.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

// A second crmhost must not open, let alone migrate, a database that a running one serves. The
// test holds the data_dir lock as a running crmhost would, beside an empty database file: a
// crmhost that opened the database before taking the lock would write the schema into it.
TEST_F(E2eTest, ASecondCrmhostOnALockedDataDirExitsWithoutTouchingTheDatabase) {
  const auto data = dir_.path() / "data";
  std::filesystem::create_directories(data);
  dir_.Write("data/crmhost.db", "");
  int lock = ::open((data / "crmhost.lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0);

  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  HostProcess second(dir_.path(), config);
  try {
    second.Start();
    FAIL() << "a second crmhost started on a locked data_dir";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another crmhost is using data_dir"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(second.Stop(), std::optional<int>(1));
  EXPECT_EQ(std::filesystem::file_size(data / "crmhost.db"), 0u)
      << "the refused crmhost migrated the database";
  ::close(lock);
}

// A secret that is not whsec_ + base64 once passed start ("ready, signed") and then sent every
// delivery to the dead letters with BAD_CONFIG. Now the integration is refused when it is created,
// the reason names the key, and its deliveries wait instead of dying; the tenant's other
// integration delivers as usual.
TEST_F(E2eTest, AWebhookSecretTheAdapterCannotUseIsRefusedAtStartNamingTheKey) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  TenantSpec t = Tenant("acme", "acme-key", receiver);
  IntegrationSpec broken = t.integrations[0];
  broken.id = "broken-secret";
  broken.secret = "just-some-password";
  t.integrations.push_back(broken);
  config.tenants.push_back(t);
  StartHost(config);

  const HttpResponse ready = Client().Get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  auto why = ready.json()->getObject("integrations")->optValue<std::string>("acme/broken-secret", "");
  EXPECT_NE(why.find("secret must be \"whsec_\""), std::string::npos) << ready.body;
  EXPECT_EQ(ready.body.find("just-some-password"), std::string::npos) << "the value never shows";
  EXPECT_EQ(host_->stderr_text().find("just-some-password"), std::string::npos);

  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  ASSERT_TRUE(receiver.WaitForCount(1, kDeadline)) << "the good integration still delivers";
  std::this_thread::sleep_for(300ms);
  for (const auto& d : ListDeliveries(Client(), "acme-key")) {
    if (d.integration != "broken-secret") continue;
    EXPECT_EQ(d.status, "pending") << "waits for a usable config instead of dying";
    EXPECT_EQ(d.attempts, 0);
  }
}

// With `admin_listen`, the operator API answers there and not on `listen`, and the tenant API
// only on `listen`; the probes answer on both.
TEST_F(E2eTest, AdminListenServesTheOperatorApiApart) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.admin_key = "admin-key";
  config.extra_yaml = "admin_listen: 127.0.0.1:0\n";
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);
  const std::string admin_url = ReadFile(host_->dir() / "crmhost.ready.admin");
  ASSERT_EQ(admin_url.rfind("http://127.0.0.1:", 0), 0u) << admin_url;
  ASSERT_NE(admin_url, host_->base_url());
  HttpClient tenant_api = Client(), admin_api(admin_url);

  EXPECT_EQ(admin_api.Get("/v1/plugins", "admin-key").status, 200);
  EXPECT_EQ(admin_api.PostJson("/v1/plugins/webhook/reload", "{}", "admin-key").status, 200);
  EXPECT_EQ(tenant_api.Get("/v1/plugins", "admin-key").status, 404);
  EXPECT_EQ(tenant_api.PostJson("/v1/plugins/webhook/reload", "{}", "admin-key").status, 404);
  EXPECT_EQ(admin_api.PostJson("/v1/events", VisitorEvent(kCheckedIn), "acme-key").status, 404);
  EXPECT_EQ(admin_api.Get("/v1/deliveries", "acme-key").status, 404);
  for (auto* api : {&tenant_api, &admin_api}) {
    EXPECT_EQ(api->Get("/healthz").status, 200);
    EXPECT_EQ(api->Get("/readyz").status, 200);
  }
  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  WaitForDeliveries("acme-key", id, "delivered");
}

TEST_F(E2eTest, AVisitorWithoutACompanyIsAcceptedAndDelivered) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);
  const std::string body =
      R"({"event":"visitor.checked_in","timestamp":"2026-04-15T10:05:00Z",)"
      R"("visitor":{"email":"solo@example.com","first_name":"Sam","last_name":"Solo"},)"
      R"("visit":{"host":"John Doe","site":"Munich HQ","checked_in_at":"2026-04-15T10:05:00Z"}})";
  const std::string id = PostEvent("acme-key", body);
  WaitForDeliveries("acme-key", id, "delivered");
  ASSERT_TRUE(receiver.WaitForCount(1, kDeadline));
  EXPECT_EQ(receiver.arrivals()[0].body, body) << "byte for byte";
}

}  // namespace
}  // namespace crmhost::testing
