#include "ingress/http_server.h"

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <unordered_set>

namespace crmhost {

class HttpServer::Connections {
 public:
  // Returns false once stopping: the connection must not start.
  bool add(Poco::Net::StreamSocket* socket) {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    open_.insert(socket);
    return true;
  }
  void remove(Poco::Net::StreamSocket* socket) {
    std::lock_guard lock(mu_);
    open_.erase(socket);
  }
  // Wakes every serving thread out of its read; each then finishes its outstanding answer.
  void abort_all() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto* socket : open_) {
      try {
        socket->shutdown();
      } catch (const Poco::Exception&) {
      }
    }
  }

 private:
  std::mutex mu_;  // guards open_ and stopping_
  std::unordered_set<Poco::Net::StreamSocket*> open_;
  bool stopping_ = false;
};

namespace {

// Poco's server session, waiting for the next request with one poll(2). Poco's hasMoreRequests()
// polls through an epoll set it creates and closes on every call: four system calls per request
// instead of one. The first request still goes through hasMoreRequests(), which also starts its
// count of requests per connection (HttpServer sets no limit); later ones follow its rules: the
// keep-alive timeout, and no wait at all for bytes already buffered (a pipelined request).
class Session final : public Poco::Net::HTTPServerSession {
 public:
  Session(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params)
      : HTTPServerSession(socket, params), keep_alive_timeout_(params->getKeepAliveTimeout()) {}

  bool next_request_arrives() {
    if (first_) {
      first_ = false;
      return hasMoreRequests();
    }
    if (!getKeepAlive() || !socket().impl()->initialized()) return false;
    if (buffered() > 0) return true;
    pollfd p{socket().impl()->sockfd(), POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::microseconds(keep_alive_timeout_.totalMicroseconds());
    for (;;) {
      auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      int rc = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
      if (rc >= 0 || errno != EINTR) return rc > 0;  // readable, closed or failed: reading tells
    }
  }

 private:
  const Poco::Timespan keep_alive_timeout_;
  bool first_ = true;
};

// What every connection of one server shares.
struct Serving {
  Poco::Net::HTTPServerParams::Ptr params;
  const RequestHandler& handler;
  HttpServer::Connections& connections;
  LaggingReplies& lagging;
};

// One client connection: Poco's HTTPServerConnection loop, plus the ReplyOrder rules.
class Connection final : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& socket, const Serving& serving)
      : TCPServerConnection(socket), serving_(serving) {}

  void run() override {
    Session session(socket(), serving_.params);  // may throw: before the connection is listed
    if (!serving_.connections.add(&socket())) return;
    // Destroyed in reverse: the outstanding answer is waited for, then the connection leaves the
    // list stop() aborts, and only then does the session close the socket; on every way out, an
    // exception included (Poco's TCPServerConnection::start reports it).
    struct Listed {
      HttpServer::Connections& connections;
      Poco::Net::StreamSocket* socket;
      ~Listed() { connections.remove(socket); }
    } listed{serving_.connections, &socket()};
    ReplyOrder order(socket().impl()->sockfd(), serving_.lagging);
    serve(session, order);
  }

 private:
  void serve(Session& session, ReplyOrder& order) {
    const Poco::Net::HTTPServerParams& params = *serving_.params;
    const std::string& server = params.getSoftwareVersion();
    while (session.next_request_arrives()) {
      order.await_sent();  // the next request is read only once the previous answer has left
      try {
        Poco::Net::HTTPServerResponseImpl response(session);
        Poco::Net::HTTPServerRequestImpl request(response, session, serving_.params);
        response.setDate(Poco::Timestamp());
        response.setVersion(request.getVersion());
        response.setKeepAlive(params.getKeepAlive() && request.getKeepAlive() &&
                              session.canKeepAlive());
        if (!server.empty()) response.set("Server", server);
        if (request.getExpectContinue() && response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK)
          response.sendContinue();
        serving_.handler(request, response, order);
        session.setKeepAlive(params.getKeepAlive() && response.getKeepAlive() &&
                             session.canKeepAlive());
      } catch (const Poco::Net::NoMessageException&) {
        break;  // the client closed between requests
      } catch (const Poco::Net::MessageException&) {
        send_bad_request(session);
      }
    }
  }

  static void send_bad_request(Poco::Net::HTTPServerSession& session) {
    Poco::Net::HTTPServerResponseImpl response(session);
    response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
    response.setKeepAlive(false);
    response.send();
    session.setKeepAlive(false);
  }

  Serving serving_;
};

class ConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit ConnectionFactory(Serving serving) : serving_(std::move(serving)) {}

  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new Connection(socket, serving_);
  }

 private:
  Serving serving_;
};

}  // namespace

HttpServer::HttpServer(RequestHandler handler, int max_threads)
    : handler_(std::move(handler)), max_threads_(max_threads) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start(const std::string& host, uint16_t port) {
  try {
    Poco::Net::ServerSocket socket;
    // SO_REUSEADDR for quick restarts, never SO_REUSEPORT: a second crmhost must not share the
    // port.
    socket.bind(Poco::Net::SocketAddress(host, port), /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(1024);
    port_ = socket.address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(max_threads_);
    params->setMaxQueued(4096);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);                  // unlimited
    params->setKeepAliveTimeout(Poco::Timespan(15, 0));  // idle between requests
    params->setTimeout(Poco::Timespan(60, 0));           // reading a request, sending an answer
    pool_ = std::make_unique<Poco::ThreadPool>(2, max_threads_ + 1);
    // A deferred answer the client does not read gets as long as any other send would.
    lagging_ = std::make_unique<LaggingReplies>(
        std::chrono::milliseconds(params->getTimeout().totalMilliseconds()));
    connections_ = std::make_unique<Connections>();
    server_ = std::make_unique<Poco::Net::TCPServer>(
        new ConnectionFactory({params, handler_, *connections_, *lagging_}), *pool_, socket,
        params);
    server_->start();
  } catch (const Poco::Exception& e) {
    return Error{"cannot listen on " + host + ":" + std::to_string(port) + ": " + e.displayText()};
  }
  return ok_status();
}

void HttpServer::stop() {
  if (server_) {
    server_->stop();  // no new connections
    connections_->abort_all();
  }
  if (pool_) pool_->joinAll();  // every connection has finished, its answers sent or abandoned
  server_.reset();
  connections_.reset();
  lagging_.reset();
  pool_.reset();
}

}  // namespace crmhost
