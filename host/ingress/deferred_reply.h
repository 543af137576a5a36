// Answering an HTTP request from another thread.
//
// A server thread would otherwise sleep while the store commits an event, then wake to answer:
// two sleeps per request where a plain server has one, and on a VM every wake-up is dear. With a
// DeferredReply the handler returns at once and whoever finishes the work (the store's writer
// thread, after the commit) sends the answer, while the server thread reads the next request.
//
// The rules that keep this safe (enforced by ReplyOrder, which the connection owns):
// - a connection has at most one deferred answer outstanding: it parses no further request, sends
//   no other answer and does not close its socket until that answer has left, so answers keep
//   request order and no send can reach a closed (or reused) descriptor;
// - the sender never blocks: what the socket cannot take at once goes to the LaggingReplies thread,
//   which finishes it as the peer reads, or gives up once it has made no progress for the send
//   timeout and shuts the connection down.
#pragma once

#include <Poco/Net/HTTPResponse.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace crmhost {

class LaggingReplies;

// The answers outstanding on one connection (zero or one). Owned by the thread serving the
// connection; its methods are thread-safe. A DeferredReply uses it until its answer has left (or
// is given up), which the destructor waits for.
class ReplyOrder {
 public:
  // `fd` is the connection's socket, open for the life of this object.
  ReplyOrder(int fd, LaggingReplies& lagging) : fd_(fd), lagging_(lagging) {}
  ~ReplyOrder() { await_sent(); }
  ReplyOrder(const ReplyOrder&) = delete;
  ReplyOrder& operator=(const ReplyOrder&) = delete;

  // Blocks until no answer is outstanding. The serving thread calls it before reading a request.
  void await_sent();
  // Marks an answer outstanding, prepared from `head` (its version, keep-alive and headers).
  // Requires that none is.
  std::shared_ptr<class DeferredReply> defer(const Poco::Net::HTTPResponse& head);

 private:
  friend class DeferredReply;
  friend class LaggingReplies;
  void mark_sent();  // the outstanding answer has left (or cannot): wakes await_sent

  const int fd_;
  LaggingReplies& lagging_;
  std::mutex mu_;  // guards outstanding_
  std::condition_variable sent_cv_;
  bool outstanding_ = false;
};

// One answer to be sent later, from any thread, exactly once. If it is dropped unsent, the
// connection is shut down (the client must not wait for an answer that will not come).
// add_header and format_json are used by one thread at a time (the handler, then whoever it
// handed the reply to).
class DeferredReply {
 public:
  // Keeps `head`'s version and header fields (Date, Connection, ...) for the answer.
  DeferredReply(ReplyOrder& order, const Poco::Net::HTTPResponse& head);
  ~DeferredReply();
  DeferredReply(const DeferredReply&) = delete;
  DeferredReply& operator=(const DeferredReply&) = delete;

  void add_header(const std::string& name, const std::string& value);
  // A whole answer: the status line, the header fields, Content-Type application/json and
  // Content-Length, then `json`. Formatted directly rather than through Poco's HTTPResponse::write
  // (a stream per answer), in the same layout.
  std::string format_json(int status, const std::string& json) const;
  // Sends `bytes` (an answer from format_json) without blocking; any thread, once.
  void send(std::string bytes);

 private:
  ReplyOrder* order_;  // null once sent
  std::string version_;
  std::string fields_;  // "Name: value\r\n" for each header field
};

// A thread that finishes answers whose socket was full when they were sent (the client is not
// reading). One that makes no progress for `timeout` is abandoned and its connection shut down.
// Thread-safe. Outlives every ReplyOrder that uses it: the server stops it after its connections.
class LaggingReplies {
 public:
  explicit LaggingReplies(std::chrono::milliseconds timeout);
  ~LaggingReplies();  // finishes or abandons what is left, then joins the thread
  LaggingReplies(const LaggingReplies&) = delete;
  LaggingReplies& operator=(const LaggingReplies&) = delete;

  // Takes over sending `rest` on `order`'s socket; marks it sent when done or given up.
  void finish(ReplyOrder& order, std::string rest);

 private:
  struct Lagging {
    ReplyOrder* order;
    std::string rest;
    std::chrono::steady_clock::time_point give_up_at;  // unless some of `rest` leaves first
  };
  void run();

  const std::chrono::milliseconds timeout_;
  int wake_fd_;    // eventfd: something was added, or stopping
  std::mutex mu_;  // guards added_ and stopping_
  std::vector<Lagging> added_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace crmhost
