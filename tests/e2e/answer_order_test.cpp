// POST /v1/events is answered by the store's writer thread once the event is committed, while the
// connection's own thread reads on (host/ingress/deferred_reply.h). Over one connection the
// answers still come back in request order, whatever mix of deferred and immediate answers the
// client pipelines, and an event whose client left before its answer is stored all the same.
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketStream.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include <set>

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

}  // namespace
}  // namespace crmhost::testing
