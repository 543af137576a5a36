#include "reload/steady_poster.h"

#include <cstdint>
#include <exception>

#include "support/http_client.h"
#include "support/visitor_events.h"

namespace crmhost::testing {

SteadyPoster::SteadyPoster(std::string base_url, std::string api_key, int per_second,
                           size_t max_events, std::chrono::milliseconds max_time)
    : base_url_(std::move(base_url)),
      api_key_(std::move(api_key)),
      interval_(std::chrono::nanoseconds(std::chrono::seconds(1)) / per_second),
      max_events_(max_events),
      max_time_(max_time),
      thread_([this] { Run(); }) {}

SteadyPoster::~SteadyPoster() { Stop(); }

void SteadyPoster::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SteadyPoster::Run() {
  HttpClient client(base_url_);
  const auto start = std::chrono::steady_clock::now();
  for (size_t n = 0; n < max_events_ && !stop_; ++n) {
    // The schedule is fixed: a slow answer delays the next post, never the rate after it.
    const auto due = start + static_cast<int64_t>(n) * interval_;
    if (due - start > max_time_) break;
    std::this_thread::sleep_until(due);
    const std::string email = EmailOf(n);
    const auto sent = std::chrono::steady_clock::now();
    std::string failure;
    std::string event_id;
    try {
      auto r = client.PostJson("/v1/events", VisitorEvent(kCheckedIn, email), api_key_);
      if (r.status == 202)
        event_id = JsonString(r.json(), "id");
      else
        failure = email + ": HTTP " + std::to_string(r.status) + " " + r.body;
    } catch (const std::exception& e) {
      failure = email + ": " + e.what();
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - sent);
    ++posted_;
    std::lock_guard lock(mu_);
    if (took > longest_answer_) longest_answer_ = took;
    if (failure.empty())
      acknowledged_.push_back({email, event_id});
    else
      failures_.push_back(failure);
  }
}

std::vector<AcknowledgedEvent> SteadyPoster::acknowledged() const {
  std::lock_guard lock(mu_);
  return acknowledged_;
}

size_t SteadyPoster::acknowledged_count() const {
  std::lock_guard lock(mu_);
  return acknowledged_.size();
}

std::vector<std::string> SteadyPoster::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::chrono::milliseconds SteadyPoster::longest_answer() const {
  std::lock_guard lock(mu_);
  return longest_answer_;
}

}  // namespace crmhost::testing
