// The end-to-end benchmarks' webhook receiver: answers every POST 204 at once and counts it; GET
// /count answers the count so far. One thread, one epoll loop, keep-alive connections.
//   crmhost_bench_sink [--listen HOST:PORT] [--ready-file PATH]
//
// Why not the bare Poco server: on the benchmark machine the receiver shares the cores with
// crmhost, and the Poco server's thread per connection, epoll instance per request and stream
// machinery cost about as much CPU per request as crmhost's whole delivery did. A receiver on
// another machine costs crmhost nothing, so the cheaper this one is, the closer the figure is to
// what crmhost itself can do. It reads just enough HTTP/1.1 for a client that sends
// Content-Length (crmhost's HTTP client always does); anything else closes the connection.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

long long posts = 0;

struct Connection {
  std::string in;   // bytes received, not yet answered
  std::string out;  // answers not yet sent
};

bool equals_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Answers every complete request at the front of c.in. False: the client spoke something this
// sink does not read, and the connection is to be closed.
bool answer_requests(Connection& c) {
  size_t used = 0;
  for (;;) {
    std::string_view rest(c.in.data() + used, c.in.size() - used);
    size_t head_end = rest.find("\r\n\r\n");
    if (head_end == std::string_view::npos) break;
    std::string_view head = rest.substr(0, head_end + 2);
    size_t body_len = 0;
    for (size_t line = head.find("\r\n") + 2; line < head.size();) {
      size_t eol = head.find("\r\n", line);
      std::string_view h = head.substr(line, eol - line);
      size_t colon = h.find(':');
      if (colon != std::string_view::npos) {
        std::string_view name = h.substr(0, colon);
        if (equals_nocase(name, "transfer-encoding")) return false;
        if (equals_nocase(name, "content-length")) body_len = std::strtoul(h.data() + colon + 1, nullptr, 10);
      }
      line = eol + 2;
    }
    if (rest.size() < head_end + 4 + body_len) break;
    if (head.substr(0, 4) == "GET ") {
      std::string count = std::to_string(posts);
      c.out += "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
               std::to_string(count.size()) + "\r\n\r\n" + count;
    } else {
      ++posts;
      c.out += "HTTP/1.1 204 No Content\r\n\r\n";
    }
    used += head_end + 4 + body_len;
  }
  c.in.erase(0, used);
  return true;
}

bool parse_listen(const std::string& value, sockaddr_in* addr) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos) return false;
  addr->sin_family = AF_INET;
  addr->sin_port = htons(static_cast<uint16_t>(std::atoi(value.c_str() + colon + 1)));
  return inet_pton(AF_INET, value.substr(0, colon).c_str(), &addr->sin_addr) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen_on = "127.0.0.1:0", ready_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--listen") listen_on = argv[i + 1];
    else if (flag == "--ready-file") ready_file = argv[i + 1];
    else {
      std::cerr << "usage: crmhost_bench_sink [--listen HOST:PORT] [--ready-file PATH]\n";
      return 2;
    }
  }
  sockaddr_in addr{};
  if (!parse_listen(listen_on, &addr)) {
    std::cerr << "sink: bad --listen " << listen_on << "\n";
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 1024) != 0) {
    std::cerr << "sink: cannot listen on " << listen_on << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  ev.data.fd = stop_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);

  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
  const std::string url = std::string("http://") + ip + ":" + std::to_string(ntohs(addr.sin_port));
  std::cerr << "sink: listening on " << url << "\n";
  if (!ready_file.empty()) {
    std::ofstream(ready_file + ".tmp") << url;
    std::rename((ready_file + ".tmp").c_str(), ready_file.c_str());
  }

  std::unordered_map<int, Connection> connections;
  auto close_connection = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    connections.erase(fd);
  };
  epoll_event events[64];
  char buf[65536];
  for (;;) {
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == stop_fd) return 0;
      if (fd == listener) {
        int c;
        while ((c = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          connections[c];
        }
        continue;
      }
      Connection& c = connections[fd];
      bool open = true;
      for (;;) {
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got > 0) {
          c.in.append(buf, static_cast<size_t>(got));
          if (static_cast<size_t>(got) < sizeof buf) break;
          continue;
        }
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (got < 0 && errno == EINTR) continue;
        open = false;  // closed by the client, or failed
        break;
      }
      if (open && !answer_requests(c)) open = false;
      // Answers are tiny: a blocking-free send of a few dozen bytes to a reading client fits the
      // socket buffer; a client that stops reading is dropped rather than waited for.
      if (open && !c.out.empty()) {
        ssize_t sent = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (sent != static_cast<ssize_t>(c.out.size())) open = false;
        c.out.clear();
      }
      if (!open) close_connection(fd);
    }
  }
}
