// The route table on a real HttpServer and loopback socket: authentication, 404/405, and the
// event-loop fast path, which must never block.
#include "http/router.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "common/ids.h"
#include "http/http_server.h"
#include "ingress/ingress_routes.h"
#include "support/http_client.h"
#include "support/temp_dir.h"

namespace crmhost {
namespace {

using namespace std::chrono_literals;

// A store whose commits never finish: every append_then waits until the store is destroyed.
// An endpoint that waits for the store would block whoever runs it.
class StuckStore final : public Store {
 public:
  ~StuckStore() override { release(); }
  // Lets every waiting append fail, so the answers owed can leave.
  void release() {
    std::vector<AppendDone> waiting;
    {
      std::lock_guard lock(mu_);
      waiting.swap(waiting_);
    }
    for (auto& done : waiting) done(Error{"stuck store closing", ErrorKind::kUnavailable});
  }
  void append_then(NewEvent, AppendDone done) override {
    std::lock_guard lock(mu_);
    waiting_.push_back(std::move(done));
    appends_.set_value_once();
  }
  Expected<std::vector<LeasedDelivery>> settle_and_lease(const std::vector<Settlement>&, int64_t,
                                                        int64_t, int) override {
    return std::vector<LeasedDelivery>{};
  }
  Expected<int> return_expired_leases(int64_t) override { return 0; }
  Expected<std::optional<int64_t>> next_due_at_ms() override { return std::optional<int64_t>{}; }
  Expected<std::vector<DeliveryView>> list_deliveries(const DeliveryQuery&) override {
    return std::vector<DeliveryView>{};
  }
  Status replay(const std::string&, const std::string&, int64_t) override { return ok_status(); }
  Expected<DeadLetterPage> list_dead_letters(const DeadLetterQuery&) override {
    return DeadLetterPage{};
  }
  Expected<DeliveryDetail> delivery_detail(const std::string&, const std::string&) override {
    return Error{"none", ErrorKind::kNotFound};
  }
  Status discard(const std::string&, const std::string&, const std::string&, int64_t) override {
    return ok_status();
  }
  Expected<std::vector<IntegrationStats>> integration_stats(const std::string&) override {
    return std::vector<IntegrationStats>{};
  }
  Expected<std::optional<DeliveryView>> stalled_delivery(int64_t) override {
    return std::optional<DeliveryView>{};
  }

  struct Once {
    std::promise<void> p;
    std::once_flag flag;
    void set_value_once() {
      std::call_once(flag, [this] { p.set_value(); });
    }
  } appends_;

 private:
  std::mutex mu_;
  std::vector<AppendDone> waiting_;
};

const char kEvent[] =
    R"({"event":"visitor.checked_in","timestamp":"2026-04-15T10:05:00Z",)"
    R"("visitor":{"email":"jane@example.com","first_name":"Jane","last_name":"Smith"},)"
    R"("visit":{"host":"John","site":"HQ","checked_in_at":"2026-04-15T10:05:00Z"}})";

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : limiter_(clock_) {
    config_.admin_key_hash = sha256_hex("admin-key");
    TenantConfig acme;
    acme.id = "acme";
    acme.api_key_hashes = {sha256_hex("acme-key")};
    config_.tenants.push_back(acme);
  }
  // The router of these tests: keys of config_'s tenants, and its admin key.
  Router MakeRouter() {
    return Router(config_.admin_key_hash, [this](const std::string& hash) {
      for (const auto& t : config_.tenants)
        for (const auto& h : t.api_key_hashes)
          if (h == hash) return std::make_shared<const TenantConfig>(t);
      return std::shared_ptr<const TenantConfig>();
    });
  }
  // Serves `router` with one event loop, as the daemon serves its route tables.
  void Serve(Router& router) {
    server_ = std::make_unique<HttpServer>(
        [&router](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp,
                  ReplyOrder& order) {
          Exchange ex(req, resp, order, 1 << 20);
          router.handle(ex);
        },
        8, router.event_loop_requests(), /*event_loops=*/1);
    ASSERT_TRUE(server_->start("127.0.0.1", 0).ok());
  }
  testing::HttpClient Client() const {
    return testing::HttpClient("http://127.0.0.1:" + std::to_string(server_->port()));
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  testing::TempDir dir_;
  Config config_;
  SystemClock clock_;
  IngestLimiter limiter_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(RouterTest, AuthenticatesThenRoutesWith404And405) {
  Router router = MakeRouter();
  router.add("GET", "/t/{id}", Access::kTenant,
             [](Exchange& ex) { ex.send_json(200, "{\"id\":\"" + ex.params.at(0) + "\"}"); });
  router.add("GET", "/a", Access::kAdmin, [](Exchange& ex) { ex.send_json(200, "{}"); });
  router.add("GET", "/p", Access::kPublic, [](Exchange& ex) { ex.send_json(200, "{}"); });
  Serve(router);
  auto c = Client();
  EXPECT_EQ(c.Get("/t/x", "acme-key").json()->getValue<std::string>("id"), "x");
  EXPECT_EQ(c.Get("/t/x").status, 401);
  EXPECT_EQ(c.Get("/t/x", "wrong").status, 401);
  EXPECT_EQ(c.Get("/t/x", "admin-key").status, 403) << "the admin key is no tenant";
  EXPECT_EQ(c.Get("/a", "acme-key").status, 403);
  EXPECT_EQ(c.Get("/a", "admin-key").status, 200);
  EXPECT_EQ(c.Get("/p").status, 200);
  auto missing = c.Get("/nowhere", "acme-key");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()->getValue<std::string>("error"), "not_found");
  auto wrong_method = c.PostJson("/a", "{}", "admin-key");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "GET");
}

// The event loops learn what they serve from the route table alone; a pattern with a capture
// cannot be matched on a request line, so it is served on a thread whatever it asked for.
TEST_F(RouterTest, TheEventLoopsServeExactlyTheRoutesMarkedForThem) {
  Router router = MakeRouter();
  router.add("POST", "/fast", Access::kTenant, [](Exchange&) {}, Serving::kEventLoop);
  router.add("POST", "/fast/{id}", Access::kTenant, [](Exchange&) {}, Serving::kEventLoop);
  router.add("GET", "/slow", Access::kTenant, [](Exchange&) {});
  EXPECT_EQ(router.event_loop_requests(), std::vector<std::string>{"POST /fast HTTP/1.1"});
}

// Every route of the tenant API that the event loops serve must not block. With a store whose
// commits never finish, each such request is posted on one connection; if its endpoint waited
// for the store, the one loop would be stuck and a second connection would get no answer.
TEST_F(RouterTest, NoEventLoopRouteOfTheTenantApiBlocks) {
  StuckStore store;
  AdapterRegistry registry((dir_ / "plugins").string(), (dir_ / "copies").string(), clock_,
                           reference_secrets());
  Metrics metrics;
  IngressServices services{config_, store, limiter_, registry, clock_, metrics};
  Router router = MakeRouter();
  add_ingress_routes(router, services);
  router.add("GET", "/probe", Access::kPublic, [](Exchange& ex) { ex.send_json(200, "{}"); });
  Serve(router);
  auto lines = router.event_loop_requests();
  ASSERT_FALSE(lines.empty()) << "POST /v1/events is the fast path";
  std::vector<std::future<testing::HttpResponse>> stuck;
  for (const auto& line : lines) {
    std::string method = line.substr(0, line.find(' '));
    std::string path = line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1);
    stuck.push_back(std::async(std::launch::async, [c = Client(), method, path] {
      return c.Send(method, path, kEvent,
                    {{"Authorization", "Bearer acme-key"}, {"Content-Type", "application/json"}});
    }));
  }
  ASSERT_EQ(store.appends_.p.get_future().wait_for(10s), std::future_status::ready)
      << "the fast path never reached the store";
  auto probe = std::async(std::launch::async, [c = Client()] { return c.Get("/probe"); });
  ASSERT_EQ(probe.wait_for(10s), std::future_status::ready)
      << "an event-loop endpoint blocked the loop";
  EXPECT_EQ(probe.get().status, 200);
  store.release();  // the stuck answers are owed until the store lets go
  for (auto& f : stuck) EXPECT_EQ(f.get().status, 503);
  server_->stop();
}

}  // namespace
}  // namespace crmhost
