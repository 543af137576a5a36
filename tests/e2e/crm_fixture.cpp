#include "crm_fixture.h"

#include <Poco/URI.h>

#include <chrono>

namespace crmhost::testing {

void CrmE2eTest::StartCrm(const CrmIntegration& spec, std::map<std::string, std::string> env) {
  auto key = dir_.path() / "master.key";
  ASSERT_EQ(RunCommand({CrmhostBinary(), "keygen", key.string()}, dir_.path()).exit_code, 0);
  config_ = HostConfig{};
  config_.deliver_timeout = spec.deliver_timeout;
  config_.retry_attempts = spec.attempts;
  config_.extra_yaml = "master_key: \"file:" + key.string() + "\"\npark_delay: 200ms\n";
  IntegrationSpec in;
  in.id = "crm";
  in.adapter = spec.adapter;
  in.events = spec.events;
  in.extra_config = spec.config;
  in.extra_config["lookup"] = "true";
  if (spec.oauth_client) {
    in.extra_config["client_id"] = kCrmClientId;
    in.extra_config["client_secret"] = "env:CRM_CLIENT_SECRET";
    env["CRM_CLIENT_SECRET"] = kCrmClientSecret;
  }
  in.mapping = spec.mapping;
  config_.tenants.push_back(TenantSpec{"acme", {"acme-key"}, std::nullopt, {in}});
  env_ = std::move(env);
  StartHost(config_, env_);
}

std::string CrmE2eTest::Post(const std::string& type, const std::string& email,
                             const std::string& body) {
  return PostEvent("acme-key", body.empty() ? VisitorEvent(type, email) : body);
}

DeliveryView CrmE2eTest::Await(const std::string& event_id, const std::string& status) {
  auto rows = WaitForDeliveries("acme-key", event_id, status);
  return rows.empty() ? DeliveryView{} : rows.front();
}

void CrmE2eTest::Restart() {
  ASSERT_EQ(host_->Stop(), std::optional<int>(0)) << host_->stderr_text();
  StartHost(config_, env_);
}

void CrmE2eTest::Replay(const std::string& delivery_id) {
  auto r = Client().Send("POST", "/v1/deliveries/" + delivery_id + "/replay", "",
                         {{"Authorization", "Bearer acme-key"}});
  ASSERT_EQ(r.status, 202) << r.body;
}

CrmE2eTest::LookupAnswer CrmE2eTest::Lookup(const std::string& email, const std::string& timeout) {
  std::string encoded;
  Poco::URI::encode(email, "+@&=?#", encoded);
  std::string path = "/v1/contacts?email=" + encoded + (timeout.empty() ? "" : "&timeout=" + timeout);
  auto t0 = std::chrono::steady_clock::now();
  auto r = Client().Send("GET", path, "", {{"Authorization", "Bearer acme-key"}});
  LookupAnswer a;
  a.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 200) << r.body;
  a.json = ParseJsonObject(r.body);
  return a;
}

void CrmE2eTest::ExpectLookUpSkippedWhenTheCrmIsDownOrSlow(FakeCrm& fake, const std::string& email) {
  fake.FailNext(100, 503);
  auto down = Lookup(email);
  EXPECT_FALSE(down.json->getValue<bool>("found")) << down.json;
  EXPECT_FALSE(Text(down.json, "skipped").empty()) << down.json;
  fake.FailNext(0, 503);
  fake.SetDelayMs(5000);
  auto slow = Lookup(email, "300ms");
  EXPECT_FALSE(slow.json->getValue<bool>("found")) << slow.json;
  EXPECT_FALSE(Text(slow.json, "skipped").empty()) << slow.json;
  EXPECT_LT(slow.elapsed_ms, 3000) << "answered at the deadline, not when the CRM answers";
  fake.SetDelayMs(0);
}

Poco::JSON::Object::Ptr CrmE2eTest::TestConnection() {
  auto r = Client().Send("POST", "/v1/integrations/crm/test", "", {{"Authorization", "Bearer acme-key"}});
  EXPECT_EQ(r.status, 200) << r.body;
  return ParseJsonObject(r.body);
}

std::string Text(const Poco::JSON::Object::Ptr& obj, const std::string& key) {
  if (!obj || !obj->has(key) || obj->get(key).isEmpty()) return "";
  return obj->get(key).toString();
}

}  // namespace crmhost::testing
