#include "http/request_head.h"

#include <gtest/gtest.h>

namespace crmhost {
namespace {

const std::vector<std::string> kLines = {"POST /v1/events HTTP/1.1"};
constexpr size_t kCapacity = 4096;

std::string Post(const std::string& body, const std::string& extra_fields = "") {
  return "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + extra_fields +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

RequestHead Classify(const std::string& bytes, InlineRequest* found = nullptr) {
  InlineRequest ignored;
  return classify_request_head(bytes, kCapacity, kLines, found ? found : &ignored);
}

TEST(RequestHead, AWholeSimplePostIsServedInlineWithItsBodyFound) {
  std::string bytes = Post("{\"a\":1}");
  InlineRequest found;
  ASSERT_EQ(Classify(bytes, &found), RequestHead::kInline);
  EXPECT_EQ(bytes.substr(found.body_start, found.end - found.body_start), "{\"a\":1}");
  EXPECT_EQ(found.end, bytes.size());
}

TEST(RequestHead, EveryPrefixOfAWholeRequestIsPart) {
  std::string bytes = Post("{\"a\":1}");
  for (size_t n = 1; n < bytes.size(); ++n)
    EXPECT_EQ(Classify(bytes.substr(0, n)), RequestHead::kPart) << n << " bytes";
}

// Pipelining: the first request is whole and ends where the second begins.
TEST(RequestHead, PipelinedRequestsEndWhereTheNextBegins) {
  std::string first = Post("{}"), second = Post("{\"b\":2}");
  InlineRequest found;
  ASSERT_EQ(Classify(first + second, &found), RequestHead::kInline);
  EXPECT_EQ(found.end, first.size());
  ASSERT_EQ(Classify((first + second).substr(found.end), &found), RequestHead::kInline);
  EXPECT_EQ(found.end, second.size());
}

// Poco takes a bare LF as a line end; such a head never ends in CRLF CRLF, so it goes to a
// thread, whose parser has the last word.
TEST(RequestHead, ABareLfAnywhereInTheHeadGoesElsewhere) {
  EXPECT_EQ(Classify("POST /v1/events HTTP/1.1\r\nHost: x\nContent-Length: 2\r\n\r\n{}"),
            RequestHead::kElsewhere);
  EXPECT_EQ(Classify("POST /v1/events HTTP/1.1\nHost: x\n\n{}"), RequestHead::kElsewhere);
  EXPECT_EQ(Classify("POST /v1/events HTTP/1.1\r\nHost: x\n"), RequestHead::kElsewhere)
      << "decided as soon as the bare LF arrives";
}

TEST(RequestHead, AnythingButOneContentLengthBodyGoesElsewhere) {
  EXPECT_EQ(Classify("GET /v1/deliveries HTTP/1.1\r\n\r\n"), RequestHead::kElsewhere);
  EXPECT_EQ(Classify("POST /v1/events?x=1 HTTP/1.1\r\n"), RequestHead::kElsewhere);
  EXPECT_EQ(Classify("POST /v1/events HTTP/1.0\r\n"), RequestHead::kElsewhere);
  EXPECT_EQ(Classify(Post("{}", "Transfer-Encoding: chunked\r\n")), RequestHead::kElsewhere);
  EXPECT_EQ(Classify(Post("{}", "expect: 100-continue\r\n")), RequestHead::kElsewhere);
  EXPECT_EQ(Classify(Post("{}", "Content-Length: 2\r\n")), RequestHead::kElsewhere)
      << "two lengths";
  EXPECT_EQ(Classify("POST /v1/events HTTP/1.1\r\nHost: x\r\n\r\n"), RequestHead::kElsewhere)
      << "no length";
  EXPECT_EQ(Classify(Post("{}", " folded\r\n")), RequestHead::kElsewhere);
  EXPECT_EQ(Classify("POST /v1/events HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"),
            RequestHead::kElsewhere);
}

TEST(RequestHead, ARequestLargerThanTheCapacityGoesElsewhere) {
  EXPECT_EQ(Classify(Post(std::string(kCapacity, 'x'))), RequestHead::kElsewhere);
  EXPECT_EQ(Classify("POST /v1/events HTTP/1.1\r\nX: " + std::string(kCapacity, 'y')),
            RequestHead::kElsewhere)
      << "a head that fills the capacity without ending";
}

}  // namespace
}  // namespace crmhost
