#include "support/receiver.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "support/webhook_signature.h"

namespace crmhost::testing {

class Receiver::Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(Receiver& owner) : owner_(owner) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    owner_.Handle(request, response);
  }

 private:
  Receiver& owner_;
};

class Receiver::Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Receiver& owner) : owner_(owner) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(owner_);
  }

 private:
  Receiver& owner_;
};

Receiver::Receiver(std::string secret) : secret_(std::move(secret)) {
  // No SO_REUSEADDR/SO_REUSEPORT: the port is this receiver's alone.
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), false);
  socket.listen(256);
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(32);
  params->setMaxQueued(512);
  params->setKeepAlive(true);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
  server_->start();
}

Receiver::~Receiver() { server_->stopAll(true); }

std::string Receiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void Receiver::FailFirst(int n, int status) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < n; ++i) queued_.push_back({status, "", std::chrono::milliseconds(0)});
}

void Receiver::RateLimitFirst(int n, const std::string& retry_after_seconds) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < n; ++i)
    queued_.push_back({429, retry_after_seconds, std::chrono::milliseconds(0)});
}

void Receiver::AnswerAlways(int status, std::string retry_after) {
  std::lock_guard lock(mu_);
  standing_ = {status, std::move(retry_after), std::chrono::milliseconds(0)};
}

void Receiver::SlowFirst(int n, std::chrono::milliseconds delay, int status) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < n; ++i) queued_.push_back({status, "", delay});
}

void Receiver::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}

void Receiver::Handle(Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response) {
  {
    std::lock_guard lock(mu_);
    ++handling_;
  }
  struct Done {
    Receiver& r;
    ~Done() {
      {
        std::lock_guard lock(r.mu_);
        --r.handling_;
      }
      r.arrived_.notify_all();
    }
  } done{*this};
  Arrival a;
  a.at = std::chrono::steady_clock::now();
  a.method = request.getMethod();
  a.path = request.getURI();
  for (const auto& [name, value] : request) {
    a.headers[Poco::toLower(name)] = value;
  }
  a.webhook_id = request.get("webhook-id", "");
  a.webhook_timestamp = request.get("webhook-timestamp", "");
  a.webhook_signature = request.get("webhook-signature", "");
  Poco::StreamCopier::copyToString(request.stream(), a.body);

  a.signature_valid = VerifyStandardWebhook(secret_, a.webhook_id, a.webhook_timestamp, a.body,
                                            a.webhook_signature);
  char* end = nullptr;
  const long long ts = std::strtoll(a.webhook_timestamp.c_str(), &end, 10);
  const bool numeric = !a.webhook_timestamp.empty() && end != nullptr && *end == '\0';
  const long long now = static_cast<long long>(std::time(nullptr));
  a.timestamp_fresh = numeric && ts >= now - 300 && ts <= now + 300;

  Scripted answer;
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mu_);
    if (!queued_.empty()) {
      answer = queued_.front();
      queued_.erase(queued_.begin());
    } else {
      answer = standing_;
    }
    delay = delay_ + answer.delay;
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);

  a.answered_status = answer.status;
  response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
  if (!answer.retry_after.empty()) response.set("Retry-After", answer.retry_after);
  response.setContentLength(0);
  {
    // Recorded before the answer is sent: whoever sees the answer also sees the arrival.
    std::lock_guard lock(mu_);
    arrivals_.push_back(std::move(a));
  }
  arrived_.notify_all();
  response.send();
}

std::vector<Arrival> Receiver::arrivals() const {
  std::lock_guard lock(mu_);
  return arrivals_;
}

size_t Receiver::count() const {
  std::lock_guard lock(mu_);
  return arrivals_.size();
}

size_t Receiver::accepted_count() const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count_if(
      arrivals_.begin(), arrivals_.end(),
      [](const Arrival& a) { return a.answered_status >= 200 && a.answered_status < 300; }));
}

bool Receiver::WaitUntil(const std::function<bool(const std::vector<Arrival>&)>& pred,
                         std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] { return pred(arrivals_); });
}

bool Receiver::WaitIdle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] { return handling_ == 0; });
}

bool Receiver::WaitForCount(size_t n, std::chrono::milliseconds timeout) const {
  return WaitUntil([n](const std::vector<Arrival>& all) { return all.size() >= n; }, timeout);
}

}  // namespace crmhost::testing
