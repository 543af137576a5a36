// POST /v1/events is answered once the event is committed, from the thread that learns it, while
// the connection is read on (host/ingress/deferred_reply.h). Over one connection the answers
// still come back in request order, whatever mix of deferred and immediate answers the client
// pipelines, and an event whose client left before its answer is stored all the same.
//
// Plain event POSTs are served on the server's event loops, everything else on a thread
// (host/ingress/http_server.h): requests that arrive in pieces, a connection that goes from one
// way to the other, bodies the loops leave to Poco, and many connections at once.
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketStream.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

constexpr const char* kKey = "acme-key";

class AnswerOrderTest : public E2eTest {
 protected:
  void SetUp() override {
    HostConfig config;
    config.tenants.push_back(Tenant("acme", kKey, receiver_));
    StartHost(config);
  }

  Poco::Net::StreamSocket Connect() const {
    const Poco::URI base(host_->base_url());
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress(base.getHost(), base.getPort()));
    socket.setReceiveTimeout(Poco::Timespan(20, 0));
    return socket;
  }

  static std::string PostRequest(const std::string& body) {
    return "POST /v1/events HTTP/1.1\r\nHost: crmhost\r\nAuthorization: Bearer " +
           std::string(kKey) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  }
  static std::string GetRequest(const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: crmhost\r\n\r\n";
  }

  // Reads answers until the server closes the connection: status and body of each, in order.
  static std::vector<std::pair<int, std::string>> ReadAnswers(Poco::Net::StreamSocket& socket) {
    std::vector<std::pair<int, std::string>> answers;
    Poco::Net::SocketInputStream in(socket);
    while (in.peek() != std::char_traits<char>::eof()) {
      Poco::Net::HTTPResponse head;
      head.read(in);
      std::string body(static_cast<size_t>(std::max<std::streamsize>(head.getContentLength(), 0)),
                       '\0');
      in.read(body.data(), static_cast<std::streamsize>(body.size()));
      answers.emplace_back(static_cast<int>(head.getStatus()), body);
    }
    return answers;
  }

  // Reads exactly one answer: its status and body.
  static std::pair<int, std::string> ReadAnswer(Poco::Net::SocketInputStream& in) {
    Poco::Net::HTTPResponse head;
    head.read(in);
    std::string body(static_cast<size_t>(std::max<std::streamsize>(head.getContentLength(), 0)),
                     '\0');
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    return {static_cast<int>(head.getStatus()), body};
  }

  static void Send(Poco::Net::StreamSocket& socket, const std::string& bytes) {
    socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
  }

  Receiver receiver_{NewWhsecSecret()};
};

// Twenty events, each followed by a health check, in one write. A health check is answered at
// once and an event only after its commit, so without the ordering rule the 200s would overtake.
TEST_F(AnswerOrderTest, PipelinedRequestsAreAnsweredInOrder) {
  Poco::Net::StreamSocket socket = Connect();
  std::string requests;
  constexpr int kRounds = 20;
  for (int i = 0; i < kRounds; ++i) {
    requests +=
        PostRequest(VisitorEvent(kCheckedIn, "pipelined" + std::to_string(i) + "@example.com"));
    requests += GetRequest("/healthz");
  }
  requests += PostRequest("{");                        // 400, answered at once
  requests += GetRequest("/v1/nowhere");               // 404
  requests += PostRequest(VisitorEvent(kCheckedOut));  // deferred again
  requests += "NOT HTTP\r\n\r\n";                      // Poco's parser refuses it: 400, then close
  socket.sendBytes(requests.data(), static_cast<int>(requests.size()));

  auto answers = ReadAnswers(socket);
  std::vector<int> statuses;
  for (const auto& a : answers) statuses.push_back(a.first);
  std::vector<int> expected;
  for (int i = 0; i < kRounds; ++i) expected.insert(expected.end(), {202, 200});
  expected.insert(expected.end(), {400, 404, 202, 400});
  ASSERT_EQ(statuses, expected);

  std::set<std::string> ids;
  for (const auto& [status, body] : answers) {
    if (status != 202) continue;
    std::string id = JsonString(ParseJsonObject(body), "id");
    EXPECT_TRUE(std::regex_match(id, kEventId)) << body;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRounds + 1)) << "an answer was repeated";
  for (const auto& id : ids) WaitForDeliveries(kKey, id, "delivered");
}

TEST_F(AnswerOrderTest, AnEventWhoseClientLeftBeforeItsAnswerIsStored) {
  {
    Poco::Net::StreamSocket socket = Connect();
    const std::string request =
        PostRequest(VisitorEvent(kCheckedIn, "leaver@example.com", "leaver-1"));
    socket.sendBytes(request.data(), static_cast<int>(request.size()));
    socket.close();
  }
  ASSERT_TRUE(Eventually([&] { return ListDeliveries(Client(), kKey).size() == 1; }, kDeadline))
      << "the event of a client that left was not stored";
  ASSERT_TRUE(receiver_.WaitForCount(1, kDeadline));
  // The same id again repeats the first answer and stores nothing new.
  const std::string id =
      PostEvent(kKey, VisitorEvent(kCheckedIn, "leaver@example.com", "leaver-1"));
  EXPECT_EQ(ListDeliveries(Client(), kKey).at(0).event_id, id);
  EXPECT_EQ(ListDeliveries(Client(), kKey).size(), 1u);
  EXPECT_EQ(Client().Get("/healthz").status, 200);
}

// The loops wait for the rest of a request that arrives in pieces, then serve it and the next.
TEST_F(AnswerOrderTest, ARequestInPiecesIsServedAndTheConnectionKept) {
  Poco::Net::StreamSocket socket = Connect();
  Poco::Net::SocketInputStream in(socket);
  const std::string request = PostRequest(VisitorEvent(kCheckedIn, "pieces@example.com"));
  const size_t head_end = request.find("\r\n\r\n");
  size_t sent = 0;
  for (size_t cut : {size_t{7}, head_end / 2, head_end + 2, head_end + 4, head_end + 40}) {
    Send(socket, request.substr(sent, cut - sent));
    sent = cut;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  Send(socket, request.substr(sent));
  auto [status, body] = ReadAnswer(in);
  ASSERT_EQ(status, 202) << body;
  // The same connection serves the next one.
  Send(socket, PostRequest(VisitorEvent(kCheckedOut, "pieces@example.com")));
  EXPECT_EQ(ReadAnswer(in).first, 202);
  ASSERT_TRUE(Eventually([&] { return ListDeliveries(Client(), kKey).size() == 2; }, kDeadline));
}

// An event (a loop), a health check (the connection moves to a thread), an event again (on the
// thread), one request at a time.
TEST_F(AnswerOrderTest, AConnectionMovesFromTheLoopToAThreadBetweenRequests) {
  Poco::Net::StreamSocket socket = Connect();
  Poco::Net::SocketInputStream in(socket);
  Send(socket, PostRequest(VisitorEvent(kCheckedIn, "mover@example.com")));
  EXPECT_EQ(ReadAnswer(in).first, 202);
  Send(socket, GetRequest("/healthz"));
  EXPECT_EQ(ReadAnswer(in).first, 200);
  Send(socket, PostRequest(VisitorEvent(kCheckedOut, "mover@example.com")));
  EXPECT_EQ(ReadAnswer(in).first, 202);
  ASSERT_TRUE(Eventually([&] { return ListDeliveries(Client(), kKey).size() == 2; }, kDeadline));
}

// What the loops do not serve themselves is served all the same: a chunked body, Expect:
// 100-continue, HTTP/1.0 (which closes after its answer), Connection: close and bare-LF lines.
TEST_F(AnswerOrderTest, EventPostsTheLoopsLeaveToPocoAreServed) {
  const std::string body = VisitorEvent(kCheckedIn, "elsewhere@example.com");
  const std::string head = "POST /v1/events HTTP/1.1\r\nHost: crmhost\r\nAuthorization: Bearer " +
                           std::string(kKey) + "\r\nContent-Type: application/json\r\n";
  {
    Poco::Net::StreamSocket socket = Connect();
    Poco::Net::SocketInputStream in(socket);
    std::ostringstream chunked;
    chunked << head << "Transfer-Encoding: chunked\r\n\r\n"
            << std::hex << body.size() << "\r\n"
            << body << "\r\n0\r\n\r\n";
    Send(socket, chunked.str());
    auto [status, text] = ReadAnswer(in);
    EXPECT_EQ(status, 202) << text;
  }
  {
    Poco::Net::StreamSocket socket = Connect();
    Poco::Net::SocketInputStream in(socket);
    Send(socket, head + "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n");
    EXPECT_EQ(ReadAnswer(in).first, 100);
    Send(socket, body);
    EXPECT_EQ(ReadAnswer(in).first, 202);
  }
  for (const std::string& close_after : {std::string("HTTP/1.0"), std::string("close")}) {
    Poco::Net::StreamSocket socket = Connect();
    std::string request = PostRequest(body);
    if (close_after == "close")
      request.insert(request.find("\r\n") + 2, "Connection: close\r\n");
    else
      request.replace(request.find("HTTP/1.1"), 8, "HTTP/1.0");
    Send(socket, request);
    auto answers = ReadAnswers(socket);  // until the server closes
    ASSERT_EQ(answers.size(), 1u) << close_after;
    EXPECT_EQ(answers[0].first, 202) << close_after;
  }
  {
    // Header lines ending in a bare LF, which Poco takes.
    Poco::Net::StreamSocket socket = Connect();
    Poco::Net::SocketInputStream in(socket);
    std::string request = PostRequest(body);
    const size_t fields = request.find("\r\n") + 2;
    for (size_t at = request.find("\r\n", fields); at != std::string::npos;
         at = request.find("\r\n", at))
      request.erase(at, 1);
    Send(socket, request);
    EXPECT_EQ(ReadAnswer(in).first, 202);
  }
  ASSERT_TRUE(Eventually([&] { return ListDeliveries(Client(), kKey).size() == 5; }, kDeadline));
}

// Connections are dealt out to the loops; every event of every one is answered and stored.
TEST_F(AnswerOrderTest, ManyConnectionsAtOnceAreAllServed) {
  constexpr int kConnections = 12;
  constexpr int kEach = 15;
  std::vector<std::thread> clients;
  std::atomic<int> accepted{0};
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&, c] {
      Poco::Net::StreamSocket socket = Connect();
      Poco::Net::SocketInputStream in(socket);
      for (int i = 0; i < kEach; ++i) {
        Send(socket, PostRequest(VisitorEvent(kCheckedIn, "c" + std::to_string(c) + "-" +
                                                              std::to_string(i) + "@example.com")));
        if (ReadAnswer(in).first == 202) ++accepted;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(accepted.load(), kConnections * kEach);
  ASSERT_TRUE(Eventually(
      [&] { return ListDeliveries(Client(), kKey, "limit=1000").size() == kConnections * kEach; },
      kDeadline));
}

}  // namespace
}  // namespace crmhost::testing
