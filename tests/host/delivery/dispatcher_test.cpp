// The dispatcher with its HTTP transport and settings injected: a real SQLite store, the real
// webhook.so, and a transport scripted here instead of a server.
#include "delivery/dispatcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include "host/plugins/webhook_config.h"
#include "store/sqlite/sqlite_store.h"

namespace crmhost {
namespace {

using namespace std::chrono_literals;

// Answers each request with the next scripted status (204 once the script is used up) and
// records the URLs it was asked for. Shared by every worker's transport.
struct Script {
  std::mutex mu;
  std::deque<int> statuses;  // guarded by mu
  std::vector<std::string> urls;  // guarded by mu
};

class ScriptedTransport final : public HttpTransport {
 public:
  explicit ScriptedTransport(Script& script) : script_(script) {}
  HttpExchange send(const crmh_http_request& request, int64_t) override {
    std::lock_guard lock(script_.mu);
    script_.urls.emplace_back(request.url.ptr, request.url.len);
    HttpExchange x;
    x.status = 204;
    if (!script_.statuses.empty()) {
      x.status = script_.statuses.front();
      script_.statuses.pop_front();
    }
    return x;
  }

 private:
  Script& script_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  void Start(const Config& config, int64_t park_ms = 5000) {
    auto store = SqliteStore::open((dir_ / "data").string());
    ASSERT_TRUE(store.ok()) << store.error();
    store_ = std::move(*store);
    registry_ = std::make_unique<AdapterRegistry>(testing::WebhookPluginDir(dir_).string(),
                                                  (dir_ / "copies").string(), clock_,
                                                  reference_secrets());
    registry_->load(testing::Integrations(config));
    RetrySettings retry;
    retry.base_ms = 10;
    retry.cap_ms = 20;
    retry.attempts = 3;
    policy_ = std::make_unique<RetryPolicy>(retry, [] { return 0.5; });
    dispatcher_ = std::make_unique<Dispatcher>(
        *store_, *registry_, *policy_, clock_,
        [this] { return std::make_unique<ScriptedTransport>(script_); },
        DispatcherSettings{2, 60000, 2000, park_ms, 1000, 3}, metrics_);
    store_->on_deliveries_due([this] { dispatcher_->wake(); });
    dispatcher_->start();
  }
  void TearDown() override {
    if (store_) store_->on_deliveries_due(nullptr);
    if (dispatcher_) dispatcher_->stop();
  }
  std::string Post(const std::string& integration) {
    NewEvent e{"acme", "", "visitor.checked_in", "{\"event\":\"visitor.checked_in\"}",
               {integration}, clock_.wall_ms(), ""};
    auto r = store_->append(e);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? r->event_id : "";
  }
  // The event's one delivery, once `done` holds for it (or the last one seen after 10 s).
  DeliveryView WaitFor(const std::string& event_id, const std::function<bool(const DeliveryView&)>& done) {
    DeliveryView last;
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(5ms)) {
      auto rows = store_->list_deliveries({"acme", std::nullopt, event_id, 10});
      if (rows.ok() && rows->size() == 1) {
        last = (*rows)[0];
        if (done(last)) break;
      }
    }
    return last;
  }
  testing::TempDir dir_;
  SystemClock clock_;
  Script script_;
  Metrics metrics_;  // outlives the dispatcher
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<AdapterRegistry> registry_;
  std::unique_ptr<RetryPolicy> policy_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, RetriesThroughTheInjectedTransportUntilDelivered) {
  Config config;
  testing::AddIntegration(config, testing::WebhookIntegration("acme", "hook", "http://crm.test/in"));
  script_.statuses = {503, 502};
  Start(config);
  auto d = WaitFor(Post("hook"), [](const DeliveryView& v) { return v.status == DeliveryStatus::kDelivered; });
  EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d.attempts, 3);
  // Each attempt is counted by its adapter and outcome (the webhook adapter reads a 503 without
  // Retry-After as RATE_LIMITED).
  EXPECT_EQ(metrics_.delivery_attempts.with({"webhook", "RATE_LIMITED"}).value(), 1u);
  EXPECT_EQ(metrics_.delivery_attempts.with({"webhook", "RETRY"}).value(), 1u);
  EXPECT_EQ(metrics_.delivery_attempts.with({"webhook", "OK"}).value(), 1u);
  std::lock_guard lock(script_.mu);
  EXPECT_EQ(script_.urls, std::vector<std::string>(3, "http://crm.test/in"));
}

TEST_F(DispatcherTest, ExhaustedAttemptsMakeADeadLetterWithTheLastOutcome) {
  Config config;
  testing::AddIntegration(config, testing::WebhookIntegration("acme", "hook"));
  script_.statuses = {500, 500, 500};
  Start(config);
  auto d = WaitFor(Post("hook"), [](const DeliveryView& v) { return v.status == DeliveryStatus::kDead; });
  EXPECT_EQ(d.status, DeliveryStatus::kDead);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_NE(d.dead_reason.find("gave up after 3 attempts; last: RETRY: HTTP 500"), std::string::npos)
      << d.dead_reason << " / " << d.last_error;
}

// A delivery whose integration has no adapter waits `park_ms` (config park_delay) without
// using an attempt; the setting, not a constant, says how long.
TEST_F(DispatcherTest, ADeliveryWithoutAnAdapterParksForTheConfiguredDelay) {
  Config config;
  auto ic = testing::WebhookIntegration("acme", "orphan");
  ic.adapter = "not-loaded";
  testing::AddIntegration(config, ic);
  Start(config, /*park_ms=*/60000);
  int64_t posted = clock_.wall_ms();
  auto d = WaitFor(Post("orphan"), [](const DeliveryView& v) { return !v.last_error.empty(); });
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_EQ(d.attempts, 0) << "parking burns no attempt";
  EXPECT_GE(d.next_attempt_at_ms, posted + 60000);
  EXPECT_LT(d.next_attempt_at_ms, posted + 70000);
  std::lock_guard lock(script_.mu);
  EXPECT_TRUE(script_.urls.empty());
}

}  // namespace
}  // namespace crmhost
