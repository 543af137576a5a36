// The receiver is the tests' oracle for signatures: pin it to the published Standard Webhooks
// vector and prove it rejects what it must, so a broken receiver cannot let tests pass silently.
#include "support/receiver.h"

#include <gtest/gtest.h>

#include <ctime>

#include "support/http_client.h"
#include "support/webhook_signature.h"

namespace crmhost::testing {
namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr const char* kTimestamp = "1614265330";
constexpr const char* kBody = R"({"test": 2432232314})";
constexpr const char* kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(WebhookSignature, SignsThePublishedVector) {
  EXPECT_EQ(SignStandardWebhook(kSecret, kId, kTimestamp, kBody), kSignature);
}

TEST(WebhookSignature, VerifiesThePublishedVector) {
  EXPECT_TRUE(VerifyStandardWebhook(kSecret, kId, kTimestamp, kBody, kSignature));
  // Several space-delimited entries (key rotation): any match is enough.
  EXPECT_TRUE(VerifyStandardWebhook(kSecret, kId, kTimestamp, kBody,
                                    std::string("v1,bm90IGl0 ") + kSignature));
}

TEST(WebhookSignature, RejectsAnyChange) {
  EXPECT_FALSE(
      VerifyStandardWebhook(kSecret, kId, kTimestamp, R"({"test": 2432232315})", kSignature));
  EXPECT_FALSE(VerifyStandardWebhook(kSecret, "msg_other", kTimestamp, kBody, kSignature));
  EXPECT_FALSE(VerifyStandardWebhook(kSecret, kId, "1614265331", kBody, kSignature));
  EXPECT_FALSE(VerifyStandardWebhook(NewWhsecSecret(), kId, kTimestamp, kBody, kSignature));
  EXPECT_FALSE(VerifyStandardWebhook(kSecret, kId, kTimestamp, kBody,
                                     "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
  EXPECT_FALSE(VerifyStandardWebhook(kSecret, kId, kTimestamp, kBody, ""));
  EXPECT_FALSE(VerifyStandardWebhook("not-a-secret", kId, kTimestamp, kBody, kSignature));
}

TEST(WebhookSignature, DecodesWhsecKeys) {
  const auto key = DecodeWhsecKey(kSecret);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->size(), 24u);
  EXPECT_FALSE(DecodeWhsecKey("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").has_value());
  EXPECT_FALSE(DecodeWhsecKey("whsec_!!!!").has_value());
  const std::string fresh = NewWhsecSecret();
  EXPECT_NE(fresh, NewWhsecSecret());
  EXPECT_EQ(DecodeWhsecKey(fresh)->size(), 24u);
}

Headers SignedHeaders(const std::string& secret, const std::string& id, const std::string& ts,
                      const std::string& body) {
  return {{"Content-Type", "application/json"},
          {"webhook-id", id},
          {"webhook-timestamp", ts},
          {"webhook-signature", SignStandardWebhook(secret, id, ts, body)}};
}

TEST(Receiver, RecordsVerifiedAndForgedArrivals) {
  const std::string secret = NewWhsecSecret();
  Receiver receiver(secret);
  HttpClient client("http://127.0.0.1:" + std::to_string(receiver.port()));
  const std::string now = std::to_string(std::time(nullptr));
  const std::string body = R"({"event":"visitor.checked_in"})";

  EXPECT_EQ(client.Send("POST", "/hook", body, SignedHeaders(secret, "dlv_1", now, body)).status,
            204);
  // Signed with another key.
  EXPECT_EQ(client.Send("POST", "/hook", body, SignedHeaders(NewWhsecSecret(), "dlv_2", now, body))
                .status,
            204);
  // Right key, stale timestamp (outside the 5-minute tolerance).
  const std::string stale = std::to_string(std::time(nullptr) - 3600);
  EXPECT_EQ(client.Send("POST", "/hook", body, SignedHeaders(secret, "dlv_3", stale, body)).status,
            204);
  // Body changed after signing.
  Headers tampered = SignedHeaders(secret, "dlv_4", now, body);
  EXPECT_EQ(client.Send("POST", "/hook", body + " ", tampered).status, 204);

  const auto all = receiver.arrivals();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_TRUE(all[0].verified());
  EXPECT_EQ(all[0].webhook_id, "dlv_1");
  EXPECT_EQ(all[0].body, body);
  EXPECT_EQ(all[0].headers.at("content-type"), "application/json");
  EXPECT_FALSE(all[1].signature_valid);
  EXPECT_FALSE(all[1].verified());
  EXPECT_TRUE(all[2].signature_valid);
  EXPECT_FALSE(all[2].timestamp_fresh);
  EXPECT_FALSE(all[2].verified());
  EXPECT_FALSE(all[3].verified());
}

TEST(Receiver, FollowsItsScript) {
  Receiver receiver(NewWhsecSecret());
  HttpClient client("http://127.0.0.1:" + std::to_string(receiver.port()));
  receiver.FailFirst(2, 503);
  EXPECT_EQ(client.Send("POST", "/hook", "{}").status, 503);
  EXPECT_EQ(client.Send("POST", "/hook", "{}").status, 503);
  EXPECT_EQ(client.Send("POST", "/hook", "{}").status, 204);
  receiver.AnswerRateLimited("7");
  HttpResponse limited = client.Send("POST", "/hook", "{}");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "7");
  receiver.AnswerGone();
  EXPECT_EQ(client.Send("POST", "/hook", "{}").status, 410);
  receiver.RateLimitFirst(1, "1");
  receiver.Succeed();
  EXPECT_EQ(client.Send("POST", "/hook", "{}").status, 429);
  EXPECT_EQ(client.Send("POST", "/hook", "{}").status, 204);
  EXPECT_EQ(receiver.count(), 7u);
  EXPECT_EQ(receiver.accepted_count(), 2u);
  EXPECT_TRUE(receiver.WaitForCount(7, std::chrono::milliseconds(0)));
  EXPECT_FALSE(receiver.WaitForCount(8, std::chrono::milliseconds(10)));
}

}  // namespace
}  // namespace crmhost::testing
