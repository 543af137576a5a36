// An HTTP server on one address, calling one handler for every request, with Poco's
// HTTPServerSession and request/response objects doing all the HTTP. Used by the daemon and by
// `crmhost sink`.
//
// Two ways of serving a connection:
// - Event loops (one per core, threads crmh-http-N) accept every connection, dealt out in turn,
//   and serve the requests named in `inline_requests` themselves (the daemon names only
//   POST /v1/events, whose handler never blocks: it defers its answer to the store). Such a
//   request is served once it is wholly in the socket (peeked, so nothing is consumed before
//   Poco reads it): one Content-Length body, no Transfer-Encoding or Expect, nothing behind it.
//   A thread per connection, as Poco's HTTPServer has, costs a sleep and a wake-up per request,
//   which at 32 busy connections on 2 cores cost more than crmhost's own work on an event.
// - Anything else (another request, a chunked body, a pipelined request, a closing connection)
//   moves the connection to a pool thread for good (crmh-conn), which serves it with blocking
//   reads as Poco's HTTPServerConnection does. Nothing is lost in the move: the loop has only
//   peeked.
// Either way a handler may defer its answer through the connection's ReplyOrder (see
// deferred_reply.h): answers keep request order and the socket stays open until the deferred one
// has left. A deferred answer of a loop's connection is sent by that loop (its AnswerOutbox), so
// the store's writer thread only posts it.
// Timeouts: 15 s idle between requests, 60 s to receive a request or send an answer.
//
// start/stop from one thread; the handler is called concurrently from the loops and the pool.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.h"
#include "http/deferred_reply.h"

namespace crmhost {

// Answers through `response`, or defers the answer with `order.defer(response)`.
using RequestHandler =
    std::function<void(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response, ReplyOrder& order)>;

class HttpServer {
 public:
  // `inline_requests`: request lines ("POST /v1/events HTTP/1.1") whose handler never blocks,
  // served on the event loops; `event_loops` 0 = one per core.
  HttpServer(RequestHandler handler, int max_threads, std::vector<std::string> inline_requests = {},
             int event_loops = 0);
  ~HttpServer();

  // Binds host:port (0 = ephemeral) and starts serving.
  Status start(const std::string& host, uint16_t port);
  // Stops accepting, aborts open connections (after their outstanding answers) and joins.
  void stop();
  uint16_t port() const { return port_; }

  class Connections;  // the connections served by threads, so that stop() can abort them
  class EventLoop;
  struct Serving;  // what every connection shares

 private:
  RequestHandler handler_;
  int max_threads_;
  std::vector<std::string> inline_requests_;
  int event_loops_;
  uint16_t port_ = 0;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<LaggingReplies> lagging_;
  std::unique_ptr<Connections> connections_;
  std::unique_ptr<Serving> serving_;
  std::unique_ptr<Poco::Net::ServerSocket> listen_socket_;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::atomic<size_t> next_loop_{0};  // deals accepted connections out to loops_
};

}  // namespace crmhost
