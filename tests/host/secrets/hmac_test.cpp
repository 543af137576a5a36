#include "secrets/hmac.h"

#include <crmhost/adapter.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace crmhost {
namespace {

// The published Standard Webhooks vector (reference/webhook-delivery-survey.md §1.1).
const char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const char kId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const char kTimestamp[] = "1614265330";
const char kBody[] = "{\"test\": 2432232314}";
const char kSignature[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(StandardWebhooks, SignsThePublishedVector) {
  auto sig = standard_webhooks_signature(kSecret, kId, kTimestamp, kBody);
  ASSERT_TRUE(sig.ok()) << sig.error();
  EXPECT_EQ(*sig, kSignature);
}

TEST(StandardWebhooks, VerifiesAnyMatchingEntryAndRejectsTampering) {
  EXPECT_TRUE(standard_webhooks_verify(kSecret, kId, kTimestamp, kBody, kSignature));
  EXPECT_TRUE(standard_webhooks_verify(kSecret, kId, kTimestamp, kBody,
                                       std::string("v1,bm90LXRoaXM= ") + kSignature));
  EXPECT_FALSE(standard_webhooks_verify(kSecret, kId, kTimestamp, "{\"test\": 2432232315}", kSignature));
  EXPECT_FALSE(standard_webhooks_verify(kSecret, kId, "1614265331", kBody, kSignature));
  EXPECT_FALSE(standard_webhooks_verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", kId, kTimestamp, kBody, kSignature));
  EXPECT_FALSE(standard_webhooks_verify(kSecret, kId, kTimestamp, kBody, ""));
}

TEST(StandardWebhooks, RejectsASecretThatIsNotBase64WithoutEchoingIt) {
  auto key = decode_secret_key("whsec_not*base64!", CRMH_KEY_WHSEC_BASE64);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().find("not*base64"), std::string::npos);
  EXPECT_EQ(*decode_secret_key("raw", CRMH_KEY_RAW), "raw");
}

// A prepared key signs exactly as the one-shot HMAC, for every key length (an empty key, one
// longer than SHA-256's block, which HMAC hashes first), again and again and from many threads.
TEST(PreparedHmacKey, SignsAsTheOneShotHmacForEveryKeyAndMessage) {
  const std::string message = std::string(kId) + "." + kTimestamp + "." + kBody;
  for (const std::string& key : {std::string(), std::string("k"), std::string(100, 'x'),
                                *decode_secret_key(kSecret, CRMH_KEY_WHSEC_BASE64)}) {
    auto prepared = PreparedHmacKey::prepare(key);
    ASSERT_TRUE(prepared.ok()) << prepared.error();
    for (const std::string& m : {std::string(), message, std::string(5000, 'm')}) {
      EXPECT_EQ((*prepared)->sign(m), hmac_sha256(key, m)) << key.size() << " " << m.size();
      EXPECT_EQ((*prepared)->sign(m), hmac_sha256(key, m)) << "signing twice";
    }
  }
  auto shared = PreparedHmacKey::prepare("shared");
  ASSERT_TRUE(shared.ok());
  const auto expected = hmac_sha256("shared", message);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) mismatches += (*shared)->sign(message) != expected;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace crmhost
