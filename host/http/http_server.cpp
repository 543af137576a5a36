#include "http/http_server.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/String.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "http/buffered_http.h"
#include "http/request_head.h"

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

// What every connection of one server shares.
struct HttpServer::Serving {
  Poco::Net::HTTPServerParams::Ptr params;
  const RequestHandler& handler;
  const std::vector<std::string>& inline_requests;
  HttpServer::Connections& connections;
  LaggingReplies& lagging;
  Poco::ThreadPool& pool;
};

namespace {

// A connection's socket that first gives back the bytes an event loop already read from it,
// for Poco's session to parse when the connection moves to a thread. Thread-compatible: the loop
// sets the bytes before the move, the thread reads them after.
class PrereadSocketImpl final : public Poco::Net::StreamSocketImpl {
 public:
  explicit PrereadSocketImpl(poco_socket_t fd) : StreamSocketImpl(fd) {}

  void give_back(std::string bytes) {
    preread_ = std::move(bytes);
    offset_ = 0;
  }
  bool holds_bytes() const { return offset_ < preread_.size(); }

  int receiveBytes(void* buffer, int length, int flags = 0) override {
    if (!holds_bytes() || length <= 0) return StreamSocketImpl::receiveBytes(buffer, length, flags);
    size_t n = std::min(preread_.size() - offset_, static_cast<size_t>(length));
    std::memcpy(buffer, preread_.data() + offset_, n);
    offset_ += n;
    return static_cast<int>(n);
  }
  bool poll(const Poco::Timespan& timeout, int mode) override {
    if ((mode & SELECT_READ) != 0 && holds_bytes()) return true;
    return StreamSocketImpl::poll(timeout, mode);
  }

 private:
  std::string preread_;
  size_t offset_ = 0;
};

// Poco's server session, waiting for the next request with one poll(2). Poco's hasMoreRequests()
// polls through an epoll set it creates and closes on every call: four system calls per request
// instead of one. The first request still goes through hasMoreRequests(), which also starts its
// count of requests per connection (HttpServer sets no limit); later ones follow its rules: the
// keep-alive timeout, and no wait at all for bytes already buffered (a pipelined request).
class Session final : public Poco::Net::HTTPServerSession {
 public:
  Session(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
          const PrereadSocketImpl& preread)
      : HTTPServerSession(socket, params),
        keep_alive_timeout_(params->getKeepAliveTimeout()),
        preread_(preread) {}

  bool next_request_arrives() {
    if (first_) {
      first_ = false;
      return hasMoreRequests();
    }
    if (!getKeepAlive() || !socket().impl()->initialized()) return false;
    if (buffered() > 0 || preread_.holds_bytes()) return true;
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
  const PrereadSocketImpl& preread_;
  bool first_ = true;
};

using Serving = HttpServer::Serving;

// Sets the Date header; formatted once a second per thread rather than for every answer.
void set_date(Poco::Net::HTTPResponse& response) {
  thread_local std::time_t formatted_second = -1;
  thread_local std::string formatted;
  const std::time_t now = std::time(nullptr);
  if (now != formatted_second) {
    formatted_second = now;
    formatted = Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(now),
                                                Poco::DateTimeFormat::HTTP_FORMAT);
  }
  response.set("Date", formatted);
}

// What every answer starts with, on a thread or a loop: Date, the request's version, whether the
// connection stays open, and Server.
void start_answer(Poco::Net::HTTPServerResponse& response, const Poco::Net::HTTPRequest& request,
                  const Poco::Net::HTTPServerParams& params, bool can_keep_alive) {
  set_date(response);
  response.setVersion(request.getVersion());
  response.setKeepAlive(params.getKeepAlive() && request.getKeepAlive() && can_keep_alive);
  const std::string& server = params.getSoftwareVersion();
  if (!server.empty()) response.set("Server", server);
}

// One client connection, wherever it is served: its socket, Poco's session over it, and the
// order of its answers. Members are destroyed in reverse: the outstanding answer is waited for
// before the session and then the socket close.
struct Link {
  // Takes `fd`, an accepted connection.
  Link(int fd, const Serving& serving, std::shared_ptr<AnswerOutbox> outbox)
      : preread(new PrereadSocketImpl(fd)),
        socket(preread),
        session(socket, serving.params, *preread),
        order(fd, serving.lagging, std::move(outbox)) {}
  int fd() const { return socket.impl()->sockfd(); }

  PrereadSocketImpl* preread;  // owned by `socket`
  Poco::Net::StreamSocket socket;
  Session session;
  ReplyOrder order;
  // The event loop's: what it has read and not yet served, and when it last read.
  std::string unserved;
  std::chrono::steady_clock::time_point last_read{};
};

// Reads one request from `link`'s session and calls the handler; false once the client has
// closed between requests. Poco's HTTPServerConnection loop body, with the answer possibly left
// to the ReplyOrder.
bool serve_request(Link& link, const Serving& serving) {
  Session& session = link.session;
  const Poco::Net::HTTPServerParams& params = *serving.params;
  try {
    Poco::Net::HTTPServerResponseImpl response(session);
    Poco::Net::HTTPServerRequestImpl request(response, session,
                                             Poco::Net::HTTPServerParams::Ptr(serving.params));
    start_answer(response, request, params, session.canKeepAlive());
    if (request.getExpectContinue() && response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK)
      response.sendContinue();
    serving.handler(request, response, link.order);
    session.setKeepAlive(params.getKeepAlive() && response.getKeepAlive() &&
                         session.canKeepAlive());
  } catch (const Poco::Net::NoMessageException&) {
    return false;
  } catch (const Poco::Net::MessageException&) {
    Poco::Net::HTTPServerResponseImpl response(session);
    response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
    response.setKeepAlive(false);
    response.send();
    session.setKeepAlive(false);
  }
  return true;
}

// A connection served by a pool thread from here on, reading with blocking calls: for what the
// event loop leaves (see http_server.h). Deletes itself when the connection ends.
class ThreadServing final : public Poco::Runnable {
 public:
  // `serve`: false for a connection that closes once its outstanding answer has left.
  ThreadServing(std::unique_ptr<Link> link, const Serving& serving, bool serve)
      : link_(std::move(link)), serving_(serving), serve_(serve) {}

  // Never started: the link goes back to its loop.
  std::unique_ptr<Link> give_back() { return std::move(link_); }

  void run() override {
    std::unique_ptr<ThreadServing> self(this);
    pthread_setname_np(pthread_self(), "crmh-conn");  // else it keeps its creator's name
    if (serve_ && serving_.connections.add(&link_->socket)) {
      try {
        while (link_->session.next_request_arrives()) {
          link_->order.await_sent();  // the next request is read once the previous answer left
          if (!serve_request(*link_, serving_)) break;
        }
      } catch (const Poco::Exception& e) {
        Poco::Logger::get("crmhost.http").debug("connection ended: " + e.displayText());
      } catch (const std::exception& e) {  // still leaves the list stop() aborts
        Poco::Logger::get("crmhost.http")
            .error("serving a request failed: " + std::string(e.what()));
      }
      serving_.connections.remove(&link_->socket);
    }
    link_.reset();  // waits for the outstanding answer, then closes
  }

 private:
  std::unique_ptr<Link> link_;
  Serving serving_;
  bool serve_;
};

// Hands `link` to a pool thread, with what the loop read and did not serve; its socket blocks
// again. Without a free thread, gives the link back, to be closed once its outstanding answer
// has left (which its own loop may have to send: it must not wait for it here).
std::unique_ptr<Link> serve_on_thread(std::unique_ptr<Link> link, const Serving& serving,
                                      bool serve) {
  int flags = ::fcntl(link->fd(), F_GETFL);
  if (flags >= 0) ::fcntl(link->fd(), F_SETFL, flags & ~O_NONBLOCK);
  link->preread->give_back(std::move(link->unserved));
  auto* task = new ThreadServing(std::move(link), serving, serve);
  try {
    serving.pool.start(*task);
  } catch (const Poco::Exception& e) {
    Poco::Logger::get("crmhost.http").warning("closing a connection: " + e.displayText());
    link = task->give_back();
    delete task;
    ::shutdown(link->fd(), SHUT_RD);
    return link;
  }
  return nullptr;
}

}  // namespace

// One epoll loop thread: accepts on the shared listening socket and serves the requests it may
// (see request_head.h) on its own thread, without a thread switch per request; hands every other
// connection to a pool thread for good. Its links are touched by this thread only.
class HttpServer::EventLoop {
 public:
  // `loops`: every loop of the server (this one included), among which accepted connections
  // are dealt in turn; `next` counts them out.
  EventLoop(int listen_fd, const Serving& serving, int index,
            const std::vector<std::unique_ptr<EventLoop>>& loops, std::atomic<size_t>& next)
      : listen_fd_(listen_fd), serving_(serving), index_(index), loops_(loops), next_(next) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    answers_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    adopt_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0 || answers_fd_ < 0 || adopt_fd_ < 0) {
      int error = errno;
      for (int fd : {epoll_fd_, wake_fd_, answers_fd_, adopt_fd_})
        if (fd >= 0) ::close(fd);
      throw Poco::IOException("creating an event loop's epoll set or eventfds", error);
    }
    outbox_ = std::make_shared<AnswerOutbox>(answers_fd_);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = listen_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    ev.data.fd = answers_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, answers_fd_, &ev);
    ev.data.fd = adopt_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, adopt_fd_, &ev);
  }
  ~EventLoop() {
    stop();
    ::close(adopt_fd_);
    ::close(answers_fd_);
    ::close(wake_fd_);
    ::close(epoll_fd_);
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Closes this loop's connections (each once its answer has left) and joins its thread.
  void stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  // Any thread: serve the accepted connection `fd` on this loop.
  void adopt(int fd) {
    {
      std::lock_guard lock(adopted_mu_);
      if (!stopped_) {
        adopted_.push_back(fd);
        uint64_t one = 1;
        (void)!::write(adopt_fd_, &one, sizeof one);
        return;
      }
    }
    ::close(fd);
  }

 private:
  // Requests longer than this go to a thread.
  static constexpr size_t kReadCapacity = 64 * 1024;

  void run() {
    std::string name = "crmh-http-" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    std::vector<char> buffer(kReadCapacity);
    epoll_event events[64];
    auto next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (;;) {
      int n = ::epoll_wait(epoll_fd_, events, 64, 1000);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_fd_) return close_all();
        if (fd == answers_fd_) {
          uint64_t count;
          (void)!::read(answers_fd_, &count, sizeof count);
          outbox_->send_queued();
          if (!closing_.empty()) close_answered();
        } else if (fd == adopt_fd_) {
          uint64_t count;
          (void)!::read(adopt_fd_, &count, sizeof count);
          std::vector<int> fds;
          {
            std::lock_guard lock(adopted_mu_);
            fds.swap(adopted_);
          }
          for (int adopted : fds) add(adopted);
        } else if (fd == listen_fd_) {
          accept_all();
        } else if (auto it = links_.find(fd); it != links_.end()) {
          readable(it, buffer);
        }
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + std::chrono::seconds(1);
      }
    }
  }

  // Deals the waiting connections out to the loops in turn, this one included.
  void accept_all() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // none left (EAGAIN), or another loop took it
      EventLoop* to = loops_[next_++ % loops_.size()].get();
      if (to == this)
        add(fd);
      else
        to->adopt(fd);
    }
  }

  void add(int fd) {
    std::unique_ptr<Link> link;
    try {
      link = std::make_unique<Link>(fd, serving_, outbox_);
    } catch (const Poco::Exception& e) {
      Poco::Logger::get("crmhost.http").warning("dropping a connection: " + e.displayText());
      return;
    }
    link->last_read = std::chrono::steady_clock::now();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;  // level-triggered: one read per wake-up is enough
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return;
    links_.emplace(fd, std::move(link));
  }

  using Links = std::unordered_map<int, std::unique_ptr<Link>>;

  void readable(Links::iterator it, std::vector<char>& buffer) {
    Link& link = *it->second;
    link.last_read = std::chrono::steady_clock::now();
    // More while an answer is outstanding (this loop sends its connections' answers, so the
    // client cannot have it): a pipelined request. A thread serves the connection on, in order.
    if (link.order.outstanding()) return hand_off(it, true);
    ssize_t n = ::recv(link.fd(), buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return close(it);  // closed or failed, nothing outstanding
    link.unserved.append(buffer.data(), static_cast<size_t>(n));
    InlineRequest found;
    switch (classify_request_head(link.unserved, kReadCapacity, serving_.inline_requests, &found)) {
      case RequestHead::kPart:
        return;
      case RequestHead::kElsewhere:
        return hand_off(it, true);
      case RequestHead::kInline:
        break;
    }
    const size_t body_start = found.body_start, whole = found.end;
    const std::string_view bytes(link.unserved);
    BufferedResponse response;
    std::optional<BufferedRequest> request;
    try {
      request.emplace(bytes.substr(0, body_start), bytes.substr(body_start, whole - body_start),
                      response, *serving_.params, link.socket);
    } catch (const Poco::Exception&) {
      return hand_off(it, true);  // Poco's parser refuses it: the thread's answers 400
    }
    start_answer(response, *request, *serving_.params, /*can_keep_alive=*/true);
    try {
      serving_.handler(*request, response, link.order);
      if (response.sent()) link.order.defer(response)->send(response.take_bytes());
    } catch (const std::exception& e) {  // the loop must go on; this connection ends
      Poco::Logger::get("crmhost.http").error("serving a request failed: " + std::string(e.what()));
      ::shutdown(link.fd(), SHUT_RD);
      return hand_off(it, false);
    }
    // A handler that neither answered nor deferred leaves nothing to keep the connection for.
    bool keep = response.getKeepAlive() && (response.sent() || link.order.outstanding());
    request.reset();
    link.unserved.erase(0, whole);
    if (!keep) return hand_off(it, false);           // closes once the answer has left
    if (!link.unserved.empty()) hand_off(it, true);  // pipelined behind an outstanding answer
  }

  // Closes a connection without an outstanding answer.
  void close(Links::iterator it) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
    links_.erase(it);
  }

  // The link leaves this loop for a thread, which serves what is left (`serve`) or only waits
  // for the outstanding answer, then closes it.
  void hand_off(Links::iterator it, bool serve) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
    std::unique_ptr<Link> link = std::move(it->second);
    links_.erase(it);
    if (auto left = serve_on_thread(std::move(link), serving_, serve))
      closing_.push_back(std::move(left));
  }

  // Closes the links no thread took once their answers have left.
  void close_answered() {
    std::erase_if(closing_,
                  [](const std::unique_ptr<Link>& link) { return !link->order.outstanding(); });
  }

  // Closes connections idle past the keep-alive timeout, or holding part of a request past the
  // request timeout; an outstanding answer still leaves first (on a thread).
  void sweep(std::chrono::steady_clock::time_point now) {
    close_answered();
    const auto idle =
        std::chrono::microseconds(serving_.params->getKeepAliveTimeout().totalMicroseconds());
    const auto reading =
        std::chrono::microseconds(serving_.params->getTimeout().totalMicroseconds());
    for (auto it = links_.begin(); it != links_.end();) {
      Link& link = *it->second;
      if (now - link.last_read < (link.unserved.empty() ? idle : reading) ||
          link.order.outstanding()) {
        ++it;
        continue;
      }
      close(it++);
    }
  }

  // Stopping: every connection is shut down; each closes once its outstanding answer has left.
  void close_all() {
    {
      std::lock_guard lock(adopted_mu_);
      stopped_ = true;
      for (int fd : adopted_) ::close(fd);
      adopted_.clear();
    }
    outbox_->close();  // from here answers are sent by whoever has them
    closing_.clear();
    for (auto& [fd, link] : links_) ::shutdown(fd, SHUT_RDWR);
    links_.clear();
  }

  const int listen_fd_;
  Serving serving_;
  const int index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;     // written once: stop
  int answers_fd_ = -1;  // the outbox has answers to send
  int adopt_fd_ = -1;    // adopted_ has connections
  const std::vector<std::unique_ptr<EventLoop>>& loops_;
  std::atomic<size_t>& next_;
  std::mutex adopted_mu_;  // guards adopted_ and stopped_
  std::vector<int> adopted_;
  bool stopped_ = false;
  std::shared_ptr<AnswerOutbox> outbox_;
  Links links_;
  std::vector<std::unique_ptr<Link>> closing_;  // no thread took them; answers outstanding
  std::thread thread_;
};

HttpServer::HttpServer(RequestHandler handler, int max_threads,
                       std::vector<std::string> inline_requests, int event_loops)
    : handler_(std::move(handler)),
      max_threads_(max_threads),
      inline_requests_(std::move(inline_requests)),
      event_loops_(event_loops > 0
                       ? event_loops
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start(const std::string& host, uint16_t port) {
  try {
    auto socket = std::make_unique<Poco::Net::ServerSocket>();
    // SO_REUSEADDR for quick restarts, never SO_REUSEPORT: a second crmhost must not share the
    // port.
    socket->bind(Poco::Net::SocketAddress(host, port), /*reuseAddress=*/true, /*reusePort=*/false);
    socket->listen(1024);
    socket->setBlocking(false);  // the event loops accept until none is left
    port_ = socket->address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(max_threads_);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);                  // unlimited
    params->setKeepAliveTimeout(Poco::Timespan(15, 0));  // idle between requests
    params->setTimeout(Poco::Timespan(60, 0));           // reading a request, sending an answer
    pool_ = std::make_unique<Poco::ThreadPool>(2, max_threads_ + 1);
    // A deferred answer the client does not read gets as long as any other send would.
    lagging_ = std::make_unique<LaggingReplies>(
        std::chrono::milliseconds(params->getTimeout().totalMilliseconds()));
    connections_ = std::make_unique<Connections>();
    serving_ = std::make_unique<Serving>(
        Serving{params, handler_, inline_requests_, *connections_, *lagging_, *pool_});
    listen_socket_ = std::move(socket);
    for (int i = 0; i < event_loops_; ++i)
      loops_.push_back(std::make_unique<EventLoop>(listen_socket_->impl()->sockfd(), *serving_, i,
                                                   loops_, next_loop_));
    for (auto& loop : loops_) loop->start();
  } catch (const Poco::Exception& e) {
    stop();
    return Error{"cannot listen on " + host + ":" + std::to_string(port) + ": " + e.displayText()};
  }
  return ok_status();
}

void HttpServer::stop() {
  for (auto& loop : loops_) loop->stop();  // no new connections; theirs closed once answered
  loops_.clear();
  if (connections_) connections_->abort_all();
  if (pool_) pool_->joinAll();  // every connection has finished, its answers sent or abandoned
  listen_socket_.reset();
  serving_.reset();
  connections_.reset();
  lagging_.reset();
  pool_.reset();
}

}  // namespace crmhost
