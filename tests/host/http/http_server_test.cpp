// HttpServer on a real loopback socket with a small thread pool: when no thread is free for a
// connection its event loop gives up, the connection still gets the answer it is owed (which that
// same loop sends) and is then closed.
#include "http/http_server.h"

#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketStream.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace crmhost {
namespace {

using namespace std::chrono_literals;

class HttpServerTest : public ::testing::Test {
 protected:
  // "POST /e" is served on the loops and answered 202 from another thread 50 ms later; anything
  // else is answered 200 at once, on a pool thread.
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(
        [this](Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
               ReplyOrder& order) {
          if (request.getURI() == "/e") {
            auto reply = order.defer(response);
            answerers_.emplace_back([reply] {
              std::this_thread::sleep_for(50ms);
              reply->send(reply->format_json(202, "{}"));
            });
            return;
          }
          response.setContentLength(0);
          response.send();
        },
        /*max_threads=*/1, std::vector<std::string>{"POST /e HTTP/1.1"}, /*event_loops=*/1);
    ASSERT_TRUE(server_->start("127.0.0.1", 0).ok());
  }
  void TearDown() override {
    for (auto& t : answerers_) t.join();
    server_.reset();
  }

  Poco::Net::StreamSocket Connect() const {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", server_->port()));
    socket.setReceiveTimeout(Poco::Timespan(10, 0));
    return socket;
  }
  static void Send(Poco::Net::StreamSocket& socket, const std::string& bytes) {
    socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
  }
  // The status of every answer until the server closes the connection.
  static std::vector<int> Statuses(Poco::Net::StreamSocket& socket) {
    std::vector<int> statuses;
    Poco::Net::SocketInputStream in(socket);
    while (in.peek() != std::char_traits<char>::eof()) {
      Poco::Net::HTTPResponse head;
      head.read(in);
      in.ignore(std::max<std::streamsize>(head.getContentLength(), 0));
      statuses.push_back(static_cast<int>(head.getStatus()));
    }
    return statuses;
  }

  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> answerers_;  // used by the loop's thread only, joined at the end
};

TEST_F(HttpServerTest, WithNoThreadFreeAConnectionGetsItsOwedAnswerThenCloses) {
  // Two connections hold the pool's two threads (kept alive after their GETs).
  std::vector<Poco::Net::StreamSocket> holders;
  for (int i = 0; i < 2; ++i) {
    holders.push_back(Connect());
    Send(holders.back(), "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    Poco::Net::SocketInputStream in(holders.back());
    Poco::Net::HTTPResponse head;
    head.read(in);
    ASSERT_EQ(head.getStatus(), Poco::Net::HTTPResponse::HTTP_OK);
  }
  // A third: an event the loop serves (its answer deferred), with a GET pipelined behind it, which
  // would need a thread.
  Poco::Net::StreamSocket socket = Connect();
  Send(socket,
       "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
       "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(Statuses(socket), std::vector<int>{202});
}

}  // namespace
}  // namespace crmhost
