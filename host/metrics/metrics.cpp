#include "metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <crmhost/adapter.h>

#ifndef CRMHOST_VERSION
#define CRMHOST_VERSION "unknown"
#endif

namespace crmhost {
namespace {

// A label value as the text format wants it: backslash, double quote and newline escaped.
void append_label_value(std::string& out, const std::string& value) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

// The shortest text that reads back as `value` ("3", "0.25", "+Inf").
std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char buf[32];
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", value);
  else
    std::snprintf(buf, sizeof buf, "%.9g", value);
  return buf;
}

}  // namespace

void PrometheusText::family(const std::string& name, const std::string& help, const char* type) {
  out_ += "# HELP " + name + " ";
  for (char c : help) out_ += c == '\n' ? ' ' : c;
  out_ += "\n# TYPE " + name + " " + type + "\n";
}

void PrometheusText::sample(const std::string& name, const std::vector<std::string>& label_names,
                            const std::vector<std::string>& label_values, double value) {
  out_ += name;
  if (!label_names.empty()) {
    out_ += '{';
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += label_names[i] + "=\"";
      append_label_value(out_, i < label_values.size() ? label_values[i] : "");
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ' + number(value) + '\n';
}

const std::vector<double>& Histogram::bounds() {
  static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,   0.5,   1,      2.5,   5,    10,    30};
  return b;
}

Histogram::Histogram() : buckets_(new std::atomic<uint64_t>[bounds().size() + 1]) {
  for (size_t i = 0; i <= bounds().size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double seconds) {
  const auto& b = bounds();
  size_t i = 0;
  while (i < b.size() && seconds > b[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::max(seconds, 0.0) * 1e6),
                        std::memory_order_relaxed);
}

void Histogram::write(PrometheusText& out, const std::string& name,
                      const std::vector<std::string>& names,
                      const std::vector<std::string>& values) const {
  std::vector<std::string> bucket_names = names, bucket_values = values;
  bucket_names.push_back("le");
  bucket_values.emplace_back();
  uint64_t cumulative = 0;
  const auto& b = bounds();
  for (size_t i = 0; i <= b.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    bucket_values.back() = number(i < b.size() ? b[i] : INFINITY);
    out.sample(name + "_bucket", bucket_names, bucket_values, static_cast<double>(cumulative));
  }
  // The count is the +Inf bucket, so that a scrape between two adds never shows count < buckets.
  out.sample(name + "_sum", names, values,
             static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  out.sample(name + "_count", names, values, static_cast<double>(cumulative));
}

template <>
void Family<Counter>::write(PrometheusText& out) const {
  out.family(name_, help_, "counter");
  std::lock_guard lock(mu_);
  for (const auto& [values, series] : series_)
    out.sample(name_, label_names_, values, static_cast<double>(series->value()));
}

template <>
void Family<Histogram>::write(PrometheusText& out) const {
  out.family(name_, help_, "histogram");
  std::lock_guard lock(mu_);
  for (const auto& [values, series] : series_) series->write(out, name_, label_names_, values);
}

void Metrics::write(PrometheusText& out) const {
  events_accepted.write(out);
  ingest_seconds.write(out);
  delivery_attempts.write(out);
  delivery_seconds.write(out);
  pacing_waits.write(out);
  oauth_refreshes.write(out);
  out.family("crmhost_build_info", "The running crmhost: its version and the adapter ABI it hosts.",
             "gauge");
  out.sample("crmhost_build_info", {"version", "abi"},
             {CRMHOST_VERSION, std::to_string(CRMH_ABI_MAJOR) + "." +
                                   std::to_string(CRMH_ABI_MINOR)},
             1);
}

}  // namespace crmhost
