// A loopback Standard Webhooks receiver for end-to-end tests: a Poco HTTPServer on 127.0.0.1 with
// an ephemeral port that verifies every request's signature, records each arrival and answers as
// the test scripts it (fail the first N, always fail, 410, 429 with Retry-After, slow).
// Thread-safe: the server's threads record arrivals while the test thread scripts and reads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Poco::Net {
class HTTPServer;
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace crmhost::testing {

// One request as the receiver saw it.
struct Arrival {
  std::string method;
  std::string path;
  std::string webhook_id;                      // header webhook-id
  std::string webhook_timestamp;               // header webhook-timestamp
  std::string webhook_signature;               // header webhook-signature
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // the exact bytes received
  bool signature_valid = false;  // webhook-signature matches id.timestamp.body under the secret
  bool timestamp_fresh = false;  // webhook-timestamp within +-300 s of now (Standard Webhooks)
  int answered_status = 0;       // what the receiver answered
  std::chrono::steady_clock::time_point at;  // when the request arrived (before any delay)

  bool verified() const { return signature_valid && timestamp_fresh && !webhook_id.empty(); }
};

class Receiver {
 public:
  // `secret` is the "whsec_..." the integration signs with.
  explicit Receiver(std::string secret);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>".
  std::string url(const std::string& path = "/hook") const;
  const std::string& secret() const { return secret_; }

  // Scripting. The next `n` requests get `status`; afterwards the standing answer applies.
  void FailFirst(int n, int status = 500);
  // The standing answer for every request not covered by FailFirst. Default 204.
  void AnswerAlways(int status, std::string retry_after = "");
  void AlwaysFail(int status = 500) { AnswerAlways(status); }
  void AnswerGone() { AnswerAlways(410); }
  void AnswerRateLimited(const std::string& retry_after_seconds) {
    AnswerAlways(429, retry_after_seconds);
  }
  void Succeed() { AnswerAlways(204); }
  // The next `n` requests get 429 with Retry-After (then FailFirst/standing answers apply).
  void RateLimitFirst(int n, const std::string& retry_after_seconds);
  // Each request waits this long before it is answered (a slow CRM).
  void SetDelay(std::chrono::milliseconds delay);
  // The next `n` requests wait `delay` before they get `status` (a CRM that hangs now and then).
  void SlowFirst(int n, std::chrono::milliseconds delay, int status = 204);

  std::vector<Arrival> arrivals() const;
  size_t count() const;
  // Arrivals whose answer was 2xx.
  size_t accepted_count() const;
  // Blocks until `pred(arrivals)` holds or `timeout` passes; returns whether it held.
  bool WaitUntil(const std::function<bool(const std::vector<Arrival>&)>& pred,
                 std::chrono::milliseconds timeout) const;
  bool WaitForCount(size_t n, std::chrono::milliseconds timeout) const;
  // Blocks until no request is being handled (e.g. slow answers to a host that was killed have
  // all been recorded); returns whether that happened within `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout) const;

 private:
  struct Scripted {
    int status;
    std::string retry_after;
    std::chrono::milliseconds delay{0};  // on top of delay_
  };
  class Handler;
  class Factory;

  void Handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

  const std::string secret_;
  uint16_t port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;

  mutable std::mutex mu_;  // guards everything below
  mutable std::condition_variable arrived_;
  std::vector<Arrival> arrivals_;
  std::vector<Scripted> queued_;  // answers for the next requests, front first
  Scripted standing_{204, "", std::chrono::milliseconds(0)};
  std::chrono::milliseconds delay_{0};
  int handling_ = 0;  // requests inside Handle
};

}  // namespace crmhost::testing
