#include "http/deferred_reply.h"

#include <Poco/String.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <utility>

namespace crmhost {
namespace {

enum class Sent { kAll, kWouldBlock, kFailed };

// Sends as much of `bytes` from `offset` as the socket takes now; advances `offset`.
Sent send_now(int fd, const std::string& bytes, size_t& offset) {
  while (offset < bytes.size()) {
    ssize_t n =
        ::send(fd, bytes.data() + offset, bytes.size() - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      offset += static_cast<size_t>(n);
    } else if (errno != EINTR) {
      // Failed: the peer is gone; the serving thread finds out when it next reads.
      return errno == EAGAIN || errno == EWOULDBLOCK ? Sent::kWouldBlock : Sent::kFailed;
    }
  }
  return Sent::kAll;
}

}  // namespace

void ReplyOrder::await_sent() {
  std::unique_lock lock(mu_);
  sent_cv_.wait(lock, [&] { return !outstanding_; });
}

bool ReplyOrder::outstanding() {
  std::lock_guard lock(mu_);
  return outstanding_;
}

std::shared_ptr<DeferredReply> ReplyOrder::defer(const Poco::Net::HTTPResponse& head) {
  {
    std::lock_guard lock(mu_);
    if (outstanding_) throw std::logic_error("a deferred answer is already outstanding");
    outstanding_ = true;
  }
  return std::make_shared<DeferredReply>(*this, head);
}

void ReplyOrder::mark_sent() {
  // Notified under the lock: once the serving thread sees the flag it may destroy this object.
  std::lock_guard lock(mu_);
  outstanding_ = false;
  sent_cv_.notify_all();
}

DeferredReply::DeferredReply(ReplyOrder& order, const Poco::Net::HTTPResponse& head)
    : order_(&order), version_(head.getVersion()) {
  for (const auto& [name, value] : head) {
    if (Poco::icompare(name, Poco::Net::HTTPMessage::CONTENT_TYPE) == 0 ||
        Poco::icompare(name, Poco::Net::HTTPMessage::CONTENT_LENGTH) == 0)
      continue;  // format_json sets them
    add_header(name, value);
  }
}

DeferredReply::~DeferredReply() {
  if (order_ == nullptr) return;
  ::shutdown(order_->fd_, SHUT_RDWR);  // no answer will come: do not leave the client waiting
  order_->mark_sent();
}

void DeferredReply::add_header(const std::string& name, const std::string& value) {
  fields_ += name;
  fields_ += ": ";
  fields_ += value;
  fields_ += "\r\n";
}

std::string DeferredReply::format_json(int status, const std::string& json) const {
  const auto code = static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status);
  const std::string length = std::to_string(json.size());
  std::string out;
  out.reserve(96 + version_.size() + fields_.size() + json.size());
  out += version_;
  out += ' ';
  out += std::to_string(status);
  out += ' ';
  out += Poco::Net::HTTPResponse::getReasonForStatus(code);
  out += "\r\n";
  out += fields_;
  out += "Content-Type: application/json\r\nContent-Length: ";
  out += length;
  out += "\r\n\r\n";
  out += json;
  return out;
}

void DeferredReply::send(std::string bytes) {
  ReplyOrder* order = std::exchange(order_, nullptr);
  if (order == nullptr) throw std::logic_error("a deferred answer was sent twice");
  if (order->outbox_)
    order->outbox_->post(*order, std::move(bytes));
  else
    order->transmit(std::move(bytes));
}

void ReplyOrder::transmit(std::string bytes) {
  size_t offset = 0;
  if (send_now(fd_, bytes, offset) == Sent::kWouldBlock) {
    lagging_.finish(*this, bytes.substr(offset));
    return;
  }
  mark_sent();
}

void AnswerOutbox::post(ReplyOrder& order, std::string bytes) {
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      bool wake = queued_.empty();
      queued_.emplace_back(&order, std::move(bytes));
      if (wake) {
        uint64_t one = 1;
        (void)!::write(wake_fd_, &one, sizeof one);
      }
      return;
    }
  }
  order.transmit(std::move(bytes));
}

void AnswerOutbox::send_queued() {
  std::vector<std::pair<ReplyOrder*, std::string>> answers;
  {
    std::lock_guard lock(mu_);
    answers.swap(queued_);
  }
  for (auto& [order, bytes] : answers) order->transmit(std::move(bytes));
}

void AnswerOutbox::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  send_queued();
}

LaggingReplies::LaggingReplies(std::chrono::milliseconds timeout)
    : timeout_(timeout), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
  thread_ = std::thread([this] { run(); });
}

LaggingReplies::~LaggingReplies() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
  thread_.join();
  ::close(wake_fd_);
}

void LaggingReplies::finish(ReplyOrder& order, std::string rest) {
  {
    std::lock_guard lock(mu_);
    added_.push_back({&order, std::move(rest), std::chrono::steady_clock::now() + timeout_});
  }
  uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
}

void LaggingReplies::run() {
  pthread_setname_np(pthread_self(), "crmh-lagging");  // for top, perf and gdb
  std::vector<Lagging> lagging;
  std::vector<pollfd> fds;
  for (;;) {
    bool stopping;
    {
      std::lock_guard lock(mu_);
      std::move(added_.begin(), added_.end(), std::back_inserter(lagging));
      added_.clear();
      stopping = stopping_;
    }
    auto now = std::chrono::steady_clock::now();
    // Finish what can be sent; give up on what made no progress for too long (or on everything,
    // stopping).
    std::erase_if(lagging, [&](Lagging& l) {
      size_t offset = 0;
      Sent sent = send_now(l.order->fd_, l.rest, offset);
      if (offset > 0) {
        l.rest.erase(0, offset);
        l.give_up_at = now + timeout_;  // the client is reading, however slowly
      }
      if (sent == Sent::kWouldBlock && !stopping && now < l.give_up_at) return false;
      if (sent == Sent::kWouldBlock) ::shutdown(l.order->fd_, SHUT_RDWR);
      l.order->mark_sent();
      return true;
    });
    if (stopping) return;
    fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
    int timeout_ms = -1;
    for (const auto& l : lagging) {
      fds.push_back(pollfd{l.order->fd_, POLLOUT, 0});
      auto left = std::chrono::ceil<std::chrono::milliseconds>(l.give_up_at - now).count();
      timeout_ms =
          timeout_ms < 0 ? static_cast<int>(left) : std::min(timeout_ms, static_cast<int>(left));
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
      uint64_t count;
      (void)::read(wake_fd_, &count, sizeof count);
    }
  }
}

}  // namespace crmhost
