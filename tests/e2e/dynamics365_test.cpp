// The Dynamics 365 adapter (plugins/dynamics365) through the real binary against the Dataverse
// fake (tests/fakes/dataverse_fake.h), which also plays Entra: client credentials for the org's
// .default scope, contacts by query-then-write or by an alternate key, visits as tasks bound with
// regardingobjectid_contact_task and then completed, idempotent by a primary key derived from the
// delivery id, 429 parking, token expiry, and the look-up with a '+' in the address.
#include "crm_fixture.h"
#include "fakes/dataverse_fake.h"

namespace crmhost::testing {
namespace {

class Dynamics365Test : public CrmE2eTest {
 protected:
  void Start(CrmIntegration spec = {}) {
    spec.adapter = "dynamics365";
    spec.config["api_base"] = fake_.base_url();
    spec.config["login_url"] = fake_.base_url();
    spec.config["tenant"] = "contoso.onmicrosoft.com";
    spec.config["oauth_grant"] = "client_credentials";
    StartCrm(spec);
  }
  DataverseFake fake_{kCrmClientId, kCrmClientSecret};
};

TEST_F(Dynamics365Test, PreRegisterMakesOneContactAndCheckOutOneCompletedTaskRegardingIt) {
  Start();
  Await(Post(kPreRegistered), "delivered");
  Await(Post(kCheckedIn), "delivered");
  auto contacts = fake_.Rows("contacts");
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(Text(contacts[0], "emailaddress1"), kVisitorEmail);
  EXPECT_EQ(Text(contacts[0], "lastname"), "Smith");
  Await(Post(kCheckedOut), "delivered");
  ASSERT_EQ(fake_.Rows("contacts").size(), 1u);
  auto tasks = fake_.Rows("tasks");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(Text(tasks[0], "_regardingobjectid_value"), Text(contacts[0], "contactid"));
  EXPECT_EQ(Text(tasks[0], "statecode"), "1");
  EXPECT_EQ(Text(tasks[0], "statuscode"), "5");
  EXPECT_EQ(Text(tasks[0], "subject"), "Visit: Jane Smith at Munich HQ");
  EXPECT_NE(Text(tasks[0], "description").find("Documents signed: NDA v3, WiFi Policy v1"), std::string::npos);
  EXPECT_EQ(fake_.missing_odata_headers(), 0) << "every request says OData 4.0";
}

TEST_F(Dynamics365Test, WithAnAlternateKeyTheContactIsOneUpsert) {
  fake_.EnableEmailAlternateKey(true);
  CrmIntegration spec;
  spec.config["email_alternate_key"] = "true";
  Start(spec);
  Await(Post(kPreRegistered), "delivered");
  Await(Post(kCheckedIn), "delivered");
  EXPECT_EQ(fake_.Rows("contacts").size(), 1u);
  EXPECT_EQ(fake_.count("PATCH", "/api/data/v9.2/contacts(emailaddress1="), 2);
  EXPECT_EQ(fake_.count("GET", "/api/data/v9.2/contacts"), 0) << "no query before the write";
  // Dataverse refuses a '+' in a key value: that address is queried, then written.
  Await(Post(kPreRegistered, "jane+vip@example.com"), "delivered");
  auto contacts = fake_.Rows("contacts");
  ASSERT_EQ(contacts.size(), 2u);
  EXPECT_EQ(Text(contacts[1], "emailaddress1"), "jane+vip@example.com");
}

TEST_F(Dynamics365Test, AnAlternateKeyTheEnvironmentLacksIsDeadSayingWhatToChange) {
  CrmIntegration spec;
  spec.config["email_alternate_key"] = "true";
  Start(spec);
  auto dead = Await(Post(kPreRegistered), "dead");
  EXPECT_NE(dead.last_error.find("email_alternate_key"), std::string::npos) << dead.last_error;
  EXPECT_EQ(dead.last_http_status, 400);
}

TEST_F(Dynamics365Test, ATaskWhoseAnswerWasLostIsCompletedOnReplayNotCreatedTwice) {
  CrmIntegration spec;
  spec.deliver_timeout = "1s";
  spec.attempts = 1;
  Start(spec);
  fake_.CommitThenTimeoutOn("POST", "/api/data/v9.2/tasks", 1, 2500);
  auto dead = Await(Post(kCheckedOut), "dead");
  ASSERT_EQ(fake_.Rows("tasks").size(), 1u);
  Replay(dead.id);
  Await(dead.event_id, "delivered");
  auto tasks = fake_.Rows("tasks");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(Text(tasks[0], "statecode"), "1") << "the replay completed the task it had created";
  EXPECT_EQ(fake_.Rows("contacts").size(), 1u);
}

TEST_F(Dynamics365Test, ARetryAfterALostAnswerAndARestartMakeNoSecondContactOrTask) {
  CrmIntegration spec;
  spec.deliver_timeout = "1s";
  Start(spec);
  fake_.CommitThenTimeoutOn("POST", "/api/data/v9.2/contacts", 1, 2500);
  const std::string body = VisitorEvent(kCheckedOut, kVisitorEmail, "visit-1");
  const std::string event = Post(kCheckedOut, kVisitorEmail, body);
  EXPECT_EQ(Await(event, "delivered").attempts, 2) << "the timed-out attempt is retried";
  EXPECT_EQ(fake_.Rows("contacts").size(), 1u) << "the retry found the committed contact";
  EXPECT_EQ(fake_.Rows("tasks").size(), 1u);
  Restart();
  EXPECT_EQ(Post(kCheckedOut, kVisitorEmail, body), event);
  Await(event, "delivered");
  EXPECT_EQ(fake_.Rows("contacts").size(), 1u);
  EXPECT_EQ(fake_.Rows("tasks").size(), 1u);
}

TEST_F(Dynamics365Test, A429ParksAndAnExpiredTokenIsRenewed) {
  Start();
  Await(Post(kPreRegistered), "delivered");
  EXPECT_EQ(fake_.token_requests(), 1);
  fake_.ExpireAccessTokens();
  Await(Post(kCheckedIn), "delivered");
  EXPECT_EQ(fake_.token_requests(), 2);
  fake_.SetRetryAfterSeconds(1);
  fake_.RateLimitAfter(0);
  const std::string event = Post(kCheckedOut);
  ASSERT_TRUE(Eventually([&] {
    auto rows = ListDeliveries(Client(), "acme-key", "event_id=" + event);
    return rows.size() == 1 && rows[0].last_error.find("rate limited") != std::string::npos;
  }, kDeadline));
  fake_.ClearRateLimit();
  auto delivered = Await(event, "delivered");
  EXPECT_EQ(delivered.attempts, 1);
  EXPECT_EQ(fake_.Rows("tasks").size(), 1u);
}

TEST_F(Dynamics365Test, TheLookUpEncodesAPlusAndDoublesAQuote) {
  fake_.AddContact(R"({"firstname":"Jane","lastname":"O'Brien","emailaddress1":"jane+vip@example.com","telephone1":"+44 20 7946 0000"})");
  Start();
  auto found = Lookup("jane+vip@example.com");
  ASSERT_TRUE(found.json->getValue<bool>("found")) << found.json;
  auto contact = found.json->getObject("contact");
  EXPECT_EQ(Text(contact, "last_name"), "O'Brien");
  EXPECT_EQ(Text(contact, "phone"), "+44 20 7946 0000");
  EXPECT_EQ(Text(contact, "crm"), "dynamics365");
  EXPECT_NE(Text(contact, "url").find(Text(contact, "id")), std::string::npos);
  auto tested = TestConnection();
  EXPECT_TRUE(tested->getValue<bool>("ok")) << tested;
  EXPECT_EQ(fake_.count("GET", "/api/data/v9.2/WhoAmI"), 1);
  fake_.ExpireAccessTokens();
  ExpectLookUpSkippedWhenTheCrmIsDownOrSlow(fake_, "jane+vip@example.com");
  auto quoted = Lookup("o'brien@example.com");
  EXPECT_FALSE(quoted.json->getValue<bool>("found"));
  EXPECT_FALSE(quoted.json->has("skipped")) << "an expired token is renewed inside the deadline: " << quoted.json;
}

}  // namespace
}  // namespace crmhost::testing
