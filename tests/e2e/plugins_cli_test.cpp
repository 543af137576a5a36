// The binary's other faces: GET /v1/plugins, health, `crmhost plugin check`, `crmhost sink`,
// and exit codes for bad usage and config.
#include <signal.h>

#include <ctime>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

TEST_F(E2eTest, PluginsListsTheWebhookAdapterWithItsSha256) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.admin_key = "admin-key-e2e";
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  for (const char* key : {"acme-key", "admin-key-e2e"}) {
    const HttpResponse r = Client().Get("/v1/plugins", key);
    ASSERT_EQ(r.status, 200) << r.body;
    Poco::JSON::Array::Ptr plugins = r.json()->getArray("plugins");
    ASSERT_FALSE(plugins.isNull()) << r.body;
    ASSERT_FALSE(r.json()->getArray("refused").isNull()) << r.body;
    Poco::JSON::Object::Ptr webhook;
    for (size_t i = 0; i < plugins->size(); ++i) {
      Poco::JSON::Object::Ptr p = plugins->getObject(static_cast<unsigned>(i));
      if (JsonString(p, "name") == "webhook") webhook = p;
    }
    ASSERT_FALSE(webhook.isNull()) << r.body;
    EXPECT_EQ(JsonString(webhook, "abi_version"), "1.2");
    EXPECT_FALSE(JsonString(webhook, "version").empty());
    const std::string file = JsonString(webhook, "file");
    EXPECT_TRUE(file.size() >= 10 && file.substr(file.size() - 10) == "webhook.so") << file;
    EXPECT_EQ(JsonString(webhook, "sha256"), Sha256FileHex(WebhookPluginPath()));
    EXPECT_TRUE(webhook->has("flags")) << r.body;
  }
}

TEST_F(E2eTest, HealthAndReadinessNeedNoKey) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);
  const HttpResponse health = Client().Get("/healthz");
  ASSERT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(JsonString(health.json(), "status"), "ok");
  const HttpResponse ready = Client().Get("/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(JsonString(ready.json(), "status"), "ready");
  // SIGINT stops it as cleanly as SIGTERM.
  EXPECT_EQ(host_->Stop(kDeadline, SIGINT), std::optional<int>(0)) << host_->stderr_text();
}

TEST_F(E2eTest, StartFailuresExitWithOne) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  // A second crmhost on the same data_dir would hand out the same deliveries twice.
  TempDir other;
  HostConfig same_data = config;
  same_data.data_dir = (dir_ / "data").string();
  HostProcess second(other.path(), same_data);
  EXPECT_THROW(second.Start(), std::runtime_error);
  EXPECT_EQ(second.Stop(), std::optional<int>(1)) << second.stderr_text();
  // The first one is unharmed.
  EXPECT_EQ(Client().Get("/healthz").status, 200);

  // A listen address that is taken, here by the first crmhost: the second must not share it.
  TempDir third_dir;
  HostConfig taken = config;
  taken.listen = host_->base_url().substr(std::string("http://").size());
  HostProcess third(third_dir.path(), taken);
  EXPECT_THROW(third.Start(), std::runtime_error) << "a second crmhost listens on " << taken.listen;
  EXPECT_EQ(third.Stop(), std::optional<int>(1)) << third.stderr_text();
}

TEST_F(E2eTest, PluginCheckAcceptsTheWebhookAdapterAndRefusesOtherFiles) {
  const CommandResult ok =
      RunCommand({CrmhostBinary(), "plugin", "check", WebhookPluginPath()}, dir_.path());
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE((ok.out + ok.err).find("webhook"), std::string::npos) << ok.out << ok.err;
  EXPECT_EQ((ok.out + ok.err).find("refused"), std::string::npos) << ok.out << ok.err;

  const std::string text = dir_.Write("notes.so", "this is not an ELF image\n").string();
  const CommandResult not_elf = RunCommand({CrmhostBinary(), "plugin", "check", text}, dir_.path());
  EXPECT_EQ(not_elf.exit_code, 1) << not_elf.out << not_elf.err;
  EXPECT_NE((not_elf.out + not_elf.err).find("refused: "), std::string::npos)
      << not_elf.out << not_elf.err;

  const CommandResult no_entry =
      RunCommand({CrmhostBinary(), "plugin", "check", CRMHOST_E2E_NOT_AN_ADAPTER}, dir_.path());
  EXPECT_EQ(no_entry.exit_code, 1) << no_entry.out << no_entry.err;
  EXPECT_NE((no_entry.out + no_entry.err).find("refused: "), std::string::npos)
      << no_entry.out << no_entry.err;
}

TEST_F(E2eTest, BadUsageAndBadConfigExitWithTwo) {
  const CommandResult missing = RunCommand(
      {CrmhostBinary(), "run", "--config", (dir_ / "absent.yaml").string()}, dir_.path());
  EXPECT_EQ(missing.exit_code, 2) << missing.err;

  const std::string broken =
      dir_.Write("broken.yaml", "listen: 127.0.0.1:0\ntenants: [\n").string();
  const CommandResult bad_yaml =
      RunCommand({CrmhostBinary(), "run", "--config", broken}, dir_.path());
  EXPECT_EQ(bad_yaml.exit_code, 2) << bad_yaml.err;
  EXPECT_NE(bad_yaml.err.find("broken.yaml"), std::string::npos) << bad_yaml.err;

  const CommandResult unknown = RunCommand({CrmhostBinary(), "frobnicate"}, dir_.path());
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
}

// Starts `crmhost sink` on an ephemeral port; returns its base URL.
std::string StartSink(std::unique_ptr<ChildProcess>& sink, const TempDir& dir,
                      const std::string& secret_ref, std::map<std::string, std::string> env = {}) {
  const std::filesystem::path ready = dir / "sink.ready";
  sink = std::make_unique<ChildProcess>(
      std::vector<std::string>{CrmhostBinary(), "sink", "--listen", "127.0.0.1:0", "--secret",
                               secret_ref, "--ready-file", ready.string()},
      dir / "sink.out", dir / "sink.err", env);
  std::string url;
  if (!Eventually([&] { return !(url = ReadyUrl(ready)).empty(); }, kDeadline)) {
    throw std::runtime_error("crmhost sink not ready; stderr:\n" + sink->stderr_text());
  }
  return url;
}

TEST_F(E2eTest, SinkAcceptsAGoodSignatureAndRejectsABadOne) {
  const std::string secret = NewWhsecSecret();
  std::unique_ptr<ChildProcess> sink;
  const std::string url = StartSink(sink, dir_, secret);
  HttpClient client(url);
  const std::string body = VisitorEvent(kCheckedIn);
  const std::string now = std::to_string(std::time(nullptr));

  const HttpResponse good =
      client.Send("POST", "/hook", body,
                  {{"Content-Type", "application/json"},
                   {"webhook-id", "msg_good1"},
                   {"webhook-timestamp", now},
                   {"webhook-signature", SignStandardWebhook(secret, "msg_good1", now, body)}});
  EXPECT_EQ(good.status, 204) << good.body;
  const HttpResponse forged = client.Send(
      "POST", "/hook", body,
      {{"Content-Type", "application/json"},
       {"webhook-id", "msg_forged2"},
       {"webhook-timestamp", now},
       {"webhook-signature", SignStandardWebhook(NewWhsecSecret(), "msg_forged2", now, body)}});
  EXPECT_EQ(forged.status, 401) << forged.body;
  const HttpResponse unsigned_request =
      client.Send("POST", "/hook", body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(unsigned_request.status, 401) << unsigned_request.body;

  const std::string verified_line =
      "sink: verified id=msg_good1 event=visitor.checked_in bytes=" + std::to_string(body.size());
  EXPECT_TRUE(Eventually(
      [&] { return sink->stdout_text().find("sink: REJECTED id=") != std::string::npos; },
      kDeadline));
  const std::string out = sink->stdout_text();
  EXPECT_NE(out.find(verified_line), std::string::npos) << out;
  EXPECT_NE(out.find(body), std::string::npos) << out;
  EXPECT_NE(out.find("sink: REJECTED id=msg_forged2 reason="), std::string::npos) << out;
  EXPECT_EQ(out.find("sink: verified id=msg_forged2"), std::string::npos) << out;

  sink->Signal(SIGTERM);
  EXPECT_EQ(sink->Wait(kDeadline), std::optional<int>(0)) << sink->stderr_text();
}

TEST_F(E2eTest, HostDeliversToCrmhostSinkAsInTheDemo) {
  const std::string secret = NewWhsecSecret();
  std::unique_ptr<ChildProcess> sink;
  const std::string sink_url =
      StartSink(sink, dir_, "env:E2E_SINK_SECRET", {{"E2E_SINK_SECRET", secret}});
  HostConfig config;
  TenantSpec t;
  t.id = "demo";
  t.api_keys = {"demo-key"};
  IntegrationSpec hook;
  hook.id = "demo-webhook";
  hook.url = sink_url + "/hook";
  hook.secret = "env:E2E_SINK_SECRET";
  t.integrations.push_back(hook);
  config.tenants.push_back(t);
  StartHost(config, {{"E2E_SINK_SECRET", secret}});

  const std::string event_id = PostEvent("demo-key", kSeedPreRegisteredBody);
  const auto rows = WaitForDeliveries("demo-key", event_id, "delivered");
  ASSERT_EQ(rows.size(), 1u);
  const std::string out = sink->stdout_text();
  EXPECT_NE(out.find("sink: verified id=" + rows[0].id + " event=visitor.pre_registered bytes=" +
                     std::to_string(std::string(kSeedPreRegisteredBody).size())),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("REJECTED"), std::string::npos) << out;
}

}  // namespace
}  // namespace crmhost::testing
