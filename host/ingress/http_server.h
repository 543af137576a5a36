// A Poco HTTP server on one address with its own thread pool, calling one handler for every
// request. Used by the daemon and by `crmhost sink`.
//
// Each connection is served by one pool thread, as Poco's HTTPServer does; the loop is crmhost's
// own (over Poco's HTTPServerSession and request/response objects) because Poco's has no room for
// an answer sent later from another thread: a handler may defer its answer through the
// connection's ReplyOrder (see deferred_reply.h), and the loop then keeps answers in request order
// and the socket open until the deferred one has left.
//
// start/stop from one thread; the handler is called concurrently from the pool's threads.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <functional>
#include <memory>
#include <string>

#include "common/expected.h"
#include "ingress/deferred_reply.h"

namespace crmhost {

// Answers through `response`, or defers the answer with `order.defer(response)`.
using RequestHandler =
    std::function<void(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response, ReplyOrder& order)>;

class HttpServer {
 public:
  HttpServer(RequestHandler handler, int max_threads);
  ~HttpServer();

  // Binds host:port (0 = ephemeral) and starts serving.
  Status start(const std::string& host, uint16_t port);
  // Stops accepting, aborts open connections (after their outstanding answers) and joins.
  void stop();
  uint16_t port() const { return port_; }

  class Connections;  // the open connections, so that stop() can abort them

 private:
  RequestHandler handler_;
  int max_threads_;
  uint16_t port_ = 0;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<LaggingReplies> lagging_;
  std::unique_ptr<Connections> connections_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
};

}  // namespace crmhost
