// The operator's view through the real binary: GET /v1/status, the dead letters (filters, paging,
// inspection, replay one and in bulk as a job, discard), /readyz on a stalled queue, and a log
// that an outage does not flood.
#include <Poco/JSON/Array.h>

#include <cstdlib>
#include <set>

#include "e2e_fixture.h"
#include "support/child_process.h"

namespace crmhost::testing {
namespace {

constexpr const char* kAdmin = "admin-key-operations";

Poco::JSON::Object::Ptr GetJson(const HttpClient& client, const std::string& path,
                                const std::string& key, int want = 200) {
  const HttpResponse r = client.Get(path, key);
  if (r.status != want)
    throw std::runtime_error("GET " + path + " answered " + std::to_string(r.status) + ": " +
                             r.body);
  return r.json();
}

// The status entry of `integration` in GET /v1/status (null when absent).
Poco::JSON::Object::Ptr StatusOf(const Poco::JSON::Object::Ptr& status,
                                 const std::string& integration) {
  auto list = status->getArray("integrations");
  for (size_t i = 0; i < list->size(); ++i) {
    auto o = list->getObject(static_cast<unsigned>(i));
    if (o->getValue<std::string>("integration") == integration) return o;
  }
  return nullptr;
}

int64_t Count(const Poco::JSON::Object::Ptr& entry, const std::string& state) {
  return entry->getObject("counts")->getValue<int64_t>(state);
}

std::vector<std::string> LetterIds(const Poco::JSON::Object::Ptr& page) {
  std::vector<std::string> ids;
  auto list = page->getArray("dead_letters");
  for (size_t i = 0; i < list->size(); ++i)
    ids.push_back(list->getObject(static_cast<unsigned>(i))->getValue<std::string>("id"));
  return ids;
}

class OperationsTest : public E2eTest {
 protected:
  // Waits until `tenant_key` has `n` dead letters; returns them (newest first).
  std::vector<std::string> WaitForDeadLetters(const std::string& key, size_t n) {
    std::vector<std::string> ids;
    EXPECT_TRUE(Eventually(
        [&] {
          ids = LetterIds(GetJson(Client(), "/v1/dead-letters?limit=1000", key));
          return ids.size() == n;
        },
        kDeadline))
        << ids.size() << " dead letters, not " << n;
    return ids;
  }
};

TEST_F(OperationsTest, StatusShowsEachIntegrationsFiguresToItsTenantAndAllToTheAdmin) {
  Receiver failing(NewWhsecSecret()), fine(NewWhsecSecret());
  failing.AnswerGone();  // dead at once
  HostConfig config = AcmeAndBeta(kAdmin, failing, fine);
  StartHost(config);

  // Before any delivery: configured, serving, no figures yet.
  auto before = StatusOf(GetJson(Client(), "/v1/status", "acme-key"), "acme-webhook");
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->getValue<bool>("serving"));
  EXPECT_EQ(Count(before, "dead"), 0);
  EXPECT_TRUE(before->get("last_success_at").isEmpty());

  for (int i = 0; i < 3; ++i) PostEvent("acme-key", VisitorEvent(kCheckedIn));
  const std::string beta_event = PostEvent("beta-key", VisitorEvent(kCheckedOut));
  WaitForDeadLetters("acme-key", 3);
  WaitForDeliveries("beta-key", beta_event, "delivered");

  auto acme = GetJson(Client(), "/v1/status", "acme-key");
  EXPECT_EQ(acme->getArray("integrations")->size(), 1u) << "a tenant sees only its own";
  auto a = StatusOf(acme, "acme-webhook");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->getValue<std::string>("tenant"), "acme");
  EXPECT_EQ(a->getValue<std::string>("adapter"), "webhook");
  EXPECT_EQ(a->getValue<int>("generation"), 1);
  EXPECT_EQ(Count(a, "dead"), 3);
  EXPECT_EQ(Count(a, "pending") + Count(a, "in_flight") + Count(a, "delivered"), 0);
  EXPECT_EQ(a->getValue<int64_t>("dead_letters"), 3);
  EXPECT_TRUE(a->get("last_success_at").isEmpty());
  auto error = a->getObject("last_error");
  ASSERT_TRUE(error) << "no last_error";
  EXPECT_EQ(error->getValue<std::string>("outcome"), "PERMANENT");
  EXPECT_EQ(error->getValue<int>("http_status"), 410);
  EXPECT_FALSE(error->getValue<std::string>("message").empty());
  EXPECT_EQ(a->getObject("credential")->getValue<std::string>("state"), "none");
  EXPECT_TRUE(a->getObject("pacing")->get("parked_until").isEmpty());
  EXPECT_TRUE(a->get("oldest_pending_age_ms").isEmpty());

  auto everyone = GetJson(Client(), "/v1/status", kAdmin);
  auto b = StatusOf(everyone, "beta-webhook");
  ASSERT_TRUE(b) << "the admin key sees every tenant";
  EXPECT_TRUE(StatusOf(everyone, "acme-webhook"));
  EXPECT_EQ(Count(b, "delivered"), 1);
  EXPECT_FALSE(b->get("last_success_at").isEmpty());
  EXPECT_TRUE(b->get("last_error").isEmpty());
  auto only_beta = GetJson(Client(), "/v1/status?tenant=beta", kAdmin);
  EXPECT_EQ(only_beta->getArray("integrations")->size(), 1u);

  // The figures survive a restart: they are the store's, not the process's.
  ASSERT_EQ(host_->Stop(), std::optional<int>(0));
  host_->Start();
  auto again = StatusOf(GetJson(Client(), "/v1/status", "acme-key"), "acme-webhook");
  EXPECT_EQ(Count(again, "dead"), 3);
  EXPECT_EQ(again->getObject("last_error")->getValue<int>("http_status"), 410);
}

TEST_F(OperationsTest, DeadLettersAreFilteredPagedInspectedDiscardedAndTenantScoped) {
  Receiver failing(NewWhsecSecret()), fine(NewWhsecSecret());
  failing.AnswerGone();
  StartHost(AcmeAndBeta(kAdmin, failing, fine));
  std::set<std::string> checked_in_bodies;
  for (int i = 0; i < 5; ++i) {
    std::string body = VisitorEvent(kCheckedIn, "v" + std::to_string(i) + "@example.com");
    checked_in_bodies.insert(body);
    PostEvent("acme-key", body);
  }
  const std::string pre_body = VisitorEvent(kPreRegistered, "pre@example.com");
  PostEvent("acme-key", pre_body);
  PostEvent("acme-key", VisitorEvent(kPreRegistered, "pre2@example.com"));
  const auto all = WaitForDeadLetters("acme-key", 7);

  // Pages of 3 by cursor: every letter once, newest first, then no cursor.
  std::vector<std::string> paged;
  std::string cursor;
  int pages = 0;
  do {
    auto page = GetJson(Client(), "/v1/dead-letters?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor),
                        "acme-key");
    for (auto& id : LetterIds(page)) paged.push_back(id);
    cursor = page->get("next_cursor").isEmpty() ? "" : page->getValue<std::string>("next_cursor");
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paged, all);

  // Filters.
  auto pre = LetterIds(GetJson(Client(), "/v1/dead-letters?event_type=visitor.pre_registered", "acme-key"));
  EXPECT_EQ(pre.size(), 2u);
  EXPECT_EQ(LetterIds(GetJson(Client(), "/v1/dead-letters?http_status=410", "acme-key")).size(), 7u);
  EXPECT_TRUE(LetterIds(GetJson(Client(), "/v1/dead-letters?http_status=500", "acme-key")).empty());
  EXPECT_EQ(LetterIds(GetJson(Client(), "/v1/dead-letters?outcome=PERMANENT&integration=acme-webhook",
                              "acme-key")).size(), 7u);
  EXPECT_TRUE(LetterIds(GetJson(Client(), "/v1/dead-letters?until=2000-01-01T00:00:00Z", "acme-key")).empty());
  EXPECT_EQ(LetterIds(GetJson(Client(), "/v1/dead-letters?since=2000-01-01T00:00:00Z", "acme-key")).size(), 7u);
  // Bad input is named.
  for (const char* bad : {"cursor=nonsense", "since=yesterday", "http_status=abc", "limit=0"}) {
    const HttpResponse r = Client().Get(std::string("/v1/dead-letters?") + bad, "acme-key");
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_EQ(JsonString(r.json(), "error"), "bad_field") << bad;
  }
  EXPECT_EQ(Client().Get("/v1/dead-letters", kAdmin).status, 400) << "the admin key names the tenant";

  // Inspect one: the event as received and its attempt with the CRM's answer.
  auto shown = GetJson(Client(), "/v1/dead-letters/" + pre.back(), "acme-key");
  EXPECT_EQ(shown->getObject("delivery")->getValue<std::string>("status"), "dead");
  auto event = shown->getObject("event");
  EXPECT_EQ(event->getValue<std::string>("type"), "visitor.pre_registered");
  auto payload = event->getObject("payload");
  ASSERT_TRUE(payload);
  auto attempts = shown->getArray("attempts");
  ASSERT_EQ(attempts->size(), 1u);
  auto attempt = attempts->getObject(0);
  EXPECT_EQ(attempt->getValue<int>("attempt"), 1);
  EXPECT_EQ(attempt->getValue<std::string>("outcome"), "PERMANENT");
  EXPECT_EQ(attempt->getValue<int>("http_status"), 410);
  EXPECT_EQ(attempt->getValue<std::string>("response").rfind("HTTP 410", 0), 0u)
      << attempt->getValue<std::string>("response");
  EXPECT_EQ(GetJson(Client(), "/v1/dead-letters/" + pre.back() + "?tenant=acme", kAdmin)
                ->getObject("delivery")->getValue<std::string>("id"),
            pre.back());

  // Another tenant cannot see, count, replay or discard them.
  EXPECT_EQ(Client().Get("/v1/dead-letters/" + pre.back(), "beta-key").status, 404);
  EXPECT_TRUE(LetterIds(GetJson(Client(), "/v1/dead-letters", "beta-key")).empty());
  EXPECT_EQ(Client().PostJson("/v1/dead-letters/" + pre.back() + "/replay", "", "beta-key").status, 404);
  EXPECT_EQ(Client().PostJson("/v1/dead-letters/" + pre.back() + "/discard", R"({"reason":"x"})",
                              "beta-key").status, 404);
  EXPECT_EQ(Count(StatusOf(GetJson(Client(), "/v1/status", "beta-key"), "beta-webhook"), "dead"), 0);
  EXPECT_FALSE(StatusOf(GetJson(Client(), "/v1/status", "beta-key"), "acme-webhook"));

  // Discard: a reason is required; then it leaves the dead letters and cannot be replayed.
  const HttpResponse no_reason =
      Client().PostJson("/v1/dead-letters/" + pre.back() + "/discard", "{}", "acme-key");
  EXPECT_EQ(no_reason.status, 400) << no_reason.body;
  EXPECT_EQ(JsonString(no_reason.json(), "field"), "reason");
  const HttpResponse discarded = Client().PostJson(
      "/v1/dead-letters/" + pre.back() + "/discard", R"({"reason":"test visitor"})", "acme-key");
  ASSERT_EQ(discarded.status, 200) << discarded.body;
  EXPECT_EQ(JsonString(discarded.json(), "status"), "discarded");
  EXPECT_EQ(LetterIds(GetJson(Client(), "/v1/dead-letters", "acme-key")).size(), 6u);
  EXPECT_EQ(Client().PostJson("/v1/dead-letters/" + pre.back() + "/replay", "", "acme-key").status, 409);
  EXPECT_EQ(Client().PostJson("/v1/dead-letters/" + pre.back() + "/discard", R"({"reason":"again"})",
                              "acme-key").status, 409);
  auto status = StatusOf(GetJson(Client(), "/v1/status", "acme-key"), "acme-webhook");
  EXPECT_EQ(Count(status, "dead"), 6);
  EXPECT_EQ(Count(status, "discarded"), 1);
  auto detail = GetJson(Client(), "/v1/dead-letters/" + pre.back(), "acme-key");
  EXPECT_EQ(detail->getObject("delivery")->getValue<std::string>("status"), "discarded");
  EXPECT_EQ(detail->getObject("delivery")->getValue<std::string>("discard_reason"), "test visitor");
}

TEST_F(OperationsTest, BulkReplayRunsAsAJobAndNeverDuplicatesADelivery) {
  Receiver failing(NewWhsecSecret()), fine(NewWhsecSecret());
  failing.AlwaysFail(503);
  HostConfig config = AcmeAndBeta(kAdmin, failing, fine);
  config.retry_attempts = 2;
  StartHost(config);
  for (int i = 0; i < 6; ++i) PostEvent("acme-key", VisitorEvent(kCheckedIn, "b" + std::to_string(i) + "@example.com"));
  const auto dead = WaitForDeadLetters("acme-key", 6);
  ASSERT_TRUE(failing.WaitIdle(kDeadline));
  EXPECT_EQ(failing.count(), 12u);
  failing.Succeed();

  // One replayed by hand first: it is pending (or delivered), no longer a dead letter, so the bulk
  // replay leaves it alone.
  ASSERT_EQ(Client().PostJson("/v1/dead-letters/" + dead[0] + "/replay", "", "acme-key").status, 202);

  const HttpResponse unknown = Client().PostJson("/v1/dead-letters/replay", R"({"colour":"red"})", "acme-key");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  const HttpResponse started = Client().PostJson("/v1/dead-letters/replay",
                                                 R"({"integration":"acme-webhook","http_status":503})",
                                                 "acme-key");
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string job_id = started.json()->getObject("job")->getValue<std::string>("id");
  EXPECT_EQ(started.header("location"), "/v1/jobs/" + job_id);
  Poco::JSON::Object::Ptr job;
  ASSERT_TRUE(Eventually(
      [&] {
        job = GetJson(Client(), "/v1/jobs/" + job_id, "acme-key")->getObject("job");
        return job->getValue<std::string>("state") == "done";
      },
      kDeadline));
  EXPECT_EQ(job->getValue<int64_t>("total"), 5);
  EXPECT_EQ(job->getValue<int64_t>("replayed"), 5);
  EXPECT_EQ(job->getValue<int64_t>("done"), 5);
  EXPECT_EQ(Client().Get("/v1/jobs/" + job_id, "beta-key").status, 404) << "another tenant's job";
  EXPECT_EQ(Client().Get("/v1/jobs/" + job_id, kAdmin).status, 200);

  // Every letter is delivered exactly once more: 2 failed attempts + 1 each.
  ASSERT_TRUE(Eventually(
      [&] { return ListDeliveries(Client(), "acme-key", "status=delivered").size() == 6; }, kDeadline));
  ASSERT_TRUE(failing.WaitIdle(kDeadline));
  std::map<std::string, int> per_delivery;
  for (const Arrival& a : failing.arrivals()) ++per_delivery[a.webhook_id];
  EXPECT_EQ(per_delivery.size(), 6u);
  for (const auto& [id, n] : per_delivery) EXPECT_EQ(n, 3) << id;
  for (const auto& d : ListDeliveries(Client(), "acme-key", "status=delivered"))
    EXPECT_EQ(d.attempts, 1) << "a replay starts a fresh attempt count";
  auto status = StatusOf(GetJson(Client(), "/v1/status", "acme-key"), "acme-webhook");
  EXPECT_EQ(Count(status, "delivered"), 6);
  EXPECT_EQ(Count(status, "dead"), 0);
}

TEST_F(OperationsTest, ReadyzNamesTheIntegrationWhoseDueDeliveriesStall) {
  Receiver slow(NewWhsecSecret()), fine(NewWhsecSecret());
  slow.SlowFirst(1, std::chrono::milliseconds(4000));
  HostConfig config = AcmeAndBeta(kAdmin, slow, fine);
  config.workers = 1;  // one call in flight, 32 leased ahead: the rest stay due
  config.deliver_timeout = "10s";
  config.extra_yaml = "stall_after: 1s\n";
  StartHost(config);
  EXPECT_EQ(Client().Get("/readyz").status, 200);
  for (int i = 0; i < 40; ++i) PostEvent("acme-key", VisitorEvent(kCheckedIn));
  HttpResponse ready;
  ASSERT_TRUE(Eventually(
      [&] {
        ready = Client().Get("/readyz");
        return ready.status == 503;
      },
      std::chrono::milliseconds(3500)))
      << ready.body;
  auto integrations = ready.json()->getObject("integrations");
  ASSERT_TRUE(integrations && integrations->has("acme/acme-webhook")) << ready.body;
  EXPECT_NE(integrations->getValue<std::string>("acme/acme-webhook").find("stalled"), std::string::npos);
  // Once the call returns, the queue drains and the host is ready again.
  ASSERT_TRUE(Eventually([&] { return Client().Get("/readyz").status == 200; }, kDeadline));
}

TEST_F(OperationsTest, AnOutageLogsItsFirstFailureThenSummariesThenTheRecovery) {
  Receiver down(NewWhsecSecret()), fine(NewWhsecSecret());
  down.AlwaysFail(503);
  HostConfig config = AcmeAndBeta(kAdmin, down, fine);
  config.extra_yaml = "log_failure_summary: 500ms\n";
  StartHost(config);
  for (int i = 0; i < 30; ++i) PostEvent("acme-key", VisitorEvent(kCheckedIn));
  WaitForDeadLetters("acme-key", 30);  // 300 failed attempts
  const std::string during = host_->stderr_text();
  size_t lines = 0;
  for (size_t at = during.find("[acme/acme-webhook]"); at != std::string::npos;
       at = during.find("[acme/acme-webhook]", at + 1))
    ++lines;
  // The first failure, then at most a summary per 500 ms (the outage lasts a few seconds).
  EXPECT_GE(lines, 1u);
  EXPECT_LT(lines, 20u) << during;
  EXPECT_NE(during.find(" attempt 1 "), std::string::npos) << during;
  down.Succeed();
  const std::string event = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  WaitForDeliveries("acme-key", event, "delivered");
  ASSERT_TRUE(Eventually(
      [&] { return host_->stderr_text().find("[acme/acme-webhook] recovered") != std::string::npos; },
      kDeadline))
      << host_->stderr_text();
  const std::string after = host_->stderr_text();
  EXPECT_NE(after.find("still failing"), std::string::npos) << after;
}


TEST_F(OperationsTest, TheCliShowsStatusAndWorksTheDeadLetters) {
  Receiver failing(NewWhsecSecret()), fine(NewWhsecSecret());
  failing.AnswerGone();
  StartHost(AcmeAndBeta(kAdmin, failing, fine));
  for (int i = 0; i < 3; ++i) PostEvent("acme-key", VisitorEvent(kCheckedIn));
  const auto dead = WaitForDeadLetters("acme-key", 3);
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {CrmhostBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--url", host_->base_url(), "--key", "acme-key"});
    return RunCommand(argv, dir_.path());
  };

  auto status = cli({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out.rfind("TENANT", 0), 0u) << status.out;
  EXPECT_NE(status.out.find("acme-webhook"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("serving: webhook"), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("beta-webhook"), std::string::npos) << "another tenant's";
  auto as_json = cli({"status", "--json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  EXPECT_EQ(ParseJsonObject(as_json.out)->getArray("integrations")->size(), 1u);
  auto listed = cli({"integrations", "list"});
  EXPECT_NE(listed.out.find("webhook"), std::string::npos) << listed.out;

  auto list = cli({"dlq", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const auto& id : dead) EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  auto show = cli({"dlq", "show", dead[0]});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("HTTP 410"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("payload:"), std::string::npos) << show.out;

  EXPECT_EQ(cli({"dlq", "discard", dead[0]}).exit_code, 2) << "a reason is required";
  auto discarded = cli({"dlq", "discard", dead[0], "--reason", "a test visitor"});
  EXPECT_EQ(discarded.exit_code, 0) << discarded.err;
  auto again = cli({"dlq", "discard", dead[0], "--reason", "again"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("discarded"), std::string::npos) << again.err;
  auto unknown = cli({"dlq", "replay", "dlv_00000000000000000000000000"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("HTTP 404"), std::string::npos) << unknown.err;

  // The bulk replay, with the URL and key from the environment.
  failing.Succeed();
  ::setenv("CRMHOST_URL", host_->base_url().c_str(), 1);
  ::setenv("CRMHOST_KEY", "acme-key", 1);
  auto bulk = RunCommand({CrmhostBinary(), "dlq", "replay", "--all", "--http-status", "410"},
                         dir_.path());
  ::unsetenv("CRMHOST_URL");
  ::unsetenv("CRMHOST_KEY");
  ASSERT_EQ(bulk.exit_code, 0) << bulk.out << bulk.err;
  EXPECT_NE(bulk.out.find("2 replayed"), std::string::npos) << bulk.out;
  ASSERT_TRUE(Eventually(
      [&] { return ListDeliveries(Client(), "acme-key", "status=delivered").size() == 2; }, kDeadline));

  // The audit log has what the operator did, scoped like everything else.
  auto actions = [&](const std::string& path, const std::string& key) {
    std::vector<std::string> out;
    auto list = GetJson(Client(), path, key)->getArray("entries");
    for (size_t i = 0; i < list->size(); ++i)
      out.push_back(list->getObject(static_cast<unsigned>(i))->getValue<std::string>("action"));
    return out;
  };
  std::vector<std::string> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        seen = actions("/v1/audit?action=dead_letters.", "acme-key");
        return seen.size() == 3;  // the discard, the refused discard, the bulk replay's end
      },
      kDeadline));
  EXPECT_EQ(seen[0], "dead_letters.bulk_replay");
  auto discard_entry = GetJson(Client(), "/v1/audit?action=dead_letters.discard&limit=1", "acme-key");
  EXPECT_EQ(discard_entry->getArray("entries")->getObject(0)->getValue<std::string>("outcome").rfind("refused", 0), 0u);
  ASSERT_FALSE(discard_entry->get("next_cursor").isEmpty());
  auto older = GetJson(Client(), "/v1/audit?action=dead_letters.discard&cursor=" +
                                     discard_entry->getValue<std::string>("next_cursor"),
                       "acme-key");
  ASSERT_EQ(older->getArray("entries")->size(), 1u);
  EXPECT_EQ(older->getArray("entries")->getObject(0)->getValue<std::string>("detail"),
            "reason: a test visitor");
  EXPECT_TRUE(actions("/v1/audit", "beta-key").empty()) << "another tenant's audit";
  EXPECT_EQ(actions("/v1/audit?tenant=acme&action=dead_letters.", kAdmin).size(), 3u);
  EXPECT_EQ(Client().Get("/v1/audit?since=soon", "acme-key").status, 400);
  auto audit = cli({"audit", "--action", "dead_letters."});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("dead_letters.bulk_replay"), std::string::npos) << audit.out;

  auto nowhere = RunCommand({CrmhostBinary(), "status"}, dir_.path());
  EXPECT_EQ(nowhere.exit_code, 2);
  EXPECT_NE(nowhere.err.find("CRMHOST_URL"), std::string::npos) << nowhere.err;
}

}  // namespace
}  // namespace crmhost::testing
