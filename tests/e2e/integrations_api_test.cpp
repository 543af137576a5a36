// Tenants and integrations made through the admin API, their secrets sealed under the master
// key, through the real binary: served without a restart, refused when unusable, read-only when
// declared in the file, tested on demand, and a secret found nowhere but sealed.
#include <sys/stat.h>

#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <future>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

const char kAdmin[] = "admin-key-for-tests";

class IntegrationsApiTest : public E2eTest {
 protected:
  // A new master key file made by `crmhost keygen`.
  std::filesystem::path Keygen(const std::string& name) {
    auto path = dir_.path() / name;
    auto r = RunCommand({CrmhostBinary(), "keygen", path.string()}, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote master key"), std::string::npos) << r.out;
    return path;
  }
  // The test's config: tenant acme from the file, the admin key, and `key` as master_key.
  HostConfig Config(const std::filesystem::path& key, Receiver& yaml_receiver) {
    HostConfig config;
    config.admin_key = kAdmin;
    if (!key.empty()) config.extra_yaml = "master_key: \"file:" + key.string() + "\"\n";
    config.tenants.push_back(Tenant("acme", "acme-key", yaml_receiver));
    return config;
  }
  HttpResponse Send(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& key = kAdmin) {
    Headers h{{"Authorization", "Bearer " + key}};
    if (!body.empty()) h.push_back({"Content-Type", "application/json"});
    auto r = Client().Send(method, path, body, h);
    responses_ += r.body + "\n";
    for (const auto& [k, v] : r.headers) responses_ += k + ": " + v + "\n";
    return r;
  }
  // Makes tenant `id` and returns its API key (shown once).
  std::string MakeTenant(const std::string& id) {
    auto r = Send("POST", "/v1/tenants", R"({"id":")" + id + R"(","ingest_rate":500})");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json()->getObject("api_key")->getValue<std::string>("key");
  }
  static std::string Webhook(const std::string& id, const std::string& url,
                             const std::string& secret, const std::string& extra = "") {
    return R"({"id":")" + id + R"(","adapter":"webhook",)" + extra + R"("config":{"url":")" +
           url + R"(","secret":")" + secret + R"("}})";
  }
  std::string responses_;  // every answer's body and headers, for the canary
};

TEST_F(IntegrationsApiTest, TenantsAndIntegrationsMadeThroughTheApiServeWithoutARestart) {
  Receiver yaml_receiver(NewWhsecSecret()), first(NewWhsecSecret()), second(NewWhsecSecret());
  StartHost(Config(Keygen("master.key"), yaml_receiver));

  const std::string key = MakeTenant("globex");
  EXPECT_EQ(key.rfind("crmh_", 0), 0u) << key;
  auto listed = Send("GET", "/v1/tenants", "");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find(key), std::string::npos) << "a key is shown once";
  EXPECT_NE(listed.body.find("\"source\":\"file\""), std::string::npos) << listed.body;
  ASSERT_EQ(Client().PostJson("/v1/events", VisitorEvent(kCheckedIn), key).status, 202)
      << "the new key works at once";

  auto made = Send("POST", "/v1/tenants/globex/integrations",
                   Webhook("crm", first.url(), first.secret(), R"("events":["visitor.checked_in"],)"));
  ASSERT_EQ(made.status, 201) << made.body;
  auto config = made.json()->getObject("config");
  EXPECT_EQ(config->getValue<std::string>("secret"), "set");
  EXPECT_EQ(made.json()->getValue<std::string>("status"), "serving");
  EXPECT_EQ(made.json()->getValue<std::string>("source"), "api");
  EXPECT_EQ(made.body.find(first.secret()), std::string::npos);

  std::string id = PostEvent(key, VisitorEvent(kCheckedIn));
  ASSERT_TRUE(first.WaitForCount(1, kDeadline));
  EXPECT_TRUE(first.arrivals()[0].signature_valid) << "signed with the sealed secret";
  WaitForDeliveries(key, id, "delivered");
  EXPECT_EQ(PostEvent(key, VisitorEvent(kCheckedOut)).empty(), false);

  // A change swaps the instance: the next delivery goes to the new URL, signed with the new secret.
  auto changed = Send("PATCH", "/v1/tenants/globex/integrations/crm",
                      R"({"config":{"url":")" + second.url() + R"(","secret":")" + second.secret() + R"("}})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  PostEvent(key, VisitorEvent(kCheckedIn));
  ASSERT_TRUE(second.WaitForCount(1, kDeadline));
  EXPECT_TRUE(second.arrivals()[0].signature_valid);
  EXPECT_EQ(first.arrivals().size(), 1u) << "checked_out is not subscribed; nothing else went there";

  // "set" keeps the stored secret; enabled:false stops deliveries.
  auto kept = Send("PATCH", "/v1/tenants/globex/integrations/crm", R"({"enabled":false,"config":{"secret":"set"}})");
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(kept.json()->getValue<std::string>("status"), "disabled");
  auto quiet = Client().PostJson("/v1/events", VisitorEvent(kCheckedIn), key);
  EXPECT_EQ(quiet.json()->getValue<int>("deliveries"), 0);
  ASSERT_EQ(Send("PATCH", "/v1/tenants/globex/integrations/crm", R"({"enabled":true})").status, 200);
  PostEvent(key, VisitorEvent(kCheckedIn));
  ASSERT_TRUE(second.WaitForCount(2, kDeadline));
  EXPECT_TRUE(second.arrivals()[1].signature_valid) << "the kept secret still signs";

  ASSERT_EQ(Send("DELETE", "/v1/tenants/globex/integrations/crm", "").status, 200);
  EXPECT_EQ(Send("GET", "/v1/tenants/globex/integrations/crm", "").status, 404);
  EXPECT_EQ(Send("DELETE", "/v1/tenants/globex", "").status, 200);
  EXPECT_EQ(Client().PostJson("/v1/events", VisitorEvent(kCheckedIn), key).status, 401)
      << "a deleted tenant's key no longer authenticates";
}

TEST_F(IntegrationsApiTest, TheApiRefusesWhatItCannotServeAndChangesNothing) {
  Receiver yaml_receiver(NewWhsecSecret());
  StartHost(Config(Keygen("master.key"), yaml_receiver));
  MakeTenant("globex");
  const std::string base = "/v1/tenants/globex/integrations";

  auto bad_secret = Send("POST", base, Webhook("crm", yaml_receiver.url(), "hunter2-not-whsec"));
  EXPECT_EQ(bad_secret.status, 400) << bad_secret.body;
  EXPECT_EQ(JsonString(bad_secret.json(), "field"), "config");
  EXPECT_NE(bad_secret.body.find("whsec_"), std::string::npos) << bad_secret.body;
  EXPECT_EQ(bad_secret.body.find("hunter2"), std::string::npos);
  auto bad_id = Send("POST", base, Webhook("a/b", yaml_receiver.url(), yaml_receiver.secret()));
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_EQ(JsonString(bad_id.json(), "field"), "id");
  auto unknown_key = Send("POST", base, R"({"id":"x","adapter":"webhook","colour":"red"})");
  EXPECT_EQ(unknown_key.status, 400);
  EXPECT_EQ(JsonString(unknown_key.json(), "field"), "colour");
  EXPECT_EQ(Send("POST", base, "{not json").status, 400);
  // A field mapping is checked for form and against the adapter's records before anything is kept.
  const std::string hub = R"({"id":"hub","adapter":"hubspot","config":{"api_token":"pat-x"},"mapping":)";
  auto bad_transform = Send("POST", base, hub + R"({"contact":{"badge":{"from":"visitor.badge","transform":"shout"}}}})");
  EXPECT_EQ(bad_transform.status, 400) << bad_transform.body;
  EXPECT_NE(bad_transform.body.find("mapping.contact.badge.transform"), std::string::npos) << bad_transform.body;
  auto no_such_record = Send("POST", base, hub + R"({"deal":{"amount":{"value":1}}}})");
  EXPECT_EQ(no_such_record.status, 400) << no_such_record.body;
  EXPECT_EQ(JsonString(no_such_record.json(), "field"), "mapping");
  EXPECT_NE(no_such_record.body.find("mapping.deal"), std::string::npos) << no_such_record.body;
  EXPECT_EQ(Send("POST", "/v1/tenants/nobody/integrations",
                 Webhook("crm", yaml_receiver.url(), yaml_receiver.secret())).status, 404);
  auto listed = Send("GET", base, "");
  EXPECT_EQ(listed.json()->getArray("integrations")->size(), 0u) << "nothing half-made";
  auto mapped = Send("POST", base, hub + R"({"contact":{"visitor_badge":"{visitor.badge}"}}})");
  ASSERT_EQ(mapped.status, 201) << mapped.body;
  auto shown = Send("GET", base + "/hub", "");
  EXPECT_NE(shown.body.find(R"("visitor_badge":"{visitor.badge}")"), std::string::npos) << shown.body;
  EXPECT_EQ(Send("DELETE", base + "/hub", "").status, 200);

  // The file's tenant and integration are read-only here, and say where to change them.
  auto yaml_put = Send("PUT", "/v1/tenants/acme/integrations/acme-webhook",
                       Webhook("acme-webhook", yaml_receiver.url(), yaml_receiver.secret()));
  EXPECT_EQ(yaml_put.status, 409);
  EXPECT_NE(yaml_put.body.find(host_->config_path().string()), std::string::npos) << yaml_put.body;
  EXPECT_EQ(Send("DELETE", "/v1/tenants/acme/integrations/acme-webhook", "").status, 409);
  EXPECT_EQ(Send("DELETE", "/v1/tenants/acme", "").status, 409);
  EXPECT_EQ(Send("POST", "/v1/tenants", R"({"id":"acme"})").status, 409);
  auto yaml_get = Send("GET", "/v1/tenants/acme/integrations/acme-webhook", "");
  ASSERT_EQ(yaml_get.status, 200);
  EXPECT_EQ(yaml_get.json()->getObject("config")->getValue<std::string>("secret"), "set");
  EXPECT_EQ(yaml_get.body.find(yaml_receiver.secret()), std::string::npos);

  EXPECT_EQ(Send("GET", "/v1/tenants", "", "acme-key").status, 403) << "a tenant key is no admin";
  EXPECT_EQ(Send("POST", "/v1/tenants", R"({"id":"Bad"})").status, 400);
}

TEST_F(IntegrationsApiTest, WithoutAMasterKeyNoSecretIsStored) {
  Receiver yaml_receiver(NewWhsecSecret());
  StartHost(Config({}, yaml_receiver));
  MakeTenant("globex");
  auto refused = Send("POST", "/v1/tenants/globex/integrations",
                      Webhook("crm", yaml_receiver.url(), yaml_receiver.secret()));
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("master_key"), std::string::npos) << refused.body;
  auto unsigned_ok = Send("POST", "/v1/tenants/globex/integrations",
                          R"({"id":"plain","adapter":"webhook","config":{"url":")" +
                              yaml_receiver.url() + R"("}})");
  EXPECT_EQ(unsigned_ok.status, 201) << "a config without secrets needs no key: " << unsigned_ok.body;
}

TEST_F(IntegrationsApiTest, TheConnectionTestRunsTheAdaptersOwn) {
  Receiver yaml_receiver(NewWhsecSecret()), crm(NewWhsecSecret());
  StartHost(Config(Keygen("master.key"), yaml_receiver));
  const std::string key = MakeTenant("globex");
  ASSERT_EQ(Send("POST", "/v1/tenants/globex/integrations", Webhook("crm", crm.url(), crm.secret())).status, 201);

  auto ok = Send("POST", "/v1/tenants/globex/integrations/crm/test", "");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(ok.json()->getValue<bool>("ok")) << ok.body;
  EXPECT_EQ(JsonString(ok.json(), "outcome"), "OK");
  EXPECT_EQ(ok.json()->getValue<int>("http_status"), 204);
  EXPECT_GE(ok.json()->getValue<int>("elapsed_ms"), 0);
  ASSERT_TRUE(crm.WaitForCount(1, kDeadline));
  EXPECT_NE(crm.arrivals()[0].body.find("crmhost.test"), std::string::npos);
  EXPECT_TRUE(crm.arrivals()[0].signature_valid);

  crm.AlwaysFail(500);
  auto own = Send("POST", "/v1/integrations/crm/test", "", key);  // the tenant's own key
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_FALSE(own.json()->getValue<bool>("ok"));
  EXPECT_EQ(JsonString(own.json(), "outcome"), "RETRY");
  EXPECT_EQ(own.json()->getValue<int>("http_status"), 500);
  EXPECT_EQ(Send("POST", "/v1/integrations/acme-webhook/test", "", key).status, 404)
      << "another tenant's integration is not found";
}

TEST_F(IntegrationsApiTest, AStoreWithSecretsStartsOnlyWithItsMasterKey) {
  Receiver yaml_receiver(NewWhsecSecret()), crm(NewWhsecSecret());
  auto key_path = Keygen("master.key");
  StartHost(Config(key_path, yaml_receiver));
  const std::string key = MakeTenant("globex");
  ASSERT_EQ(Send("POST", "/v1/tenants/globex/integrations", Webhook("crm", crm.url(), crm.secret())).status, 201);
  const std::string log = host_->stderr_text();
  size_t at = log.find("master key ");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string key_id = log.substr(at + 11, 16);
  ASSERT_EQ(host_->Stop(), std::optional<int>(0));

  auto other_key = Keygen("other.key");
  for (const auto& [name, path] : {std::pair{"none", std::filesystem::path()}, {"other", other_key}}) {
    std::filesystem::create_directories(dir_.path() / name);
    // The same data_dir as the first host.
    HostConfig c = Config(path, yaml_receiver);
    c.data_dir = (dir_.path() / "data").string();
    HostProcess refused(dir_.path() / name, c);
    EXPECT_THROW(refused.Start(), std::runtime_error) << name;
    EXPECT_EQ(refused.Stop(), std::optional<int>(1)) << name;
    EXPECT_NE(refused.stderr_text().find(key_id), std::string::npos)
        << name << ": the refusal names the key id\n" << refused.stderr_text();
  }
  host_->Start();
  PostEvent(key, VisitorEvent(kCheckedIn));
  ASSERT_TRUE(crm.WaitForCount(1, kDeadline)) << "with its key the store serves again";
  EXPECT_TRUE(crm.arrivals()[0].signature_valid);
}

TEST_F(IntegrationsApiTest, RotationWhileRunningAndWhileStoppedLeavesEverySecretReadable) {
  Receiver yaml_receiver(NewWhsecSecret()), crm(NewWhsecSecret());
  auto k1 = Keygen("k1.key"), k2 = Keygen("k2.key"), k3 = Keygen("k3.key");
  StartHost(Config(k1, yaml_receiver));
  const std::string key = MakeTenant("globex");
  ASSERT_EQ(Send("POST", "/v1/tenants/globex/integrations", Webhook("crm", crm.url(), crm.secret())).status, 201);

  // Under load: events keep coming while the running daemon re-seals, and every one is
  // delivered, signed.
  std::atomic<bool> stop_posting{false};
  std::atomic<int> posted{0};
  auto poster = std::async(std::launch::async, [&] {
    HttpClient client(host_->base_url());
    while (!stop_posting && posted < 500) {
      if (client.PostJson("/v1/events", VisitorEvent(kCheckedIn), key).status == 202) ++posted;
      std::this_thread::sleep_for(2ms);
    }
  });
  std::this_thread::sleep_for(100ms);
  auto running = RunCommand({CrmhostBinary(), "rotate-key", "--config", host_->config_path().string(),
                             "--new-key", k2.string(), "--admin-url", host_->base_url()},
                            dir_.path());
  std::this_thread::sleep_for(100ms);
  stop_posting = true;
  poster.get();
  ASSERT_EQ(running.exit_code, 0) << running.err;
  EXPECT_NE(running.out.find("running daemon re-sealed"), std::string::npos) << running.out;
  ASSERT_EQ(Send("PATCH", "/v1/tenants/globex/integrations/crm", R"({"events":["visitor.checked_in"]})").status, 200)
      << "the daemon opens and re-creates with the new key";
  PostEvent(key, VisitorEvent(kCheckedIn));
  const size_t sent = static_cast<size_t>(posted.load()) + 1;
  ASSERT_TRUE(crm.WaitForCount(sent, kDeadline)) << "nothing lost across the rotation";
  for (const auto& a : crm.arrivals()) EXPECT_TRUE(a.signature_valid);
  ASSERT_EQ(host_->Stop(), std::optional<int>(0));

  HostConfig with_k2 = Config(k2, yaml_receiver);
  auto stopped = RunCommand({CrmhostBinary(), "rotate-key", "--config", host_->config_path().string(),
                             "--new-key", k3.string()},
                            dir_.path());
  EXPECT_NE(stopped.exit_code, 0) << "the config still names k1, which opens nothing now";
  host_ = std::make_unique<HostProcess>(dir_.path(), with_k2);
  host_->Start();
  ASSERT_EQ(host_->Stop(), std::optional<int>(0));
  stopped = RunCommand({CrmhostBinary(), "rotate-key", "--config", host_->config_path().string(),
                        "--new-key", k3.string()},
                       dir_.path());
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  host_ = std::make_unique<HostProcess>(dir_.path(), Config(k3, yaml_receiver));
  host_->Start();
  PostEvent(key, VisitorEvent(kCheckedIn));
  ASSERT_TRUE(crm.WaitForCount(sent + 1, kDeadline));
  EXPECT_TRUE(crm.arrivals().back().signature_valid);
}

// A unique value planted in every secret field is found in no answer, no log line and no byte
// of the database or its WAL: only sealed.
TEST_F(IntegrationsApiTest, ACanarySecretIsFoundNowhereButSealed) {
  Receiver yaml_receiver(NewWhsecSecret());
  StartHost(Config(Keygen("master.key"), yaml_receiver));
  MakeTenant("globex");
  const std::string canary_core = "Y2FuYXJ5LXZhbHVlLTQ3MTEtc2VjcmV0LWNyb3c=";  // base64
  const std::string canary = "whsec_" + canary_core;
  const std::string base = "/v1/tenants/globex/integrations";
  ASSERT_EQ(Send("POST", base, Webhook("crm", yaml_receiver.url(), canary)).status, 201);
  Send("GET", base, "");
  Send("GET", base + "/crm", "");
  Send("PUT", base + "/crm", Webhook("crm", yaml_receiver.url(), canary));
  Send("PATCH", base + "/crm", R"({"config":{"secret":")" + canary + R"(","timeout_ms":"x"}})");
  Send("POST", base, Webhook("crm", yaml_receiver.url(), canary));           // 409 exists
  Send("POST", base, Webhook("bad/id", yaml_receiver.url(), canary));        // 400
  Send("POST", base, Webhook("crm2", "ftp://nowhere", canary));              // 400 from the adapter
  Send("POST", base + "/crm/test", "");
  Send("GET", "/v1/plugins", "");
  Send("GET", "/readyz", "");
  Send("GET", "/v1/tenants/globex", "");
  ASSERT_EQ(host_->Stop(), std::optional<int>(0));

  // Not vacuous: the secret is stored (sealed), and every change left an audit entry.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "data" / "crmhost.db").c_str(), &db), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &q, nullptr);
    int n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_finalize(q);
    return n;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM secrets WHERE field = 'secret'"), 1);
  EXPECT_GE(count("SELECT COUNT(*) FROM audit WHERE action LIKE 'integration.%'"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM audit WHERE detail LIKE '%whsec%' OR detail LIKE '%Y2Fu%'"), 0);
  sqlite3_close(db);

  auto contains = [&](const std::string& text) {
    return text.find(canary) != std::string::npos || text.find(canary_core) != std::string::npos;
  };
  EXPECT_FALSE(contains(responses_)) << "in an answer";
  EXPECT_FALSE(contains(host_->stderr_text())) << "in the log";
  for (const char* file : {"crmhost.db", "crmhost.db-wal"}) {
    auto path = dir_.path() / "data" / file;
    if (std::filesystem::exists(path)) {
      EXPECT_FALSE(contains(ReadFile(path))) << "in " << file;
    }
  }
}

}  // namespace
}  // namespace crmhost::testing
