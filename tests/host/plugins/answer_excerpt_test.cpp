#include "plugins/answer_excerpt.h"

#include <gtest/gtest.h>

namespace crmhost {
namespace {

HttpExchange Answer(int status, std::string body) {
  HttpExchange x;
  x.status = status;
  x.body = std::move(body);
  return x;
}

TEST(AnswerExcerptTest, KeepsTheStatusAndBodyButNoSecret) {
  auto text = answer_excerpt(
      Answer(400, R"({"message":"bad email","access_token":"tok-123456","Client_Secret" : "s\"x",)"
                  R"("apiKey":"k-999999","field":"Email","echo":"Bearer abcdefgh"})"),
      "Bearer abcdefgh", 4096);
  EXPECT_EQ(text.rfind("HTTP 400\n", 0), 0u) << text;
  EXPECT_NE(text.find("bad email"), std::string::npos);
  EXPECT_NE(text.find(R"("field":"Email")"), std::string::npos);
  for (const char* secret : {"tok-123456", "s\\\"x", "k-999999", "abcdefgh"})
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  EXPECT_NE(text.find(R"("access_token":"[redacted]")"), std::string::npos) << text;
}

TEST(AnswerExcerptTest, IsCutToTheLimitAfterRedaction) {
  std::string body = std::string(5000, 'x') + R"("refresh_token":"late-secret")";
  auto text = answer_excerpt(Answer(500, body), "", 4096);
  EXPECT_EQ(text.size(), 4096u);
  // A secret that straddles the cut is redacted before the cut, never half-kept.
  auto near_cut = answer_excerpt(
      Answer(500, std::string(4070, 'y') + R"("password":"hunter22hunter22")"), "", 4096);
  EXPECT_EQ(near_cut.find("hunter"), std::string::npos) << near_cut.substr(4000);
}

TEST(AnswerExcerptTest, ATransportFailureIsSaid) {
  HttpExchange x;
  x.transport_error = CRMH_NET_CONNECT;
  x.error = "connection refused";
  EXPECT_EQ(answer_excerpt(x, "", 4096), "transport: connection refused");
}

}  // namespace
}  // namespace crmhost
