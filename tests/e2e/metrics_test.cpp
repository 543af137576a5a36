// GET /metrics through the real binary, checked by a real parser (`promtool check metrics`, from
// Debian's prometheus package, which scripts/install-deps installs), and the JSON log lines.
#include <Poco/JSON/Parser.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "e2e_fixture.h"
#include "support/child_process.h"

namespace crmhost::testing {
namespace {

constexpr const char* kAdmin = "admin-key-metrics";

// The value of the sample `series` (its name and labels exactly as written); -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

class MetricsTest : public E2eTest {
 protected:
  // promtool's verdict on `text`: "" when it is valid, else what promtool said.
  std::string Promtool(const std::string& text) {
    const auto file = dir_.path() / "metrics.txt";
    std::ofstream(file) << text;
    auto r = RunCommand({"/bin/sh", "-c", "promtool check metrics < '" + file.string() + "'"},
                        dir_.path());
    if (r.exit_code == 0) return "";
    return "promtool exit " + std::to_string(r.exit_code) + ": " + r.out + r.err;
  }
};

TEST_F(MetricsTest, MetricsAreValidPrometheusTextAndCountWhatHappened) {
  Receiver fine(NewWhsecSecret()), gone(NewWhsecSecret());
  gone.AnswerGone();
  StartHost(AcmeAndBeta(kAdmin, fine, gone));
  std::vector<std::string> acme_events;
  for (int i = 0; i < 3; ++i) acme_events.push_back(PostEvent("acme-key", VisitorEvent(kCheckedIn)));
  // The same idempotency key twice: one event, counted once.
  PostEvent("acme-key", VisitorEvent(kCheckedOut), {{"Idempotency-Key", "visit-1"}});
  PostEvent("acme-key", VisitorEvent(kCheckedOut), {{"Idempotency-Key", "visit-1"}});
  const std::string b1 = PostEvent("beta-key", VisitorEvent(kCheckedIn));
  const std::string b2 = PostEvent("beta-key", VisitorEvent(kCheckedIn));
  for (const auto& e : acme_events) WaitForDeliveries("acme-key", e, "delivered");
  WaitForDeliveries("beta-key", b1, "dead");
  WaitForDeliveries("beta-key", b2, "dead");

  EXPECT_EQ(Client().Get("/metrics").status, 401);
  EXPECT_EQ(Client().Get("/metrics", "acme-key").status, 403) << "tenant labels are everyone's";
  HttpResponse r;
  // Delivered rows settle in the round after the CRM's answer: wait for the counters too.
  ASSERT_TRUE(Eventually(
      [&] {
        r = Client().Get("/metrics", kAdmin);
        return r.status == 200 &&
               Sample(r.body, R"(crmhost_delivery_attempts_total{adapter="webhook",outcome="OK"})") == 4;
      },
      kDeadline))
      << r.status << "\n" << r.body;
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(Promtool(r.body), "") << r.body;

  const std::string& m = r.body;
  EXPECT_EQ(Sample(m, R"(crmhost_events_accepted_total{tenant="acme",type="visitor.checked_in"})"), 3);
  EXPECT_EQ(Sample(m, R"(crmhost_events_accepted_total{tenant="acme",type="visitor.checked_out"})"), 1)
      << "a repeated idempotency key is not a second event";
  EXPECT_EQ(Sample(m, R"(crmhost_events_accepted_total{tenant="beta",type="visitor.checked_in"})"), 2);
  EXPECT_EQ(Sample(m, R"(crmhost_ingest_duration_seconds_count)"), 7) << "every answered POST";
  EXPECT_EQ(Sample(m, R"(crmhost_ingest_duration_seconds_bucket{le="+Inf"})"), 7);
  EXPECT_EQ(Sample(m, R"(crmhost_delivery_attempts_total{adapter="webhook",outcome="PERMANENT"})"), 2);
  EXPECT_EQ(Sample(m, R"(crmhost_delivery_duration_seconds_count{adapter="webhook"})"), 6);
  EXPECT_EQ(Sample(m, R"(crmhost_dead_letters{tenant="beta",integration="beta-webhook"})"), 2);
  EXPECT_EQ(Sample(m, R"(crmhost_dead_letters{tenant="acme",integration="acme-webhook"})"), 0);
  EXPECT_EQ(Sample(m, R"(crmhost_deliveries{tenant="acme",integration="acme-webhook",state="delivered"})"), 4);
  EXPECT_EQ(Sample(m, R"(crmhost_queue_depth{tenant="acme",integration="acme-webhook"})"), 0);
  EXPECT_EQ(Sample(m, R"(crmhost_integration_serving{tenant="beta",integration="beta-webhook"})"), 1);
  EXPECT_EQ(Sample(m, R"(crmhost_plugin_generation{adapter="webhook"})"), 1);
  EXPECT_GT(Sample(m, R"(crmhost_last_success_timestamp_seconds{tenant="acme",integration="acme-webhook"})"), 1.7e9);
  EXPECT_TRUE(std::regex_search(m, std::regex(R"(crmhost_build_info\{version="[0-9.]+",abi="1\.[0-9]+"\} 1)")))
      << m;

  // A reload is a new generation.
  ASSERT_EQ(Client().PostJson("/v1/plugins/webhook/reload", "{}", kAdmin).status, 200);
  r = Client().Get("/metrics", kAdmin);
  EXPECT_EQ(Sample(r.body, R"(crmhost_plugin_generation{adapter="webhook"})"), 2);
  EXPECT_EQ(Promtool(r.body), "");
}

// The checker itself must refuse what is not the format, or the test above could not fail.
TEST_F(MetricsTest, PromtoolRefusesMalformedText) {
  EXPECT_NE(Promtool("# TYPE x_total counter\nx_total{a=\"1\" 3\n"), "");
}

TEST_F(MetricsTest, JsonLogLinesCarryTheRequestAndDeliveryIdsAndNoSecret) {
  Receiver down(NewWhsecSecret()), fine(NewWhsecSecret());
  down.AlwaysFail(503);
  HostConfig config = AcmeAndBeta(kAdmin, down, fine);
  config.extra_yaml = "log_format: json\n";
  StartHost(config);
  const std::string event = PostEvent("acme-key", VisitorEvent(kCheckedIn));
  ASSERT_EQ(Client()
                .Send("POST", "/v1/plugins/webhook/reload", "{}",
                      {{"Authorization", std::string("Bearer ") + kAdmin},
                       {"Content-Type", "application/json"},
                       {"X-Request-Id", "ops-42"}})
                .status,
            200);
  std::string delivery_id;
  ASSERT_TRUE(Eventually(
      [&] {
        auto rows = Client().Get("/v1/deliveries?event_id=" + event, "acme-key").json();
        auto list = rows->getArray("deliveries");
        if (list->size() != 1) return false;
        auto d = list->getObject(0);
        delivery_id = d->getValue<std::string>("id");
        return d->getValue<int>("attempts") >= 1;
      },
      kDeadline));

  bool saw_request = false, saw_delivery = false;
  ASSERT_TRUE(Eventually(
      [&] {
        saw_request = saw_delivery = false;
        std::istringstream lines(host_->stderr_text());
        for (std::string line; std::getline(lines, line);) {
          Poco::JSON::Object::Ptr o;
          try {
            o = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
          } catch (const Poco::Exception& e) {
            ADD_FAILURE() << "not a JSON line: " << line;
            return true;
          }
          for (const char* key : {"time", "level", "logger", "message"})
            EXPECT_TRUE(o->has(key)) << key << " missing: " << line;
          if (o->optValue<std::string>("request_id", "") == "ops-42" &&
              o->optValue<std::string>("method", "") == "POST")
            saw_request = true;
          if (o->optValue<std::string>("delivery_id", "") == delivery_id &&
              o->optValue<std::string>("tenant", "") == "acme" &&
              o->optValue<std::string>("integration", "") == "acme-webhook")
            saw_delivery = true;
        }
        return saw_request && saw_delivery;
      },
      kDeadline));
  EXPECT_TRUE(saw_request) << "no line of the reload request names its X-Request-Id\n"
                           << host_->stderr_text();
  EXPECT_TRUE(saw_delivery) << "no line of the failing attempt names " << delivery_id << "\n"
                            << host_->stderr_text();
  const std::string log = host_->stderr_text();
  for (const std::string& secret : {down.secret(), fine.secret(), std::string("acme-key"),
                                    std::string(kAdmin)})
    EXPECT_EQ(log.find(secret), std::string::npos) << "the log holds a secret";
}

}  // namespace
}  // namespace crmhost::testing
