// The HubSpot adapter (plugins/hubspot) through the real binary against the HubSpot fake
// (tests/fakes/hubspot_fake.h): a private-app token held by the host, contacts by batch upsert
// on email, visits as notes associated to the contact (type 202), no duplicate note on a replay
// even while search lags, 429 parking, the look-up, and HubSpot's own validation messages.
#include "crm_fixture.h"
#include "fakes/hubspot_fake.h"

namespace crmhost::testing {
namespace {

constexpr char kPrivateAppToken[] = "pat-na1-11111111-2222-3333-4444-555555555555";

class HubSpotTest : public CrmE2eTest {
 protected:
  void Start(CrmIntegration spec = {}) {
    fake_.AcceptStaticToken(kPrivateAppToken);
    spec.adapter = "hubspot";
    spec.oauth_client = false;
    spec.config["api_base"] = fake_.base_url();
    spec.config["api_token"] = "env:HUBSPOT_TOKEN";
    StartCrm(spec, {{"HUBSPOT_TOKEN", kPrivateAppToken}});
  }
  HubSpotFake fake_{kCrmClientId, kCrmClientSecret};
};

TEST_F(HubSpotTest, PreRegisterUpsertsOneContactAndCheckOutAddsOneNoteOnIt) {
  Start();
  Await(Post(kPreRegistered), "delivered");
  Await(Post(kCheckedIn), "delivered");
  auto contacts = fake_.Contacts();
  ASSERT_EQ(contacts.size(), 1u);
  auto props = contacts[0]->getObject("properties");
  EXPECT_EQ(Text(props, "email"), kVisitorEmail);
  EXPECT_EQ(Text(props, "firstname"), "Jane");
  EXPECT_EQ(Text(props, "lastname"), "Smith");
  EXPECT_EQ(Text(props, "company"), "Acme Corp");
  EXPECT_EQ(fake_.count("POST", "/crm/v3/objects/contacts/batch/upsert"), 2);

  Await(Post(kCheckedOut), "delivered");
  ASSERT_EQ(fake_.Contacts().size(), 1u);
  auto notes = fake_.Notes();
  ASSERT_EQ(notes.size(), 1u);
  auto contact_ids = notes[0]->getArray("contact_ids");
  ASSERT_TRUE(contact_ids && contact_ids->size() == 1);
  EXPECT_EQ(contact_ids->get(0).toString(), Text(contacts[0], "id"));
  auto note = notes[0]->getObject("properties");
  EXPECT_EQ(Text(note, "hs_timestamp"), "2026-04-15T14:30:00.000Z");
  const std::string body = Text(note, "hs_note_body");
  for (const char* part : {"Munich HQ", "Host: John Doe", "Checked in: 2026-04-15T10:05:00Z",
                           "NDA v3, WiFi Policy v1"})
    EXPECT_NE(body.find(part), std::string::npos) << part << " in " << body;
}

TEST_F(HubSpotTest, ANoteWhoseAnswerWasLostIsNotWrittenAgainOnReplayWhileSearchLags) {
  fake_.SetSearchLagMs(600000);  // search would not see it for ten minutes (crm-contracts §2.3)
  CrmIntegration spec;
  spec.deliver_timeout = "1s";
  spec.attempts = 1;
  Start(spec);
  fake_.CommitThenTimeoutOn("POST", "/crm/v3/objects/notes", 1, 2500);
  auto dead = Await(Post(kCheckedOut), "dead");
  ASSERT_EQ(fake_.Notes().size(), 1u);
  Replay(dead.id);
  Await(dead.event_id, "delivered");
  EXPECT_EQ(fake_.Notes().size(), 1u);
  EXPECT_EQ(fake_.Contacts().size(), 1u);
  EXPECT_EQ(fake_.count("POST", "/crm/v3/objects/contacts/search"), 0) << "never rely on lagging search";
}

TEST_F(HubSpotTest, ARetryAfterALostAnswerAndARestartMakeNoSecondNote) {
  CrmIntegration spec;
  spec.deliver_timeout = "1s";
  Start(spec);
  fake_.CommitThenTimeoutOn("POST", "/crm/v3/objects/notes", 1, 2500);
  const std::string body = VisitorEvent(kCheckedOut, kVisitorEmail, "visit-1");
  const std::string event = Post(kCheckedOut, kVisitorEmail, body);
  EXPECT_EQ(Await(event, "delivered").attempts, 2) << "the timed-out attempt is retried";
  EXPECT_EQ(fake_.Notes().size(), 1u);
  Restart();
  EXPECT_EQ(Post(kCheckedOut, kVisitorEmail, body), event);
  Await(event, "delivered");
  EXPECT_EQ(fake_.Notes().size(), 1u);
  EXPECT_EQ(fake_.Contacts().size(), 1u);
}

TEST_F(HubSpotTest, A429ParksTheQueueUntilRetryAfterWithoutBurningAttempts) {
  Start();
  fake_.SetRetryAfterSeconds(1);
  fake_.RateLimitAfter(0);
  const std::string event = Post(kPreRegistered);
  ASSERT_TRUE(Eventually([&] {
    auto rows = ListDeliveries(Client(), "acme-key", "event_id=" + event);
    return rows.size() == 1 && rows[0].last_error.find("rate limited") != std::string::npos;
  }, kDeadline));
  EXPECT_EQ(ListDeliveries(Client(), "acme-key", "event_id=" + event)[0].attempts, 0);
  fake_.ClearRateLimit();
  auto delivered = Await(event, "delivered");
  EXPECT_EQ(delivered.attempts, 1) << "the throttled tries were not attempts";
  EXPECT_EQ(fake_.Contacts().size(), 1u);
}

TEST_F(HubSpotTest, PacingKeepsRequestsUnderTheConfiguredBudgetWithoutCountingAttempts) {
  CrmIntegration spec;
  spec.config["pacing_requests"] = "2";
  spec.config["pacing_window"] = "1s";
  Start(spec);
  std::vector<std::string> events;
  for (int i = 0; i < 5; ++i)
    events.push_back(Post(kPreRegistered, "visitor" + std::to_string(i) + "@example.com"));
  for (const auto& e : events) EXPECT_EQ(Await(e, "delivered").attempts, 1);
  std::vector<std::chrono::steady_clock::time_point> at;
  for (const auto& r : fake_.served())
    if (r.method == "POST") at.push_back(r.at);
  ASSERT_EQ(at.size(), 5u);
  // Any three requests span at least the window: never more than two inside one second.
  for (size_t i = 2; i < at.size(); ++i)
    EXPECT_GE(at[i] - at[i - 2], std::chrono::milliseconds(950)) << "requests " << i - 2 << ".." << i;
}

TEST_F(HubSpotTest, APropertyThePortalLacksIsDeadWithHubSpotsMessage) {
  CrmIntegration spec;
  spec.mapping = R"({contact: {visitor_badge: "{visitor.email}"}})";
  Start(spec);
  auto dead = Await(Post(kPreRegistered), "dead");
  EXPECT_NE(dead.last_error.find("visitor_badge"), std::string::npos) << dead.last_error;
  EXPECT_EQ(fake_.Contacts().size(), 0u);
}

TEST_F(HubSpotTest, TheLookUpFindsByEmailAndSaysNotFound) {
  fake_.AddContact(R"({"email":"jane.smith@example.com","firstname":"Jane","lastname":"Smith","company":"Acme Corp","phone":"+1 555 0100"})");
  Start();
  auto found = Lookup(kVisitorEmail);
  ASSERT_TRUE(found.json->getValue<bool>("found")) << found.json;
  auto contact = found.json->getObject("contact");
  EXPECT_EQ(Text(contact, "company"), "Acme Corp");
  EXPECT_EQ(Text(contact, "phone"), "+1 555 0100");
  EXPECT_EQ(Text(contact, "crm"), "hubspot");
  EXPECT_FALSE(Text(contact, "id").empty());
  auto tested = TestConnection();
  EXPECT_TRUE(tested->getValue<bool>("ok")) << tested;
  EXPECT_EQ(fake_.count("GET", "/crm/v3/objects/contacts"), 2) << "the look-up and the test's one read";
  auto missing = Lookup("nobody+tag@example.com");
  EXPECT_FALSE(missing.json->getValue<bool>("found"));
  EXPECT_FALSE(missing.json->has("skipped")) << missing.json;
  bool seen = false;
  for (const auto& r : fake_.served())
    if (r.path.find("nobody+tag@example.com") != std::string::npos) {
      seen = true;
      EXPECT_NE(r.raw_path.find("nobody%2Btag%40example.com"), std::string::npos)
          << "the adapter's escapes reach the wire: " << r.raw_path;
    }
  EXPECT_TRUE(seen);
  ExpectLookUpSkippedWhenTheCrmIsDownOrSlow(fake_, kVisitorEmail);
  fake_.RateLimitAfter(0);
  auto limited = Lookup(kVisitorEmail);
  EXPECT_FALSE(limited.json->getValue<bool>("found"));
  EXPECT_FALSE(Text(limited.json, "skipped").empty());
}

}  // namespace
}  // namespace crmhost::testing
