// The benchmarks' yardstick and fast sink: a bare Poco HTTPServer, configured as crmhost's ingress
// is (128 threads, keep-alive), that reads each request body and answers at once.
//   crmhost_bench_bare [--listen HOST:PORT] [--status 202|204] [--ready-file PATH]
// --status 202 (default) answers {"id":"evt_…","deliveries":1}, the shape of crmhost's answer;
// --status 204 is an always-happy webhook sink. GET /count answers the number of POSTs so far.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

namespace {

std::atomic<long long> posts{0};
int answer_status = 202;

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    std::string body;
    body.resize(static_cast<size_t>(std::max<std::streamsize>(req.getContentLength(), 0)));
    req.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
    if (req.getMethod() == "GET") {
      const std::string count = std::to_string(posts.load());
      resp.setContentType("text/plain");
      resp.setContentLength(static_cast<std::streamsize>(count.size()));
      resp.send() << count;
      return;
    }
    ++posts;
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer_status));
    if (answer_status == 204) {
      resp.setContentLength(0);
      resp.send();
      return;
    }
    static const std::string kAnswer = R"({"id":"evt_0123456789abcdef0123456789","deliveries":1})";
    resp.setContentType("application/json");
    resp.setContentLength(static_cast<std::streamsize>(kAnswer.size()));
    resp.send() << kAnswer;
  }
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string ready_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--listen") {
      const size_t colon = value.rfind(':');
      host = value.substr(0, colon);
      port = static_cast<uint16_t>(std::atoi(value.c_str() + colon + 1));
    } else if (flag == "--status") {
      answer_status = std::atoi(value.c_str());
    } else if (flag == "--ready-file") {
      ready_file = value;
    } else {
      std::cerr << "usage: crmhost_bench_bare [--listen HOST:PORT] [--status N] [--ready-file P]\n";
      return 2;
    }
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(host, port), true);
  socket.listen(1024);
  constexpr int kThreads = 128;  // as crmhost's ingress
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(kThreads);
  params->setMaxQueued(4096);
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);
  Poco::ThreadPool pool(2, kThreads + 1);
  Poco::Net::HTTPServer server(new Factory, pool, socket, params);
  server.start();
  const std::string url = "http://" + host + ":" + std::to_string(socket.address().port());
  std::cerr << "bare: listening on " << url << "\n";
  if (!ready_file.empty()) {
    std::ofstream(ready_file + ".tmp") << url;
    std::rename((ready_file + ".tmp").c_str(), ready_file.c_str());
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stopAll(true);
  pool.joinAll();
  return 0;
}
