#include "e2e_fixture.h"

#include <iostream>

namespace crmhost::testing {

void E2eTest::TearDown() {
  // Every test ends with a clean stop: SIGTERM must end crmhost with 0 (under ASan this is also
  // where leaks are reported).
  if (host_ && host_->running()) {
    EXPECT_EQ(host_->Stop(), std::optional<int>(0)) << "crmhost did not stop cleanly on SIGTERM";
  }
  if (HasFailure() && host_) {
    const std::string err = host_->stderr_text();
    std::cerr << "---- crmhost stderr (last 4000 bytes) ----\n"
              << (err.size() > 4000 ? err.substr(err.size() - 4000) : err)
              << "\n---- end of crmhost stderr ----\n";
  }
}

TenantSpec E2eTest::Tenant(const std::string& id, const std::string& api_key,
                           const Receiver& receiver, std::vector<std::string> events) {
  TenantSpec t;
  t.id = id;
  t.api_keys = {api_key};
  t.ingest_rate = 100000;
  IntegrationSpec i;
  i.id = id + "-webhook";
  i.events = std::move(events);
  i.url = receiver.url();
  i.secret = receiver.secret();
  t.integrations.push_back(i);
  return t;
}

HostConfig E2eTest::AcmeAndBeta(const std::string& admin_key, const Receiver& acme,
                                const Receiver& beta) {
  HostConfig config;
  config.admin_key = admin_key;
  config.tenants.push_back(Tenant("acme", "acme-key", acme));
  config.tenants.push_back(Tenant("beta", "beta-key", beta));
  return config;
}

HostProcess& E2eTest::StartHost(HostConfig config, std::map<std::string, std::string> env) {
  host_ = std::make_unique<HostProcess>(dir_.path(), std::move(config), std::move(env));
  host_->Start();
  return *host_;
}

std::string E2eTest::PostEvent(const std::string& api_key, const std::string& body,
                               Headers extra) const {
  const HttpResponse r = Client().PostJson("/v1/events", body, api_key, std::move(extra));
  if (r.status != 202) {
    throw std::runtime_error("POST /v1/events answered " + std::to_string(r.status) + ": " +
                             r.body);
  }
  const std::string id = JsonString(r.json(), "id");
  if (!std::regex_match(id, kEventId)) throw std::runtime_error("bad event id in " + r.body);
  return id;
}

std::vector<DeliveryView> E2eTest::WaitForDeliveries(const std::string& api_key,
                                                     const std::string& event_id,
                                                     const std::string& status, size_t count,
                                                     std::chrono::milliseconds timeout) const {
  std::vector<DeliveryView> rows;
  const bool ok = Eventually(
      [&] {
        rows = ListDeliveries(Client(), api_key, "event_id=" + event_id);
        if (rows.size() != count) return false;
        for (const DeliveryView& d : rows) {
          if (d.status != status) return false;
        }
        return true;
      },
      timeout);
  if (!ok) {
    std::string seen;
    for (const DeliveryView& d : rows) {
      seen += " [" + d.id + " " + d.integration + " " + d.status +
              " attempts=" + std::to_string(d.attempts) +
              " http=" + std::to_string(d.last_http_status) + " err=" + d.last_error + "]";
    }
    ADD_FAILURE() << "event " << event_id << ": wanted " << count << " deliveries " << status
                  << ", saw " << rows.size() << ":" << seen;
  }
  return rows;
}

}  // namespace crmhost::testing
