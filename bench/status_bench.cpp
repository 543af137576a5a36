// GET /v1/status's figures with a large outbox (bench/status.sh; figures, not a test): fills a
// SQLite store through the Store interface with ROWS deliveries over a few integrations (most
// delivered, some dead, some pending), then times the store's integration_stats() (what the status
// endpoint reads: a row per integration and one index seek for the oldest pending delivery)
// against a count of the same figures by a scan of the deliveries table, in the same run.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

template <typename F>
double median_ms(int runs, F f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    f();
    t.push_back(ms_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main() {
  using namespace crmhost;
  const long rows = std::getenv("ROWS") ? std::atol(std::getenv("ROWS")) : 1000000;
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("crmhost-status-bench." + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  {
    auto opened = SqliteStore::open(dir, SqliteStore::Sync::kNormal);
    if (!opened.ok()) {
      std::fprintf(stderr, "open: %s\n", opened.error().c_str());
      return 1;
    }
    auto& store = **opened;
    const std::vector<std::string> integrations = {"crm", "hook", "backup", "audit"};
    auto t0 = Clock::now();
    const long events = rows / static_cast<long>(integrations.size());
    for (long done = 0; done < events;) {
      std::vector<std::future<Expected<AppendResult>>> batch;
      for (int i = 0; i < 2000 && done < events; ++i, ++done) {
        auto p = std::make_shared<std::promise<Expected<AppendResult>>>();
        batch.push_back(p->get_future());
        store.append_then({"acme", "", "visitor.checked_in", R"({"event":"visitor.checked_in"})",
                           integrations, 1000 + done, ""},
                          [p](Expected<AppendResult> r) { p->set_value(std::move(r)); });
      }
      for (auto& f : batch) f.get();
      // Settle what is due: 1 in 50 dead, 1 in 200 left pending, the rest delivered.
      long n = 0;
      for (;;) {
        auto leased = store.settle_and_lease({}, 1LL << 40, 600000, 5000);
        if (!leased.ok() || leased->empty()) break;
        std::vector<Settlement> settled;
        for (const auto& d : *leased) {
          ++n;
          Settlement s{d.id, Settlement::Kind::kDelivered, 1, 1, 1, Outcome::kOk, 204, "", 0, "", ""};
          if (n % 50 == 0) {
            s.kind = Settlement::Kind::kDead;
            s.outcome = Outcome::kPermanent;
            s.http_status = 400;
            s.dead_reason = "PERMANENT: bad";
          } else if (n % 200 == 1) {
            s.kind = Settlement::Kind::kRetry;
            s.outcome = Outcome::kRetry;
            s.http_status = 503;
            s.next_attempt_at_ms = 1LL << 50;  // never due again in this run
          }
          settled.push_back(s);
        }
        if (!store.settle_and_lease(settled, 1LL << 40, 600000, 0).ok()) break;
      }
    }
    std::printf("filled %ld deliveries (%zu integrations) in %.1f s\n",
                events * static_cast<long>(integrations.size()), integrations.size(),
                ms_since(t0) / 1000);

    std::vector<IntegrationStats> figures;
    double stats_ms = median_ms(50, [&] { figures = *store.integration_stats("acme"); });
    sqlite3* db = nullptr;
    sqlite3_open_v2((dir + "/crmhost.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    double scan_ms = median_ms(5, [&] {
      sqlite3_exec(db,
                   "SELECT integration_id, status, COUNT(*), MIN(created_at) FROM deliveries"
                   " WHERE tenant_id = 'acme' GROUP BY integration_id, status",
                   nullptr, nullptr, nullptr);
    });
    sqlite3_close(db);
    double letters_ms = median_ms(50, [&] {
      (void)store.list_dead_letters({"acme", "crm", "", "", 0, 0, 0, "", 100});
    });
    for (const auto& f : figures)
      std::printf("  %-8s pending %ld, delivered %ld, dead %ld\n", f.integration_id.c_str(),
                  static_cast<long>(f.pending), static_cast<long>(f.delivered),
                  static_cast<long>(f.dead));
    std::printf("integration_stats (GET /v1/status): %.3f ms median of 50\n", stats_ms);
    std::printf("the same figures by a scan:         %.1f ms median of 5 (%.0fx slower)\n", scan_ms,
                scan_ms / std::max(stats_ms, 1e-6));
    std::printf("first page of 100 dead letters:     %.3f ms median of 50\n", letters_ms);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
