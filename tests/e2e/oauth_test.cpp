// OAuth 2.0 through the real binary, against fake authorization servers and CRM APIs on loopback
// (tests/fakes/oauth_provider.h) and test adapters that ask the host for the credential
// (tests/plugins/fixtures/oauth_adapter.c): authorize with PKCE, deliver with the token attached,
// refresh ahead of expiry, refresh once on a rejection, one refresh for many calls, hold on a
// revoked grant until authorized again, client credentials, errors answered with HTTP 200, and no
// token anywhere outside the sealed store.
#include <future>

#include "e2e_fixture.h"
#include "fakes/oauth_provider.h"

namespace crmhost::testing {
namespace {

const char kAdmin[] = "admin-key-for-oauth";
const char kClientId[] = "client-4711";
const char kClientSecret[] = "client-secret-of-the-test";

class OAuthTest : public E2eTest {
 protected:
  void Start(int workers = 4, const std::string& more_yaml = "") {
    auto key = dir_.path() / "master.key";
    ASSERT_EQ(RunCommand({CrmhostBinary(), "keygen", key.string()}, dir_.path()).exit_code, 0);
    HostConfig config;
    config.plugin_dir = CRMHOST_OAUTH_PLUGIN_DIR;
    config.admin_key = kAdmin;
    config.workers = workers;
    config.extra_yaml = "master_key: \"file:" + key.string() + "\"\npark_delay: 200ms\n" + more_yaml;
    config.tenants.push_back(TenantSpec{"acme", {"acme-key"}, std::nullopt, {}});
    StartHost(config);
  }
  HttpResponse Admin(const std::string& method, const std::string& path, const std::string& body = "") {
    Headers h{{"Authorization", std::string("Bearer ") + kAdmin}};
    if (!body.empty()) h.push_back({"Content-Type", "application/json"});
    auto r = Client().Send(method, path, body, h);
    answers_ += r.body + "\n";
    return r;
  }
  void MakeIntegration(const std::string& adapter, const OAuthProvider& fake,
                       const std::string& extra = "") {
    auto r = Admin("POST", "/v1/tenants/acme/integrations",
                   R"({"id":"crm","adapter":")" + adapter + R"(","config":{"auth_base":")" +
                       fake.base_url() + R"(","client_id":")" + kClientId +
                       R"(","client_secret":")" + kClientSecret + "\"" + extra + "}}");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  // Starts the flow, follows the provider's redirect into crmhost's callback; returns its page.
  HttpResponse Authorize(const OAuthProvider& fake) {
    auto started = Admin("POST", "/v1/tenants/acme/integrations/crm/oauth/start");
    EXPECT_EQ(started.status, 200) << started.body;
    const std::string url = JsonString(started.json(), "authorize_url");
    EXPECT_EQ(url.rfind(fake.base_url() + "/authorize?", 0), 0u) << url;
    auto redirect = HttpClient(fake.base_url()).Get(url.substr(fake.base_url().size()));
    EXPECT_EQ(redirect.status, 302) << redirect.body;
    callback_ = redirect.header("location");
    EXPECT_EQ(callback_.rfind(host_->base_url() + "/oauth/callback?", 0), 0u) << callback_;
    auto page = Client().Get(callback_.substr(host_->base_url().size()));
    answers_ += page.body + "\n";
    return page;
  }
  std::string Credential() {
    auto r = Admin("GET", "/v1/tenants/acme/integrations/crm");
    return r.json()->optValue<std::string>("credential", "");
  }
  // Every place a token must not be: the answers, the log, the database and its WAL.
  void ExpectNoTokenOutsideTheStore(const OAuthProvider& fake) {
    ASSERT_EQ(host_->Stop(), std::optional<int>(0));
    std::string db = ReadFile(dir_.path() / "data" / "crmhost.db") +
                     ReadFile(dir_.path() / "data" / "crmhost.db-wal");
    const std::string log = host_->stderr_text();
    auto tokens = fake.issued_tokens();
    ASSERT_FALSE(tokens.empty());
    for (const auto& t : tokens) {
      if (t.rfind("code-", 0) == 0) continue;  // codes travel in the browser's URL by design
      EXPECT_EQ(answers_.find(t), std::string::npos) << t << " in an answer";
      EXPECT_EQ(log.find(t), std::string::npos) << t << " in the log";
      EXPECT_EQ(db.find(t), std::string::npos) << t << " in the database";
    }
    EXPECT_EQ(db.find(kClientSecret), std::string::npos) << "the client secret in the database";
    EXPECT_EQ(log.find(kClientSecret), std::string::npos);
  }
  std::string answers_, callback_;
};

TEST_F(OAuthTest, AuthorizedWithPkceItDeliversWithTheTokenAttached) {
  OAuthProvider fake(OAuthProfile::Salesforce(), kClientId, kClientSecret);
  Start();
  MakeIntegration("oauthsf", fake);
  EXPECT_EQ(Credential(), "not_authorized");
  // Before authorization the delivery waits without using an attempt.
  const std::string first = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  ASSERT_TRUE(Eventually([&] {
    auto rows = ListDeliveries(Client(), "acme-key");
    return rows.size() == 1 && rows[0].last_error.find("reauthorization required: not authorized yet") != std::string::npos;
  }, kDeadline));
  EXPECT_EQ(ListDeliveries(Client(), "acme-key")[0].attempts, 0);

  auto page = Authorize(fake);
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("Connected"), std::string::npos) << page.body;
  EXPECT_FALSE(fake.last_code_challenge().empty()) << "an S256 challenge went with the authorization";
  EXPECT_EQ(Credential(), "connected");
  WaitForDeliveries("acme-key", first, "delivered");
  EXPECT_EQ(fake.last_api_path(), "/instance/api/notes") << "resolved against instance_url";
  EXPECT_GE(fake.api_accepted(), 1);

  // The state is single-use.
  auto again = Client().Get(callback_.substr(host_->base_url().size()));
  EXPECT_EQ(again.status, 400);
  EXPECT_NE(again.body.find("unknown, used or expired"), std::string::npos) << again.body;
  ExpectNoTokenOutsideTheStore(fake);
}

TEST_F(OAuthTest, ARejectedTokenIsRefreshedOnceAndTheCallRetriedAtOnce) {
  OAuthProvider fake(OAuthProfile::Salesforce(), kClientId, kClientSecret);
  Start();
  MakeIntegration("oauthsf", fake);
  { auto page = Authorize(fake); ASSERT_EQ(page.status, 200) << page.body; }
  fake.ExpireAccessTokens();  // Salesforce says nothing of expiry: the 401 is the signal
  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  auto rows = WaitForDeliveries("acme-key", id, "delivered");
  EXPECT_EQ(rows[0].attempts, 1) << "the retry after the refresh is the same attempt";
  EXPECT_EQ(fake.token_requests("refresh_token"), 1);
  EXPECT_EQ(fake.api_rejected(), 1);
  ExpectNoTokenOutsideTheStore(fake);
}

TEST_F(OAuthTest, ATokenAboutToExpireIsRefreshedBeforeTheCall) {
  OAuthProfile profile = OAuthProfile::HubSpot();
  profile.expires_in = 1;  // within the margin (a tenth of the lifetime) after 0.9 s
  OAuthProvider fake(profile, kClientId, kClientSecret);
  Start();
  MakeIntegration("oauthhub", fake, R"(,"api_base":")" + fake.base_url() + "\"");
  { auto page = Authorize(fake); ASSERT_EQ(page.status, 200) << page.body; }
  std::this_thread::sleep_for(1200ms);
  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  WaitForDeliveries("acme-key", id, "delivered");
  EXPECT_EQ(fake.token_requests("refresh_token"), 1);
  EXPECT_EQ(fake.api_rejected(), 0) << "refreshed before the CRM could refuse";
  EXPECT_EQ(fake.last_api_path(), "/api/notes") << "resolved against the config's api_base";
}

// Every worker finds the token refused at once; one refresh serves them all.
TEST_F(OAuthTest, ManyConcurrentCallsAtExpiryMakeOneRefresh) {
  OAuthProvider fake(OAuthProfile::Microsoft(), kClientId, kClientSecret);
  Start(/*workers=*/16);
  MakeIntegration("oauthms", fake, R"(,"api_base":")" + fake.base_url() + "\"");
  { auto page = Authorize(fake); ASSERT_EQ(page.status, 200) << page.body; }
  fake.ExpireAccessTokens();
  fake.SetTokenDelayMs(300);  // the refresh is slow: the other calls pile up behind it
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i)
    ids.push_back(PostEvent("acme-key", VisitorEvent(kCheckedIn, "v" + std::to_string(i) + "@example.com")));
  for (const auto& id : ids) WaitForDeliveries("acme-key", id, "delivered");
  EXPECT_EQ(fake.token_requests("refresh_token"), 1);
  ExpectNoTokenOutsideTheStore(fake);
}

TEST_F(OAuthTest, ARevokedGrantHoldsDeliveriesUntilAuthorizedAgain) {
  OAuthProvider fake(OAuthProfile::Microsoft(), kClientId, kClientSecret);
  Start();
  MakeIntegration("oauthms", fake, R"(,"api_base":")" + fake.base_url() + "\"");
  { auto page = Authorize(fake); ASSERT_EQ(page.status, 200) << page.body; }
  fake.RevokeRefreshTokens();
  fake.ExpireAccessTokens();
  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  ASSERT_TRUE(Eventually([&] { return Credential() == "reauthorization_required"; }, kDeadline));
  std::this_thread::sleep_for(600ms);  // a few park rounds
  auto held = ListDeliveries(Client(), "acme-key");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_TRUE(held[0].status == "pending" || held[0].status == "leased") << held[0].status;
  EXPECT_EQ(held[0].attempts, 0) << "waiting uses no attempt";
  EXPECT_NE(held[0].last_error.find("invalid_grant"), std::string::npos) << held[0].last_error;
  { auto page = Authorize(fake); ASSERT_EQ(page.status, 200) << page.body; }
  EXPECT_EQ(Credential(), "connected");
  WaitForDeliveries("acme-key", id, "delivered");
}

TEST_F(OAuthTest, ClientCredentialsNeedNoPerson) {
  OAuthProvider fake(OAuthProfile::Microsoft(), kClientId, kClientSecret);
  Start();
  MakeIntegration("oauthms", fake,
                  R"(,"oauth_grant":"client_credentials","api_base":")" + fake.base_url() + "\"");
  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  WaitForDeliveries("acme-key", id, "delivered");
  EXPECT_EQ(fake.token_requests("client_credentials"), 1) << "client auth by HTTP Basic";
  fake.ExpireAccessTokens();
  const std::string next = PostEvent("acme-key", VisitorEvent(kCheckedOut));
  WaitForDeliveries("acme-key", next, "delivered");
  EXPECT_EQ(fake.token_requests("client_credentials"), 2) << "a new token, since there is no refresh token";
  ExpectNoTokenOutsideTheStore(fake);
}

// A connection nobody uses is refreshed all the same (daily by default), so that the provider
// does not revoke its unused refresh token.
TEST_F(OAuthTest, AnIdleConnectionIsRefreshed) {
  OAuthProvider fake(OAuthProfile::Salesforce(), kClientId, kClientSecret);
  Start(4, "oauth_idle_refresh: 1s\n");
  MakeIntegration("oauthsf", fake);
  { auto page = Authorize(fake); ASSERT_EQ(page.status, 200) << page.body; }
  EXPECT_TRUE(Eventually([&] { return fake.token_requests("refresh_token") >= 1; }, kDeadline));
  EXPECT_EQ(fake.api_accepted() + fake.api_rejected(), 0) << "no call was made";
}

// An API token instead of OAuth (Pipedrive's, in x-api-token; a HubSpot private-app token as a
// Bearer): attached by the host like a token, sealed like every secret, and a refusal holds the
// deliveries until a person sets another.
TEST_F(OAuthTest, AnApiTokenIsAttachedInTheProvidersHeader) {
  OAuthProvider fake(OAuthProfile::HubSpot(), kClientId, kClientSecret);
  const std::string token = "pd-api-token-0123456789abcdef";
  fake.AcceptStaticToken("x-api-token", token);
  fake.AcceptStaticToken("authorization", "Bearer pat-na1-private-app");
  Start();
  auto made = Admin("POST", "/v1/tenants/acme/integrations",
                    R"({"id":"crm","adapter":"oauthpd","config":{"api_token":")" + token +
                        R"(","api_base":")" + fake.base_url() + R"("}})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.json()->getValue<std::string>("credential"), "api_token");
  EXPECT_EQ(made.json()->getObject("config")->getValue<std::string>("api_token"), "set");
  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  WaitForDeliveries("acme-key", id, "delivered");
  EXPECT_EQ(fake.api_accepted(), 1);
  auto hub = Admin("POST", "/v1/tenants/acme/integrations",
                   R"({"id":"hub","adapter":"oauthhub","config":{"api_token":"pat-na1-private-app","api_base":")" +
                       fake.base_url() + R"("}})");
  ASSERT_EQ(hub.status, 201) << hub.body;
  const std::string both = PostEvent("acme-key", VisitorEvent(kCheckedOut));
  WaitForDeliveries("acme-key", both, "delivered", 2);
  EXPECT_EQ(fake.api_accepted(), 3);
  // A token the CRM refuses holds the delivery (no attempt counted) until another is set.
  ASSERT_EQ(Admin("PATCH", "/v1/tenants/acme/integrations/crm", R"({"config":{"api_token":"revoked"}})").status, 200);
  const std::string held = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  ASSERT_TRUE(Eventually([&] {
    for (const auto& d : ListDeliveries(Client(), "acme-key"))
      if (d.event_id == held && d.integration == "crm")
        return d.attempts == 0 && d.last_error.find("refused the API token") != std::string::npos;
    return false;
  }, kDeadline));
  ASSERT_EQ(Admin("PATCH", "/v1/tenants/acme/integrations/crm", R"({"config":{"api_token":")" + token + R"("}})").status, 200);
  WaitForDeliveries("acme-key", held, "delivered", 2);
  ASSERT_EQ(host_->Stop(), std::optional<int>(0));
  std::string db = ReadFile(dir_.path() / "data" / "crmhost.db") + ReadFile(dir_.path() / "data" / "crmhost.db-wal");
  EXPECT_EQ(db.find(token), std::string::npos);
  EXPECT_EQ(answers_.find(token), std::string::npos);
  EXPECT_EQ(host_->stderr_text().find(token), std::string::npos);
}

// GET /v1/contacts: found, not found, and skipped (slow, down, no look-up integration) within
// the deadline, never an error.
TEST_F(OAuthTest, AContactLookUpAnswersWithinItsDeadline) {
  OAuthProvider fake(OAuthProfile::Salesforce(), kClientId, kClientSecret);
  fake.AddContact("jane.smith@example.com",
                  R"({"id":"003xx","email":"jane.smith@example.com","first_name":"Jane"})");
  Start();
  auto none = Client().Get("/v1/contacts?email=jane.smith@example.com", "acme-key");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_NE(JsonString(none.json(), "skipped").find("lookup: true"), std::string::npos) << none.body;
  MakeIntegration("oauthsf", fake, R"(,"lookup":true,"lookup_timeout":"1500ms")");
  auto unauthorized = Client().Get("/v1/contacts?email=jane.smith@example.com", "acme-key");
  EXPECT_EQ(JsonString(unauthorized.json(), "skipped"), "reauthorization required") << unauthorized.body;
  { auto page = Authorize(fake); ASSERT_EQ(page.status, 200) << page.body; }

  auto found = Client().Get("/v1/contacts?email=jane.smith@example.com", "acme-key");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_TRUE(found.json()->getValue<bool>("found")) << found.body;
  EXPECT_EQ(found.json()->getObject("contact")->getValue<std::string>("id"), "003xx");
  EXPECT_EQ(JsonString(found.json(), "integration"), "crm");
  auto missing = Client().Get("/v1/contacts?email=nobody@example.com", "acme-key");
  EXPECT_FALSE(missing.json()->getValue<bool>("found"));
  EXPECT_FALSE(missing.json()->has("skipped")) << missing.body;
  EXPECT_EQ(Client().Get("/v1/contacts?email=not-an-email", "acme-key").status, 400);

  // An expired token is refreshed inside the budget.
  fake.ExpireAccessTokens();
  auto refreshed = Client().Get("/v1/contacts?email=jane.smith@example.com", "acme-key");
  EXPECT_TRUE(refreshed.json()->getValue<bool>("found")) << refreshed.body;

  // A slow CRM: skipped at the deadline (the request's own timeout caps the configured one).
  fake.SetApiDelayMs(3000);
  auto t0 = std::chrono::steady_clock::now();
  auto slow = Client().Get("/v1/contacts?email=jane.smith@example.com&timeout=300", "acme-key");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(slow.status, 200);
  EXPECT_EQ(JsonString(slow.json(), "skipped"), "timeout") << slow.body;
  EXPECT_LT(took, 2s) << "the answer came at the deadline, not when the CRM did";
}

// Zoho answers token errors with HTTP 200: they are read from the body all the same.
TEST_F(OAuthTest, ErrorsAnsweredWithHttp200AreErrors) {
  OAuthProvider fake(OAuthProfile::Zoho(), kClientId, kClientSecret);
  Start();
  MakeIntegration("oauthzoho", fake);
  fake.FailNextCodeExchange("invalid_code");
  auto refused = Authorize(fake);
  EXPECT_EQ(refused.status, 502) << refused.body;
  EXPECT_NE(refused.body.find("invalid_code"), std::string::npos) << refused.body;
  EXPECT_EQ(Credential(), "not_authorized");

  { auto page = Authorize(fake); ASSERT_EQ(page.status, 200) << page.body; }
  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  WaitForDeliveries("acme-key", id, "delivered");
  EXPECT_EQ(fake.last_api_path(), "/instance/api/notes") << "resolved against api_domain";
  // A refresh refused with HTTP 200 and {"error": ...} needs a person again.
  fake.RevokeRefreshTokens();
  fake.ExpireAccessTokens();
  PostEvent("acme-key", VisitorEvent(kCheckedOut));
  ASSERT_TRUE(Eventually([&] { return Credential() == "reauthorization_required"; }, kDeadline));
}

}  // namespace
}  // namespace crmhost::testing
