// DeferredReply and its connection's ReplyOrder over a real socket pair: the answer arrives whole
// and in order, a socket that cannot take it at once is finished by LaggingReplies, a reader that
// never reads is cut off after the timeout, and a reply dropped unsent closes the connection.
#include "http/deferred_reply.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <sstream>
#include <string>
#include <thread>

namespace crmhost {
namespace {

using namespace std::chrono_literals;

class DeferredReplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server_ = fds[0];
    client_ = fds[1];
  }
  void TearDown() override {
    ::close(server_);
    ::close(client_);
  }
  // Everything the client can read until the server end shuts down or `idle` passes quietly.
  std::string ReadAll(std::chrono::milliseconds idle = 2000ms) {
    std::string got;
    char buf[65536];
    pollfd p{client_, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(idle.count())) > 0) {
      ssize_t n = ::read(client_, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  static Poco::Net::HTTPResponse Head() {
    Poco::Net::HTTPResponse head;
    head.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
    head.setKeepAlive(true);
    return head;
  }

  int server_ = -1, client_ = -1;
  LaggingReplies lagging_{500ms};
};

TEST_F(DeferredReplyTest, AnAnswerSentFromAnotherThreadArrivesWhole) {
  ReplyOrder order(server_, lagging_);
  auto reply = order.defer(Head());
  std::string bytes = reply->format_json(202, R"({"id":"evt_1","deliveries":1})");
  std::thread([reply, bytes] { reply->send(bytes); }).join();
  order.await_sent();
  std::string got = ReadAll(200ms);
  EXPECT_EQ(got, bytes);
  EXPECT_EQ(got.rfind("HTTP/1.1 202 Accepted\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Length: 29\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("Content-Type: application/json\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.substr(got.size() - 29), R"({"id":"evt_1","deliveries":1})");
}

// The answer is formatted by hand: Poco's own parser must read it back as Poco would write it.
TEST_F(DeferredReplyTest, TheAnswerKeepsTheHeadersOfTheRequestsResponse) {
  ReplyOrder order(server_, lagging_);
  Poco::Net::HTTPResponse head = Head();
  head.set("Date", "Wed, 25 Nov 2026 18:00:00 GMT");
  head.setContentType("text/plain");  // replaced: the answer is JSON
  auto reply = order.defer(head);
  reply->add_header("Retry-After", "1");
  std::istringstream in(reply->format_json(503, R"({"error":"unavailable"})"));
  reply->send("");
  Poco::Net::HTTPResponse parsed;
  parsed.read(in);
  EXPECT_EQ(parsed.getVersion(), "HTTP/1.1");
  EXPECT_EQ(parsed.getStatus(), Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
  EXPECT_EQ(parsed.getReason(), "Service Unavailable");
  EXPECT_EQ(parsed.get("Date"), "Wed, 25 Nov 2026 18:00:00 GMT");
  EXPECT_EQ(parsed.get("Retry-After"), "1");
  EXPECT_EQ(parsed.getContentType(), "application/json");
  EXPECT_EQ(parsed.getContentLength(), 23);
  EXPECT_TRUE(parsed.getKeepAlive());
  std::string names;
  for (const auto& [name, value] : parsed) names += name + ";";
  EXPECT_EQ(names, "Connection;Date;Retry-After;Content-Type;Content-Length;")
      << "one of each, Content-Type and Content-Length the answer's own";
  std::string body;
  std::getline(in, body);
  EXPECT_EQ(body, R"({"error":"unavailable"})");
}

TEST_F(DeferredReplyTest, OneAnswerAtATime) {
  ReplyOrder order(server_, lagging_);
  auto reply = order.defer(Head());
  EXPECT_THROW(order.defer(Head()), std::logic_error);
  reply->send(reply->format_json(202, "{}"));
  EXPECT_THROW(reply->send("again"), std::logic_error);
  EXPECT_NO_THROW(order.defer(Head())->send("x"));
}

// More than the socket takes at once: the sender does not block, LaggingReplies finishes the
// answer as the client reads, and the connection stays outstanding until then.
TEST_F(DeferredReplyTest, WhatTheSocketCannotTakeIsFinishedAsTheClientReads) {
  int small = 4096;
  ASSERT_EQ(setsockopt(server_, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  ReplyOrder order(server_, lagging_);
  auto reply = order.defer(Head());
  std::string body(4 << 20, 'a');
  for (size_t i = 0; i < body.size(); i += 997) body[i] = static_cast<char>('b' + i % 20);
  std::string bytes = reply->format_json(200, "\"" + body + "\"");
  auto started = std::chrono::steady_clock::now();
  reply->send(bytes);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms) << "the sender blocked";
  auto sent = std::async(std::launch::async, [&] { order.await_sent(); });
  EXPECT_EQ(sent.wait_for(50ms), std::future_status::timeout) << "marked sent before it left";
  // Read in small sips, slower than the sender would like: 4 MiB take longer than the timeout,
  // but each sip is well inside it.
  std::string got;
  char buf[256 << 10];
  while (got.size() < bytes.size()) {
    pollfd p{client_, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1) << "the rest of the answer stopped coming";
    ssize_t n = ::read(client_, buf, sizeof buf);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(sent.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(got == bytes) << "the answer arrived changed (" << got.size() << " of "
                            << bytes.size() << " bytes)";
}

TEST_F(DeferredReplyTest, AClientThatNeverReadsIsCutOffAfterTheTimeout) {
  int small = 4096;
  ASSERT_EQ(setsockopt(server_, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  ReplyOrder order(server_, lagging_);
  auto reply = order.defer(Head());
  reply->send(reply->format_json(200, "\"" + std::string(4 << 20, 'a') + "\""));
  auto started = std::chrono::steady_clock::now();
  order.await_sent();
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 400ms);
  EXPECT_LT(waited, 5s);
  ReadAll(200ms);  // what was buffered, then the end of the connection
  char c;
  EXPECT_EQ(::recv(client_, &c, 1, MSG_DONTWAIT), 0) << "the connection is still open";
}

TEST_F(DeferredReplyTest, AReplyDroppedUnsentEndsTheConnection) {
  ReplyOrder order(server_, lagging_);
  order.defer(Head()).reset();
  order.await_sent();
  EXPECT_EQ(ReadAll(200ms), "");
  char c;
  EXPECT_EQ(::recv(client_, &c, 1, MSG_DONTWAIT), 0) << "the client would wait for nothing";
}

}  // namespace
}  // namespace crmhost
