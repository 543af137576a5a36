// Answering an HTTP request from another thread.
//
// A server thread would otherwise sleep while the store commits an event, then wake to answer:
// two sleeps per request where a plain server has one, and on a VM every wake-up is dear. With a
// DeferredReply the handler returns at once and whoever finishes the work (the store's writer
// thread, after the commit) sends the answer, while the server thread reads the next request.
// For a connection served by an event loop the writer only posts the answer to the loop's
// AnswerOutbox, and the loop sends it: the writer's thread is the one every commit waits on.
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
class ReplyOrder;

// Deferred answers one event loop sends (http_server.cpp): any thread posts, the loop sends, so
// the thread that learns the outcome (the store's writer) does not pay for the sends.
// Thread-safe; shared by the loop and the ReplyOrders of its connections.
class AnswerOutbox {
 public:
  // `wake_fd`: an eventfd the loop waits on; written when the first answer is queued.
  explicit AnswerOutbox(int wake_fd) : wake_fd_(wake_fd) {}
  // Queues `bytes` for `order`; once closed, sends at once on the caller's thread.
  void post(ReplyOrder& order, std::string bytes);
  // The loop's thread: sends everything queued.
  void send_queued();
  // Queues nothing more (the loop stops; its wake_fd closes); sends what is queued.
  void close();

 private:
  const int wake_fd_;
  std::mutex mu_;  // guards queued_ and closed_
  std::vector<std::pair<ReplyOrder*, std::string>> queued_;
  bool closed_ = false;
};

// The answers outstanding on one connection (zero or one). Owned by the thread serving the
// connection; its methods are thread-safe. A DeferredReply uses it until its answer has left (or
// is given up), which the destructor waits for.
class ReplyOrder {
 public:
  // `fd` is the connection's socket, open for the life of this object. With `outbox`, deferred
  // answers are sent from its loop; without, from the thread that has them.
  ReplyOrder(int fd, LaggingReplies& lagging, std::shared_ptr<AnswerOutbox> outbox = nullptr)
      : fd_(fd), lagging_(lagging), outbox_(std::move(outbox)) {}
  ~ReplyOrder() { await_sent(); }
  ReplyOrder(const ReplyOrder&) = delete;
  ReplyOrder& operator=(const ReplyOrder&) = delete;

  // Blocks until no answer is outstanding. The serving thread calls it before reading a request.
  void await_sent();
  // Whether a deferred answer has not left yet.
  bool outstanding();
  // Marks an answer outstanding, prepared from `head` (its version, keep-alive and headers).
  // Requires that none is.
  std::shared_ptr<class DeferredReply> defer(const Poco::Net::HTTPResponse& head);

 private:
  friend class DeferredReply;
  friend class LaggingReplies;
  friend class AnswerOutbox;
  void mark_sent();  // the outstanding answer has left (or cannot): wakes await_sent
  // Sends the outstanding answer without blocking (LaggingReplies finishes what the socket does
  // not take now), then marks it sent.
  void transmit(std::string bytes);

  const int fd_;
  LaggingReplies& lagging_;
  const std::shared_ptr<AnswerOutbox> outbox_;
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
