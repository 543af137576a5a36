// A Poco HTTPServer on one address with its own thread pool, calling one handler for every
// request. Used by the daemon and by `crmhost sink`.
// start/stop from one thread; the handler is called concurrently from the pool's threads.
#pragma once

#include <Poco/Net/HTTPServer.h>
#include <Poco/ThreadPool.h>

#include <functional>
#include <memory>
#include <string>

#include "common/expected.h"

namespace crmhost {

using RequestHandler =
    std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;

class HttpServer {
 public:
  HttpServer(RequestHandler handler, int max_threads);
  ~HttpServer();

  // Binds host:port (0 = ephemeral) and starts serving.
  Status start(const std::string& host, uint16_t port);
  void stop();
  uint16_t port() const { return port_; }

 private:
  RequestHandler handler_;
  int max_threads_;
  uint16_t port_ = 0;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace crmhost
