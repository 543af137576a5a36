// kill -9 with a backlog: every acknowledged event is delivered at least once after a restart.
// Duplicates can only come from attempts in flight at the kill; they are counted and printed.
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

TEST_F(E2eTest, KillNineWithBacklogLosesNoAcknowledgedEvent) {
  constexpr int kEvents = 300;
  constexpr int kPosters = 4;
  Receiver receiver(NewWhsecSecret());
  receiver.SetDelay(200ms);  // a slow CRM: 4 workers drain about 20 events/s
  HostConfig config;
  config.workers = 4;
  config.lease = "2s";
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);

  // Each event carries its number in the visitor email, so an arrival names its event.
  std::mutex mu;
  std::map<int, std::string> acknowledged;  // number -> event id; guarded by mu
  std::atomic<int> next{0};
  std::atomic<int> rejected{0};
  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p) {
    posters.emplace_back([&] {
      HttpClient client(host_->base_url());
      for (int n = next++; n < kEvents; n = next++) {
        const std::string email = "visitor-" + std::to_string(n) + "@example.com";
        const HttpResponse r =
            client.PostJson("/v1/events", VisitorEvent(kCheckedIn, email), "acme-key");
        if (r.status == 202) {
          std::lock_guard lock(mu);
          acknowledged[n] = JsonString(r.json(), "id");
        } else {
          ++rejected;
        }
      }
    });
  }
  for (std::thread& t : posters) t.join();
  ASSERT_EQ(rejected.load(), 0);
  ASSERT_EQ(acknowledged.size(), static_cast<size_t>(kEvents));
  // Some deliveries are under way, most are still queued.
  ASSERT_TRUE(receiver.WaitForCount(1, kDeadline));
  host_->Kill9();
  // Attempts in flight at the kill finish at the receiver (their answer goes nowhere); wait for
  // them so that every arrival is counted.
  ASSERT_TRUE(receiver.WaitIdle(kDeadline));
  const size_t before_kill = receiver.count();
  std::cout << "[ crash    ] receiver saw " << before_kill << " requests before kill -9\n";
  ASSERT_LT(before_kill, static_cast<size_t>(kEvents)) << "no backlog at the kill";

  receiver.SetDelay(0ms);
  host_->Start();
  auto number_of = [](const Arrival& a) {
    const size_t at = a.body.find("visitor-");
    return at == std::string::npos ? -1 : std::stoi(a.body.substr(at + 8));
  };
  auto all_arrived = [&](const std::vector<Arrival>& arrivals) {
    std::set<int> seen;
    for (const Arrival& a : arrivals) {
      if (a.answered_status == 204) seen.insert(number_of(a));
    }
    return seen.size() >= static_cast<size_t>(kEvents);
  };
  const bool complete = receiver.WaitUntil(all_arrived, 40s);

  std::map<int, int> arrivals_per_event;
  std::set<std::string> webhook_ids;
  for (const Arrival& a : receiver.arrivals()) {
    EXPECT_TRUE(a.verified()) << a.webhook_id;
    ++arrivals_per_event[number_of(a)];
    webhook_ids.insert(a.webhook_id);
  }
  int missing = 0;
  for (const auto& [n, id] : acknowledged) {
    if (arrivals_per_event[n] == 0) {
      ++missing;
      ADD_FAILURE() << "acknowledged event " << id << " (visitor-" << n << ") never arrived";
    }
  }
  EXPECT_TRUE(complete);
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(arrivals_per_event.count(-1), 0u) << "an arrival of an event nobody posted";
  // Exactly one delivery per event, whatever the number of attempts.
  EXPECT_EQ(webhook_ids.size(), static_cast<size_t>(kEvents));
  int duplicates = 0;
  for (const auto& [n, count] : arrivals_per_event) duplicates += count - 1;
  std::cout << "[ crash    ] " << kEvents << " acknowledged, " << receiver.count() << " arrivals, "
            << duplicates << " duplicate(s) from attempts in flight at the kill\n";

  // The store agrees: every delivery recorded as delivered (none pending or in flight).
  size_t delivered = 0;
  EXPECT_TRUE(Eventually(
      [&] {
        delivered = ListDeliveries(Client(), "acme-key", "status=delivered&limit=1000").size();
        return delivered == static_cast<size_t>(kEvents);
      },
      kDeadline))
      << delivered << " of " << kEvents << " deliveries recorded as delivered";
}

}  // namespace
}  // namespace crmhost::testing
