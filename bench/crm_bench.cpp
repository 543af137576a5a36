// The CRM adapters' benchmark: figures, never a verdict. For salesforce, hubspot and dynamics365
// it starts the fake (tests/fakes) and a crmhost configured against it as tests/e2e does, seeds
// one contact and prints:
// - look-up latency: the adapter's own look-up sent straight to the fake, interleaved with
//   GET /v1/contacts through crmhost; added = through minus direct, per percentile (goal: p99
//   <= 1 ms); then, with the fake answering after 2 s, how far past timeout=200 crmhost answers;
// - deliveries/s of visitor.checked_in events for distinct visitors, from the first POST to the
//   last delivery, with its ratio to the webhook adapter's figure measured first in the same run.
// The last delivery is read from crmhost's store the same way for every adapter: once every POST
// has answered 202 all deliveries exist, so the run is over when none is pending or leased (one
// `limit=1` query per 20 ms poll; GET /v1/deliveries cannot page to count delivered rows, and
// the fakes' served requests count retries and differ per CRM). Pacing is off so the figures are
// crmhost's, not HubSpot's 100 requests per 10 s (PACING=adapter keeps the adapters' limits).
// Env: LOOKUPS (2000), DEADLINE_LOOKUPS (20), EVENTS (2000), CONNECTIONS (8), WORKERS (8),
// DRAIN_TIMEOUT (300 s), CRMS (salesforce,hubspot,dynamics365), DURABILITY, SINK (receiver: the
// in-process tests/support Receiver, a Poco server as the fakes are; epoll: bench/e2e.sh's sink).
#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fakes/dataverse_fake.h"
#include "fakes/hubspot_fake.h"
#include "fakes/salesforce_fake.h"
#include "support/host_process.h"
#include "support/http_client.h"
#include "support/receiver.h"
#include "support/temp_dir.h"
#include "support/visitor_events.h"

#ifndef CRMHOST_BENCH_SINK  // set by bench/CMakeLists.txt
#define CRMHOST_BENCH_SINK "crmhost_bench_sink"
#endif

namespace crmhost::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kClientId[] = "crmhost-bench-client";
constexpr char kClientSecret[] = "s3cret-of-the-bench-client";
constexpr char kApiKey[] = "acme-key";
constexpr char kEmail[] = "jane.smith@example.com";
// Every fake accepts it (AcceptStaticToken): the direct look-ups send it, and so does the HubSpot
// adapter as its private-app token.
constexpr char kStaticToken[] = "bench-token";
constexpr char kWebhookSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int kWarmUp = 100;
constexpr int kDeadlineMs = 200;
constexpr int kFakeDelayMs = 2000;

std::string EnvText(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
int EnvInt(const char* name, int fallback) {
  return std::atoi(EnvText(name, std::to_string(fallback)).c_str());
}
double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
// Everything but A-Z a-z 0-9 - . _ ~ percent-encoded, as plugins/crm_kit's url_encode does.
std::string Encode(const std::string& s) {
  std::string out;
  Poco::URI::encode(s, "!#$&'()*+,/:;=?@[]", out);
  return out;
}

// Nearest-rank percentiles of a sample, in ms.
struct Spread {
  double p50 = 0, p99 = 0, max = 0;
};
Spread SpreadOf(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return ms[std::clamp<size_t>(rank, 1, ms.size()) - 1];
  };
  return {at(0.50), at(0.99), ms.back()};
}

// One CRM under test: its fake with the contact seeded, the integration as tests/e2e configures
// it against that fake, and the adapter's own look-up request for the contact.
struct Crm {
  std::string name;
  std::unique_ptr<FakeCrm> fake;
  IntegrationSpec integration;
  std::map<std::string, std::string> env;
  std::string lookup_path;
  Headers lookup_headers{{"Accept", "application/json"},
                         {"Authorization", std::string("Bearer ") + kStaticToken}};
};

// What every CRM shares (tests/e2e/crm_fixture.cpp): integration `crm` of adapter `name` with
// lookup: true, and with `oauth_client` the client id and its secret (env:) held by the host.
Crm NewCrm(const std::string& name, bool oauth_client) {
  Crm crm;
  crm.name = name;
  IntegrationSpec& in = crm.integration;
  in.id = "crm";
  in.adapter = name;
  in.extra_config["lookup"] = "true";
  if (oauth_client) {
    in.extra_config["client_id"] = kClientId;
    in.extra_config["client_secret"] = "env:CRM_CLIENT_SECRET";
    crm.env["CRM_CLIENT_SECRET"] = kClientSecret;
  }
  if (EnvText("PACING", "off") != "adapter") {
    in.extra_config["pacing_requests"] = "0";
    in.extra_config["pacing_concurrency"] = "0";
  }
  return crm;
}

// As tests/e2e/salesforce_test.cpp; the query is crm-contracts.md §1.3 with the fields the
// look-up answers (the company is the Account's name).
Crm Salesforce() {
  auto fake = std::make_unique<SalesforceFake>(kClientId, kClientSecret);
  fake->AddContact(R"({"FirstName":"Jane","LastName":"Smith","Email":"jane.smith@example.com",)"
                   R"("Phone":"+49 89 1234"})",
                   "Acme Corp");
  Crm crm = NewCrm("salesforce", true);
  crm.integration.extra_config["login_url"] = fake->base_url();
  crm.integration.extra_config["oauth_grant"] = "client_credentials";
  crm.lookup_path = "/services/data/v60.0/query?q=" +
                    Encode("SELECT Id, FirstName, LastName, Email, Phone, Account.Name FROM Contact "
                           "WHERE Email = '" + std::string(kEmail) + "' LIMIT 1");
  crm.fake = std::move(fake);
  return crm;
}

// As tests/e2e/hubspot_test.cpp; the GET of plugins/hubspot's lookup_contact.
Crm HubSpot() {
  auto fake = std::make_unique<HubSpotFake>(kClientId, kClientSecret);
  fake->AddContact(R"({"email":"jane.smith@example.com","firstname":"Jane","lastname":"Smith",)"
                   R"("company":"Acme Corp","phone":"+1 555 0100"})");
  Crm crm = NewCrm("hubspot", false);
  crm.integration.extra_config["api_base"] = fake->base_url();
  crm.integration.extra_config["api_token"] = "env:HUBSPOT_TOKEN";
  crm.env["HUBSPOT_TOKEN"] = kStaticToken;
  crm.lookup_path = "/crm/v3/objects/contacts/" + Encode(kEmail) +
                    "?idProperty=email&properties=email,firstname,lastname,company,phone";
  crm.fake = std::move(fake);
  return crm;
}

// As tests/e2e/dynamics365_test.cpp; the GET and OData headers of plugins/dynamics365.
Crm Dynamics365() {
  auto fake = std::make_unique<DataverseFake>(kClientId, kClientSecret);
  fake->AddContact(R"({"firstname":"Jane","lastname":"Smith",)"
                   R"("emailaddress1":"jane.smith@example.com","telephone1":"+49 89 1234"})");
  Crm crm = NewCrm("dynamics365", true);
  crm.integration.extra_config["api_base"] = fake->base_url();
  crm.integration.extra_config["login_url"] = fake->base_url();
  crm.integration.extra_config["tenant"] = "contoso.onmicrosoft.com";
  crm.integration.extra_config["oauth_grant"] = "client_credentials";
  crm.lookup_path =
      "/api/data/v9.2/contacts?$select=contactid,firstname,lastname,emailaddress1,telephone1"
      "&$filter=emailaddress1%20eq%20'" + Encode(kEmail) + "'&$top=1";
  crm.lookup_headers.insert(crm.lookup_headers.end(), {{"OData-MaxVersion", "4.0"},
                                                       {"OData-Version", "4.0"},
                                                       {"If-None-Match", "null"}});
  crm.fake = std::move(fake);
  return crm;
}

// A crmhost in `dir` with tenant `acme` and the one integration; ready to serve when it returns.
std::unique_ptr<HostProcess> StartHost(const TempDir& dir, IntegrationSpec integration,
                                       std::map<std::string, std::string> env) {
  const auto key = dir / "master.key";
  if (RunCommand({CrmhostBinary(), "keygen", key.string()}, dir.path()).exit_code != 0)
    throw std::runtime_error("crmhost keygen " + key.string() + " failed");
  HostConfig config;
  config.workers = EnvInt("WORKERS", 8);
  config.deliver_timeout = "15s";
  config.extra_yaml = "master_key: \"file:" + key.string() + "\"\npark_delay: 200ms\n";
  if (const char* d = std::getenv("DURABILITY"); d && *d)
    config.extra_yaml += "durability: " + std::string(d) + "\n";
  config.tenants.push_back(TenantSpec{"acme", {kApiKey}, 1000000000, {std::move(integration)}});
  auto host = std::make_unique<HostProcess>(dir.path(), std::move(config), std::move(env));
  host->Start();
  return host;
}

const Headers kTenant{{"Authorization", std::string("Bearer ") + kApiKey}};
const std::string kLookupPath = "/v1/contacts?email=" + Encode(kEmail);

void BenchLookups(const Crm& crm, const HttpClient& host) {
  const HttpClient fake(crm.fake->base_url());
  const int n = EnvInt("LOOKUPS", 2000);
  std::vector<double> direct, via;
  int direct_bad = 0, via_bad = 0;
  for (int i = -kWarmUp; i < n; ++i) {
    const auto t0 = Clock::now();
    const HttpResponse d = fake.Send("GET", crm.lookup_path, "", crm.lookup_headers);
    const auto t1 = Clock::now();
    const HttpResponse v = host.Send("GET", kLookupPath, "", kTenant);
    const auto t2 = Clock::now();
    if (i < 0) continue;  // warm-up: connections, the OAuth token, caches
    direct.push_back(MsBetween(t0, t1));
    via.push_back(MsBetween(t1, t2));
    direct_bad += d.status != 200;
    via_bad += v.status != 200 || v.body.rfind("{\"found\":true", 0) != 0;
  }
  const Spread a = SpreadOf(direct), b = SpreadOf(via);
  std::printf("%s lookup direct p50=%.2fms p99=%.2fms max=%.2fms | via crmhost p50=%.2fms "
              "p99=%.2fms max=%.2fms | added p50=%.2fms p99=%.2fms | ratio p50=%.2fx p99=%.2fx\n",
              crm.name.c_str(), a.p50, a.p99, a.max, b.p50, b.p99, b.max, b.p50 - a.p50,
              b.p99 - a.p99, a.p50 > 0 ? b.p50 / a.p50 : 0.0, a.p99 > 0 ? b.p99 / a.p99 : 0.0);
  if (direct_bad || via_bad)
    std::printf("%s lookup: of %d, %d direct answers were not 200, %d via crmhost not found\n",
                crm.name.c_str(), n, direct_bad, via_bad);
}

void BenchDeadline(const Crm& crm, const HttpClient& host) {
  const int m = EnvInt("DEADLINE_LOOKUPS", 20);
  crm.fake->SetDelayMs(kFakeDelayMs);
  std::vector<double> overrun;
  int found = 0;
  for (int i = 0; i < m; ++i) {
    const auto t0 = Clock::now();
    const HttpResponse r =
        host.Send("GET", kLookupPath + "&timeout=" + std::to_string(kDeadlineMs), "", kTenant);
    overrun.push_back(MsBetween(t0, Clock::now()) - kDeadlineMs);
    found += r.body.rfind("{\"found\":true", 0) == 0;
  }
  crm.fake->SetDelayMs(0);
  // The abandoned calls are still waiting out the delay on the fake's threads: let them finish
  // before the deliveries start.
  std::this_thread::sleep_for(std::chrono::milliseconds(kFakeDelayMs + 100));
  const Spread s = SpreadOf(overrun);
  std::printf("%s deadline %dms overrun p50=%.2fms p99=%.2fms max=%.2fms (%d look-ups, %d found "
              "despite the %d ms delay)\n",
              crm.name.c_str(), kDeadlineMs, s.p50, s.p99, s.max, m, found, kFakeDelayMs);
}

struct DeliveryRun {
  int events = 0, rejected = 0, dead = 0;
  double seconds = 0;
  bool drained = false;
  int delivered() const { return events - rejected - dead; }
  double per_second() const { return seconds > 0 ? delivered() / seconds : 0; }
};

DeliveryRun Deliver(const std::string& base_url) {
  DeliveryRun run;
  run.events = EnvInt("EVENTS", 2000);
  std::atomic<int> next{0}, rejected{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> posters;
  for (int t = 0; t < std::max(1, EnvInt("CONNECTIONS", 8)); ++t) {
    posters.emplace_back([&] {
      const HttpClient client(base_url);
      for (int i = next++; i < run.events; i = next++) {
        const std::string email = "visitor" + std::to_string(i) + "@example.com";
        try {
          if (client.PostJson("/v1/events", VisitorEvent(kCheckedIn, email), kApiKey).status != 202)
            ++rejected;
        } catch (const std::exception&) {  // Poco's too: a refused or reset connection
          ++rejected;
        }
      }
    });
  }
  for (std::thread& p : posters) p.join();
  run.rejected = rejected;
  // Every 202 means the delivery is in the store. Pending, then leased, then pending again: a
  // delivery that moved leased -> pending (a retry) between the first two reads is caught by the
  // third.
  const HttpClient client(base_url);
  auto none = [&](const char* status) {
    return ListDeliveries(client, kApiKey, std::string("status=") + status + "&limit=1").empty();
  };
  const auto give_up = Clock::now() + std::chrono::seconds(EnvInt("DRAIN_TIMEOUT", 300));
  for (;;) {
    run.drained = none("pending") && none("leased") && none("pending");
    if (run.drained || Clock::now() >= give_up) break;
    std::this_thread::sleep_for(20ms);
  }
  run.seconds = MsBetween(t0, Clock::now()) / 1000;
  run.dead = static_cast<int>(ListDeliveries(client, kApiKey, "status=dead&limit=1000").size());
  return run;
}

std::string Describe(const DeliveryRun& run) {
  char text[200];
  std::snprintf(text, sizeof text, "%d delivered of %d events in %.2f s", run.delivered(),
                run.events, run.seconds);
  std::string out = text;
  if (run.rejected) out += ", " + std::to_string(run.rejected) + " not accepted";
  if (run.dead) out += ", " + std::to_string(run.dead) + (run.dead >= 1000 ? "+" : "") + " dead";
  if (!run.drained) out += ", NOT DRAINED after DRAIN_TIMEOUT";
  return out;
}

// The baseline: the webhook adapter to a receiver, in a crmhost of its own.
double WebhookBaseline() {
  TempDir dir;
  std::unique_ptr<Receiver> receiver;
  std::unique_ptr<ChildProcess> sink;
  IntegrationSpec in;
  in.id = "hook";
  in.secret = kWebhookSecret;
  if (EnvText("SINK", "receiver") == "epoll") {
    const auto ready = dir / "sink.ready";
    sink = std::make_unique<ChildProcess>(
        std::vector<std::string>{CRMHOST_BENCH_SINK, "--ready-file", ready.string()},
        dir / "sink.out", dir / "sink.err");
    for (int i = 0; i < 200 && ReadyUrl(ready).empty() && sink->running(); ++i)
      std::this_thread::sleep_for(50ms);
    if (ReadyUrl(ready).empty()) throw std::runtime_error("sink: " + sink->stderr_text());
    in.url = ReadyUrl(ready) + "/hook";
  } else {
    receiver = std::make_unique<Receiver>(kWebhookSecret);
    in.url = receiver->url();
  }
  auto host = StartHost(dir, in, {});
  const DeliveryRun run = Deliver(host->base_url());
  host->Stop();
  std::printf("webhook deliveries/s=%.0f (%s, receiver %s)\n", run.per_second(),
              Describe(run).c_str(), EnvText("SINK", "receiver").c_str());
  return run.per_second();
}

void BenchCrm(const Crm& crm, double webhook_per_second) {
  crm.fake->AcceptStaticToken(kStaticToken);
  TempDir dir;
  auto host = StartHost(dir, crm.integration, crm.env);
  const HttpClient client(host->base_url());
  BenchLookups(crm, client);
  BenchDeadline(crm, client);
  const DeliveryRun run = Deliver(host->base_url());
  std::printf("%s deliveries/s=%.0f (webhook %.0f, ratio %.2f; %s)\n", crm.name.c_str(),
              run.per_second(), webhook_per_second,
              webhook_per_second > 0 ? run.per_second() / webhook_per_second : 0.0,
              Describe(run).c_str());
  if (host->Stop() != std::optional<int>(0))
    std::fprintf(stderr, "%s: crmhost did not stop cleanly:\n%s\n", crm.name.c_str(),
                 host->stderr_text().c_str());
}

int Main() {
  const std::pair<const char*, Crm (*)()> crms[] = {
      {"salesforce", Salesforce}, {"hubspot", HubSpot}, {"dynamics365", Dynamics365}};
  const std::string chosen = "," + EnvText("CRMS", "salesforce,hubspot,dynamics365") + ",";
  std::printf("crm bench: %d look-ups (+%d warm-up), %d events, %d connections, %d workers, "
              "%u cores, pacing %s\n",
              EnvInt("LOOKUPS", 2000), kWarmUp, EnvInt("EVENTS", 2000), EnvInt("CONNECTIONS", 8),
              EnvInt("WORKERS", 8), std::thread::hardware_concurrency(),
              EnvText("PACING", "off").c_str());
  std::fflush(stdout);
  const double webhook = WebhookBaseline();
  for (const auto& [name, make] : crms) {
    if (chosen.find("," + std::string(name) + ",") == std::string::npos) continue;
    std::printf("\n");
    BenchCrm(make(), webhook);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace crmhost::testing

int main() {
  try {
    return crmhost::testing::Main();
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "crm bench: %s\n", e.displayText().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crm bench: %s\n", e.what());
    return 1;
  }
}
