// The Salesforce adapter (plugins/salesforce) through the real binary against the Salesforce fake
// (tests/fakes/salesforce_fake.h): client-credentials OAuth with instance_url as the API base,
// contacts found by SOQL then created or updated, visits logged as completed Tasks, the field
// mapping, no duplicate on a retry after a committed write, a replay or a restart, the look-up,
// and each fault's outcome.
#include "crm_fixture.h"
#include "fakes/salesforce_fake.h"

namespace crmhost::testing {
namespace {

class SalesforceTest : public CrmE2eTest {
 protected:
  void Start(CrmIntegration spec = {}) {
    spec.adapter = "salesforce";
    spec.config["login_url"] = fake_.base_url();
    spec.config["oauth_grant"] = "client_credentials";
    StartCrm(spec);
  }
  SalesforceFake fake_{kCrmClientId, kCrmClientSecret};
};

TEST_F(SalesforceTest, PreRegisterMakesOneContactAndCheckOutOneCompletedTaskOnIt) {
  Start();
  Await(Post(kPreRegistered), "delivered");
  auto contacts = fake_.Records("Contact");
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(Text(contacts[0], "Email"), kVisitorEmail);
  EXPECT_EQ(Text(contacts[0], "FirstName"), "Jane");
  EXPECT_EQ(Text(contacts[0], "LastName"), "Smith");
  EXPECT_EQ(fake_.token_requests(), 1) << "one client-credentials token serves every call";

  Await(Post(kCheckedIn), "delivered");
  Await(Post(kCheckedOut), "delivered");
  ASSERT_EQ(fake_.Records("Contact").size(), 1u) << "check-in and check-out update, never duplicate";
  auto tasks = fake_.Records("Task");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(Text(tasks[0], "WhoId"), Text(contacts[0], "Id"));
  EXPECT_EQ(Text(tasks[0], "Status"), "Completed");
  EXPECT_EQ(Text(tasks[0], "ActivityDate"), "2026-04-15");
  EXPECT_EQ(Text(tasks[0], "Subject").rfind("Visit: Jane Smith at Munich HQ", 0), 0u) << Text(tasks[0], "Subject");
  const std::string description = Text(tasks[0], "Description");
  for (const char* part : {"Host: John Doe", "Site: Munich HQ", "Checked in: 2026-04-15T10:05:00Z",
                           "Checked out: 2026-04-15T14:30:00Z", "Documents signed: NDA v3, WiFi Policy v1"})
    EXPECT_NE(description.find(part), std::string::npos) << part << " in " << description;
}

TEST_F(SalesforceTest, TheMappingFillsACustomFieldAndARequiredFieldLeftEmptyIsDeadNamingIt) {
  fake_.AddCustomField("Contact", "Visitor_Badge__c", false);
  CrmIntegration spec;
  spec.mapping = R"({contact: {Visitor_Badge__c: "{visitor.badge}", Title: {value: "Visitor"}}})";
  Start(spec);
  std::string body = VisitorEvent(kPreRegistered);
  body.replace(body.find("\"first_name\""), 0, "\"badge\":\"B-17\",");
  Await(Post(kPreRegistered, kVisitorEmail, body), "delivered");
  auto contacts = fake_.Records("Contact");
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(Text(contacts[0], "Visitor_Badge__c"), "B-17");
  EXPECT_EQ(Text(contacts[0], "Title"), "Visitor");
}

TEST_F(SalesforceTest, AMappingThatEmptiesLastNameIsDeadNamingTheFieldBeforeAnyCall) {
  CrmIntegration spec;
  spec.mapping = R"({contact: {LastName: {from: visitor.surname}}})";
  Start(spec);
  auto dead = Await(Post(kPreRegistered), "dead");
  EXPECT_NE(dead.last_error.find("contact.LastName"), std::string::npos) << dead.last_error;
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_EQ(fake_.Records("Contact").size(), 0u);
}

TEST_F(SalesforceTest, AFieldTheOrgLacksIsDeadWithSalesforcesOwnMessage) {
  CrmIntegration spec;
  spec.mapping = R"({contact: {Badge__c: "{visitor.email}"}})";
  Start(spec);
  auto dead = Await(Post(kPreRegistered), "dead");
  EXPECT_NE(dead.last_error.find("INVALID_FIELD"), std::string::npos) << dead.last_error;
  EXPECT_EQ(dead.last_http_status, 400);
}

TEST_F(SalesforceTest, ACommittedWriteThatTimedOutIsNeverDuplicatedByRetryReplayOrRestart) {
  CrmIntegration spec;
  spec.deliver_timeout = "1s";
  spec.attempts = 1;  // the timed-out attempt dead-letters, so the replay is what repeats it
  Start(spec);
  // The contact's create commits but its answer never comes in time.
  fake_.CommitThenTimeoutOn("POST", "/sobjects/Contact", 1, 2500);
  auto dead = Await(Post(kCheckedOut), "dead");
  ASSERT_EQ(fake_.Records("Contact").size(), 1u);
  Replay(dead.id);
  Await(dead.event_id, "delivered");
  EXPECT_EQ(fake_.Records("Contact").size(), 1u) << "the replay found the committed contact";
  ASSERT_EQ(fake_.Records("Task").size(), 1u);

  // The Task's create commits, its answer is lost: the replay finds it by its marker.
  fake_.CommitThenTimeoutOn("POST", "/sobjects/Task", 1, 2500);
  const std::string second = Post(kCheckedOut, kVisitorEmail,
                                  VisitorEvent(kCheckedOut, kVisitorEmail, "visit-2"));
  auto dead2 = Await(second, "dead");
  ASSERT_EQ(fake_.Records("Task").size(), 2u);
  Replay(dead2.id);
  Await(second, "delivered");
  EXPECT_EQ(fake_.Records("Task").size(), 2u) << "one Task per visit, however often it is sent";

  Restart();
  EXPECT_EQ(Post(kCheckedOut, kVisitorEmail, VisitorEvent(kCheckedOut, kVisitorEmail, "visit-2")), second)
      << "the same client event id is the same event";
  Await(second, "delivered");
  EXPECT_EQ(fake_.Records("Contact").size(), 1u);
  EXPECT_EQ(fake_.Records("Task").size(), 2u);
}

TEST_F(SalesforceTest, AnExpiredSessionIsRefreshedOnceAndA503IsRetried) {
  Start();
  Await(Post(kPreRegistered), "delivered");
  fake_.ExpireAccessTokens();
  auto after_expiry = Await(Post(kCheckedIn), "delivered");
  EXPECT_EQ(fake_.token_requests(), 2) << "a 401 INVALID_SESSION_ID gets one new token";
  EXPECT_EQ(after_expiry.attempts, 1) << "refreshed and retried inside the same attempt";
  fake_.FailNext(2, 503);
  auto retried = Await(Post(kCheckedOut), "delivered");
  EXPECT_EQ(retried.attempts, 3);
  EXPECT_EQ(fake_.Records("Task").size(), 1u);
}

TEST_F(SalesforceTest, AnExhaustedDailyQuotaParksTheQueueWithoutBurningAttempts) {
  Start();
  Await(Post(kPreRegistered), "delivered");
  fake_.SetDailyLimit(fake_.api_usage());  // the next call is over the quota: 403 REQUEST_LIMIT_EXCEEDED
  const std::string parked = Post(kCheckedIn);
  ASSERT_TRUE(Eventually([&] {
    auto rows = ListDeliveries(Client(), "acme-key", "event_id=" + parked);
    return rows.size() == 1 && rows[0].last_error.find("rate limited") != std::string::npos;
  }, kDeadline));
  auto rows = ListDeliveries(Client(), "acme-key", "event_id=" + parked);
  EXPECT_EQ(rows[0].status, "pending");
  EXPECT_EQ(rows[0].attempts, 0) << "a quota is a pause, not a failure";
  const int calls = static_cast<int>(fake_.served().size());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(static_cast<int>(fake_.served().size()), calls) << "a parked integration makes no calls";
}

TEST_F(SalesforceTest, TheLookUpFindsNormalisesAndDegradesWithinItsDeadline) {
  fake_.AddContact(R"({"FirstName":"Jane","LastName":"Smith","Email":"jane.smith@example.com","Phone":"+49 89 1234"})",
                   "Acme Corp");
  Start();
  auto found = Lookup(kVisitorEmail);
  ASSERT_TRUE(found.json->getValue<bool>("found")) << found.json;
  auto contact = found.json->getObject("contact");
  EXPECT_EQ(Text(contact, "email"), kVisitorEmail);
  EXPECT_EQ(Text(contact, "first_name"), "Jane");
  EXPECT_EQ(Text(contact, "last_name"), "Smith");
  EXPECT_EQ(Text(contact, "company"), "Acme Corp");
  EXPECT_EQ(Text(contact, "phone"), "+49 89 1234");
  EXPECT_EQ(Text(contact, "crm"), "salesforce");
  EXPECT_EQ(Text(contact, "id").rfind("003", 0), 0u);

  auto missing = Lookup("o'brien@example.com");
  EXPECT_FALSE(missing.json->getValue<bool>("found"));
  EXPECT_FALSE(missing.json->has("skipped")) << "a quote in the address is escaped, not an error";

  ExpectLookUpSkippedWhenTheCrmIsDownOrSlow(fake_, kVisitorEmail);
}

}  // namespace
}  // namespace crmhost::testing
