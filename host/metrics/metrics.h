// What crmhost counts for GET /metrics: counters and latency histograms kept in memory by the
// code that sees each thing happen (ingress, the dispatcher, the OAuth broker), written out in the
// Prometheus text format (version 0.0.4). Figures the store already keeps (queue depth, dead
// letters) and the adapters' generations are not counted twice here: the endpoint reads them when
// it is scraped and writes them with the same writer (PrometheusText).
//
// A family has fixed label names; `with(values)` finds (or makes) the series of those values and
// returns it, stable for the life of the Metrics, so a hot path may resolve it once and add to it
// without a lock. Label values come from what crmhost itself checked (tenant and integration ids,
// event types, adapter names, outcome names), so a caller cannot grow a family without bound.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace crmhost {

// Writes the text format: one header per family, then its samples. Not thread-safe (one per
// scrape).
class PrometheusText {
 public:
  // "# HELP" and "# TYPE" lines; `type` is counter, gauge or histogram.
  void family(const std::string& name, const std::string& help, const char* type);
  void sample(const std::string& name, const std::vector<std::string>& label_names,
              const std::vector<std::string>& label_values, double value);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Cumulative buckets of seconds; observing is a few relaxed atomic adds.
class Histogram {
 public:
  static const std::vector<double>& bounds();  // upper bounds in seconds, ascending, +Inf apart
  Histogram();
  void observe(double seconds);
  void write(PrometheusText& out, const std::string& name, const std::vector<std::string>& names,
             const std::vector<std::string>& values) const;

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound (not cumulative), then +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};  // the sum, in microseconds, so that it stays an integer add
};

// A family of series of one kind (Counter or Histogram) with the same label names.
template <typename Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  // The series of `values` (one per label name), made at zero the first time.
  Series& with(const std::vector<std::string>& values) {
    std::lock_guard lock(mu_);
    auto& series = series_[values];
    if (!series) series = std::make_unique<Series>();
    return *series;
  }
  void write(PrometheusText& out) const;

 private:
  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  mutable std::mutex mu_;  // guards series_ (the map, not the series' values)
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_;
};

// Every family crmhost counts itself. Names and labels are the contract of docs/CONTRACTS.md
// ("Metrics").
struct Metrics {
  Family<Counter> events_accepted{"crmhost_events_accepted_total",
                                  "Events stored and answered 202 (a repeated idempotency key is "
                                  "not counted again).",
                                  {"tenant", "type"}};
  Family<Histogram> ingest_seconds{"crmhost_ingest_duration_seconds",
                                   "From a POST /v1/events being routed to its answer leaving "
                                   "(the commit included).",
                                   {}};
  // Its one series (it has no labels), resolved once so that ingest takes no lock for it.
  Histogram& ingest = ingest_seconds.with({});
  Family<Counter> delivery_attempts{"crmhost_delivery_attempts_total",
                                    "Delivery attempts made, by adapter and outcome.",
                                    {"adapter", "outcome"}};
  Family<Histogram> delivery_seconds{"crmhost_delivery_duration_seconds",
                                     "How long an adapter's delivery call took.", {"adapter"}};
  Family<Counter> pacing_waits{"crmhost_pacing_waits_total",
                               "Times an integration's queue was parked because its CRM or its "
                               "pacing budget asked it to wait.",
                               {"adapter"}};
  Family<Counter> oauth_refreshes{"crmhost_oauth_refreshes_total",
                                  "OAuth token requests (refresh or client credentials), by "
                                  "result: ok, failed, reauthorization_required.",
                                  {"adapter", "result"}};

  // Every family above, then the build's identity.
  void write(PrometheusText& out) const;
};

}  // namespace crmhost
