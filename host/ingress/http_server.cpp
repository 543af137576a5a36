#include "ingress/http_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>


namespace crmhost {
namespace {

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(const RequestHandler& fn) : fn_(fn) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override {
    fn_(req, resp);
  }

 private:
  const RequestHandler& fn_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(const RequestHandler& fn) : fn_(fn) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(fn_);
  }

 private:
  const RequestHandler& fn_;
};

}  // namespace

HttpServer::HttpServer(RequestHandler handler, int max_threads)
    : handler_(std::move(handler)), max_threads_(max_threads) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start(const std::string& host, uint16_t port) {
  try {
    Poco::Net::ServerSocket socket;
    // SO_REUSEADDR for quick restarts, never SO_REUSEPORT: a second crmhost must not share the port.
    socket.bind(Poco::Net::SocketAddress(host, port), /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(1024);
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(max_threads_);
    params->setMaxQueued(4096);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);  // unlimited
    pool_ = std::make_unique<Poco::ThreadPool>(2, max_threads_ + 1);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(handler_), *pool_, socket, params);
    server_->start();
  } catch (const Poco::Exception& e) {
    return Error{"cannot listen on " + host + ":" + std::to_string(port) + ": " + e.displayText()};
  }
  return ok_status();
}

void HttpServer::stop() {
  if (server_) {
    server_->stopAll(true);
    server_.reset();
  }
  if (pool_) {
    pool_->joinAll();
    pool_.reset();
  }
}

}  // namespace crmhost
