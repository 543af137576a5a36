// A repeated event (same "id" field, or same Idempotency-Key header) answers the first answer
// again and creates nothing new: one delivery, one arrival.
#include <set>
#include <thread>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

TEST_F(E2eTest, RepeatedEventIdOrIdempotencyKeyCreatesOneDelivery) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  const std::string by_id_body = VisitorEvent(kPreRegistered, "a@example.com", "client-evt-1");
  const HttpResponse first = Client().PostJson("/v1/events", by_id_body, "acme-key");
  ASSERT_EQ(first.status, 202) << first.body;
  const std::string by_id = JsonString(first.json(), "id");
  EXPECT_TRUE(std::regex_match(by_id, kEventId)) << first.body;
  for (int i = 0; i < 3; ++i) {
    const HttpResponse again = Client().PostJson("/v1/events", by_id_body, "acme-key");
    ASSERT_EQ(again.status, 202) << again.body;
    EXPECT_EQ(JsonString(again.json(), "id"), by_id);
    EXPECT_EQ(again.json()->getValue<int>("deliveries"), first.json()->getValue<int>("deliveries"));
  }

  const std::string by_key_body = VisitorEvent(kCheckedIn, "b@example.com");
  const Headers key = {{"Idempotency-Key", "idem-key-7"}};
  const HttpResponse keyed = Client().PostJson("/v1/events", by_key_body, "acme-key", key);
  ASSERT_EQ(keyed.status, 202) << keyed.body;
  const std::string by_key = JsonString(keyed.json(), "id");
  EXPECT_NE(by_key, by_id);
  for (int i = 0; i < 3; ++i) {
    const HttpResponse again = Client().PostJson("/v1/events", by_key_body, "acme-key", key);
    ASSERT_EQ(again.status, 202) << again.body;
    EXPECT_EQ(JsonString(again.json(), "id"), by_key);
    EXPECT_EQ(again.json()->getValue<int>("deliveries"), 1);
  }

  // Without id or key, the same body is a new event each time.
  const std::string plain_a = PostEvent("acme-key", VisitorEvent(kCheckedOut, "c@example.com"));
  const std::string plain_b = PostEvent("acme-key", VisitorEvent(kCheckedOut, "c@example.com"));
  EXPECT_NE(plain_a, plain_b);

  for (const std::string& id : {by_id, by_key, plain_a, plain_b}) {
    WaitForDeliveries("acme-key", id, "delivered");
  }
  const auto all = ListDeliveries(Client(), "acme-key", "limit=100");
  EXPECT_EQ(all.size(), 4u);
  ASSERT_TRUE(receiver.WaitForCount(4, kDeadline));
  std::multiset<std::string> emails;
  std::set<std::string> webhook_ids;
  for (const Arrival& a : receiver.arrivals()) {
    EXPECT_TRUE(a.verified());
    webhook_ids.insert(a.webhook_id);
    for (const char* e : {"a@example.com", "b@example.com", "c@example.com"}) {
      if (a.body.find(e) != std::string::npos) emails.insert(e);
    }
  }
  EXPECT_EQ(receiver.count(), 4u);
  EXPECT_EQ(webhook_ids.size(), 4u);
  EXPECT_EQ(emails, (std::multiset<std::string>{"a@example.com", "b@example.com", "c@example.com",
                                                "c@example.com"}));
}

TEST_F(E2eTest, ConcurrentRepeatsOfOneEventIdCreateOneEvent) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  constexpr int kClients = 8;
  const std::string body = VisitorEvent(kCheckedOut, "race@example.com", "client-evt-race");
  std::vector<std::string> ids(kClients);
  std::vector<int> statuses(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const HttpResponse r = Client().PostJson("/v1/events", body, "acme-key");
      statuses[i] = r.status;
      if (r.status == 202) ids[i] = JsonString(r.json(), "id");
    });
  }
  for (std::thread& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(statuses[i], 202) << "client " << i;
    EXPECT_EQ(ids[i], ids[0]) << "client " << i;
  }
  WaitForDeliveries("acme-key", ids[0], "delivered");
  EXPECT_EQ(ListDeliveries(Client(), "acme-key").size(), 1u);
  EXPECT_EQ(receiver.count(), 1u);
}

}  // namespace
}  // namespace crmhost::testing
