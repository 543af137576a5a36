// The webhook adapter, loaded from the real built webhook.so and driven through a fake host:
// http_send records the request and answers from a script; hmac_sha256 is real (OpenSSL, here
// in the test only) over a whsec_ secret the fake host holds, as the real host would.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sdk/loaded_adapter.hpp"

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The Standard Webhooks published test vector (webhook-delivery-survey.md §1.1).
constexpr const char* kVectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kVectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kVectorWallMs = 1614265330000;
constexpr const char* kVectorBody = "{\"test\": 2432232314}";
constexpr const char* kVectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

constexpr int64_t kNowMs = 5'000'000;  // the fake monotonic clock
const std::string kEventType = "visitor.checked_in";

std::string text(crmh_str s) { return s.len == 0 ? std::string() : std::string(s.ptr, s.len); }
crmh_str str(const std::string& s) { return crmh_str{s.data(), s.size()}; }

// HMAC-SHA256 under a Standard Webhooks secret: "whsec_" + base64(key).
bool whsec_hmac(const std::string& secret, const std::string& message, uint8_t out[32]) {
  const std::string prefix = "whsec_";
  if (secret.compare(0, prefix.size(), prefix) != 0) return false;
  const std::string b64 = secret.substr(prefix.size());
  std::vector<unsigned char> key(b64.size());
  int n = EVP_DecodeBlock(key.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the bytes the padding stands for; they are not key bytes.
  for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) --n;
  unsigned int len = 32;
  return HMAC(EVP_sha256(), key.data(), n, reinterpret_cast<const unsigned char*>(message.data()),
              message.size(), out, &len) != nullptr;
}

// A host that records what the adapter sends and answers from a script. Passed to the adapter
// both as host_ctx and, cast, as the crmh_call of every call.
struct FakeHost {
  struct Request {
    std::string method, url, body;
    Headers headers;
    int64_t deadline_ms = 0;
    std::optional<std::string> header(const std::string& name) const {
      for (const auto& [n, v] : headers) {
        if (n == name) return v;
      }
      return std::nullopt;
    }
  };

  FakeHost() {
    api.struct_size = sizeof api;
    api.abi_major = CRMH_ABI_MAJOR;
    api.abi_minor = CRMH_ABI_MINOR;
    api.log = [](void* ctx, int32_t, crmh_str message) {
      static_cast<FakeHost*>(ctx)->logs.push_back(text(message));
    };
    api.wall_clock_ms = [](void* ctx) { return static_cast<FakeHost*>(ctx)->wall_ms; };
    api.monotonic_ms = [](void*) { return kNowMs; };
    api.http_send = [](crmh_call* call, const crmh_http_request* req, crmh_http_response* out) {
      return reinterpret_cast<FakeHost*>(call)->send(*req, *out);
    };
    api.hmac_sha256 = [](crmh_call* call, crmh_str name, uint32_t format, crmh_str message,
                         uint8_t out[32]) {
      return reinterpret_cast<FakeHost*>(call)->hmac(text(name), format, text(message), out);
    };
  }

  crmh_status send(const crmh_http_request& req, crmh_http_response& out) {
    Request r{text(req.method), text(req.url), text(req.body), {}, req.deadline_ms};
    for (size_t i = 0; i < req.header_count; ++i) {
      r.headers.emplace_back(text(req.headers[i].name), text(req.headers[i].value));
    }
    requests.push_back(std::move(r));
    if (transport_error != CRMH_NET_OK) {
      out.transport_error = transport_error;
      return transport_error == CRMH_NET_BAD_URL ? CRMH_PERMANENT : CRMH_RETRY;
    }
    response_header_structs.clear();
    for (const auto& [n, v] : response_headers) {
      response_header_structs.push_back(crmh_header{str(n), str(v)});
    }
    out.status = status;
    out.headers = response_header_structs.data();
    out.header_count = response_header_structs.size();
    out.body = str(response_body);
    return CRMH_OK;
  }

  crmh_status hmac(const std::string& name, uint32_t format, const std::string& message,
                   uint8_t out[32]) {
    ++hmac_calls;
    auto secret = secrets.find(name);
    if (secret == secrets.end() || format != CRMH_KEY_WHSEC_BASE64) return CRMH_BAD_CONFIG;
    return whsec_hmac(secret->second, message, out) ? CRMH_OK : CRMH_BAD_CONFIG;
  }

  crmh_call* call() { return reinterpret_cast<crmh_call*>(this); }

  crmh_host_api api{};
  int64_t wall_ms = kVectorWallMs;
  std::map<std::string, std::string> secrets{{"secret", kVectorSecret}};
  int32_t transport_error = CRMH_NET_OK;  // the scripted answer
  int32_t status = 204;
  Headers response_headers;
  std::string response_body;
  std::vector<Request> requests;  // what was recorded
  std::vector<std::string> logs;
  int hmac_calls = 0;
  std::vector<crmh_header> response_header_structs;  // storage behind the last answer
};

crmh_result fresh_result() {
  crmh_result r{};
  r.struct_size = sizeof r;
  return r;
}

class WebhookTest : public ::testing::Test {
 protected:
  explicit WebhookTest(const char* path = CRMH_WEBHOOK_SO) : adapter_(path) {}
  void SetUp() override {
    descriptor_ = adapter_.descriptor();
    ASSERT_NE(descriptor_, nullptr);
  }
  void TearDown() override {
    if (instance_ != nullptr) descriptor_->destroy(instance_);
  }

  crmh_status create(const std::string& config) {
    result_ = fresh_result();
    return descriptor_->create(&host_.api, &host_, str(config), &instance_, &result_);
  }
  void create_ok(const std::string& config) {
    ASSERT_EQ(create(config), CRMH_OK) << result_.message;
  }

  crmh_status deliver(const std::string& id, const std::string& body, int64_t deadline_ms = 0) {
    crmh_delivery d{};
    d.struct_size = sizeof d;
    d.attempt = 1;
    d.delivery_id = str(id);
    d.event_type = str(kEventType);
    d.deadline_ms = deadline_ms;
    d.payload_schema_version = 1;
    d.payload_json = str(body);
    result_ = fresh_result();
    return descriptor_->deliver(instance_, host_.call(), &d, &result_);
  }

  const FakeHost::Request& sent() const { return host_.requests.at(0); }

  crmh_test::LoadedAdapter adapter_;
  const crmh_adapter* descriptor_ = nullptr;
  FakeHost host_;
  void* instance_ = nullptr;
  crmh_result result_{};
};

const std::string kSigned =
    R"j({"url": "https://receiver.test/hook", "secret": "(held by host)"})j";
const std::string kUnsigned = R"j({"url": "http://127.0.0.1:9090/hook"})j";

TEST_F(WebhookTest, Descriptor) {
  EXPECT_EQ(descriptor_->struct_size, sizeof(crmh_adapter));
  EXPECT_EQ(descriptor_->abi_major, CRMH_ABI_MAJOR);
  EXPECT_STREQ(descriptor_->build_signature, CRMH_BUILD_SIGNATURE);
  EXPECT_STREQ(descriptor_->name, "webhook");
  EXPECT_STREQ(descriptor_->version, "1.0.0");
  EXPECT_EQ(descriptor_->flags, CRMH_FLAG_INSTANCE_THREADSAFE);
  EXPECT_EQ(descriptor_->lookup_contact, nullptr);  // one-directional per the product docs
  EXPECT_NE(descriptor_->test_connection, nullptr);
  EXPECT_EQ(adapter_.descriptor(CRMH_ABI_MAJOR + 1, 0), nullptr);
}

TEST_F(WebhookTest, SignsThePublishedStandardWebhooksVector) {
  create_ok(kSigned);
  ASSERT_EQ(deliver(kVectorId, kVectorBody), CRMH_OK) << result_.message;
  ASSERT_EQ(host_.requests.size(), 1u);
  EXPECT_EQ(sent().header("webhook-signature"), kVectorSignature);
  EXPECT_EQ(sent().header("webhook-id"), kVectorId);
  EXPECT_EQ(sent().header("webhook-timestamp"), "1614265330");
  EXPECT_EQ(host_.hmac_calls, 1);
}

TEST_F(WebhookTest, PostsThePayloadUnchangedWithItsHeaders) {
  create_ok(kSigned);
  const std::string body =
      "{\"event\":\"visitor.checked_in\",\"visitor\":{\"name\":\"J\\u00f6rg\"}}";
  ASSERT_EQ(deliver("dlv_0123456789abcdef0123456789", body), CRMH_OK);
  EXPECT_EQ(sent().method, "POST");
  EXPECT_EQ(sent().url, "https://receiver.test/hook");
  EXPECT_EQ(sent().body, body);
  EXPECT_EQ(sent().header("content-type"), "application/json");
  EXPECT_EQ(sent().header("user-agent"), "crmhost-webhook/1.0.0");
  EXPECT_EQ(sent().header("x-crmhost-adapter-version"), "1.0.0");
  EXPECT_EQ(sent().header("webhook-id"), "dlv_0123456789abcdef0123456789");
}

TEST_F(WebhookTest, UnsignedWithoutSecret) {
  create_ok(kUnsigned);
  ASSERT_EQ(deliver("dlv_1", "{}"), CRMH_OK);
  EXPECT_EQ(sent().header("webhook-signature"), std::nullopt);
  EXPECT_EQ(sent().header("webhook-id"), "dlv_1");
  EXPECT_EQ(host_.hmac_calls, 0);
}

TEST_F(WebhookTest, NullSecretMeansUnsigned) {
  create_ok(R"j({"url": "http://r.test/", "secret": null})j");
  ASSERT_EQ(deliver("dlv_1", "{}"), CRMH_OK);
  EXPECT_EQ(sent().header("webhook-signature"), std::nullopt);
}

TEST_F(WebhookTest, SecretTheHostCannotUseFailsWithoutSending) {
  host_.secrets.clear();
  create_ok(kSigned);
  EXPECT_EQ(deliver("dlv_1", "{}"), CRMH_BAD_CONFIG);
  EXPECT_TRUE(host_.requests.empty());
  EXPECT_NE(std::string(result_.message).find("secret"), std::string::npos);
}

TEST_F(WebhookTest, DeadlineIsTheSoonerOfDeliveryAndTimeout) {
  create_ok(R"j({"url": "http://r.test/", "timeout_ms": 2000})j");
  ASSERT_EQ(deliver("dlv_1", "{}", kNowMs + 500), CRMH_OK);
  ASSERT_EQ(deliver("dlv_2", "{}", kNowMs + 60000), CRMH_OK);
  ASSERT_EQ(deliver("dlv_3", "{}", 0), CRMH_OK);  // no delivery deadline
  EXPECT_EQ(host_.requests.at(0).deadline_ms, kNowMs + 500);
  EXPECT_EQ(host_.requests.at(1).deadline_ms, kNowMs + 2000);
  EXPECT_EQ(host_.requests.at(2).deadline_ms, kNowMs + 2000);
}

TEST_F(WebhookTest, DefaultTimeoutIs15Seconds) {
  create_ok(kUnsigned);
  ASSERT_EQ(deliver("dlv_1", "{}", kNowMs + 60000), CRMH_OK);
  EXPECT_EQ(sent().deadline_ms, kNowMs + 15000);
}

TEST_F(WebhookTest, IdThatWouldBreakTheSignedContentIsRefused) {
  create_ok(kSigned);
  EXPECT_EQ(deliver("dlv.1", "{}"), CRMH_PERMANENT);
  EXPECT_EQ(deliver("dlv\r\nx: y", "{}"), CRMH_PERMANENT);
  EXPECT_TRUE(host_.requests.empty());
}

TEST_F(WebhookTest, MessageIsBoundedAndNeverHoldsTheSecretOrUrl) {
  create_ok(R"j({"url": "https://user:pw@r.test/hook?token=abc", "secret": "(held by host)"})j");
  host_.status = 500;
  host_.response_body = std::string(10000, 'e');
  EXPECT_EQ(deliver("dlv_1", "{}"), CRMH_RETRY);
  const std::string message = result_.message;
  EXPECT_LT(message.size(), static_cast<size_t>(CRMH_MESSAGE_MAX));
  EXPECT_NE(message.find("HTTP 500"), std::string::npos);
  EXPECT_NE(message.find("eeee"), std::string::npos);  // the receiver's explanation, cut short
  EXPECT_EQ(message.find("MfKQ9r8G"), std::string::npos);
  EXPECT_EQ(message.find("pw@"), std::string::npos);
  EXPECT_EQ(message.find("token"), std::string::npos);
}

TEST_F(WebhookTest, TestConnectionPostsASignedPing) {
  create_ok(kSigned);
  crmh_result result = fresh_result();
  EXPECT_EQ(descriptor_->test_connection(instance_, host_.call(), &result), CRMH_OK);
  ASSERT_EQ(host_.requests.size(), 1u);
  EXPECT_EQ(sent().method, "POST");
  EXPECT_EQ(sent().body, R"j({"type":"crmhost.test"})j");
  EXPECT_EQ(sent().header("webhook-id"), "crmhost_test_1614265330000");
  EXPECT_TRUE(sent().header("webhook-signature").has_value());
  EXPECT_EQ(sent().deadline_ms, kNowMs + 15000);
}

TEST_F(WebhookTest, ConfigWithUnknownKeysAndEscapes) {
  create_ok(R"j( { "events": ["visitor.pre_registered", {"nested": [1, -2.5e3, true, null]}],
                  "label\u00e9\ud83d\ude00": "x", "url": "http:\/\/r.test\/h%20ook",
                  "timeout_ms": 100 } )j");
  ASSERT_EQ(deliver("dlv_1", "{}", 0), CRMH_OK);
  EXPECT_EQ(sent().url, "http://r.test/h%20ook");
  EXPECT_EQ(sent().deadline_ms, kNowMs + 100);
}

// ---- classification -----------------------------------------------------------------------

struct Answer {
  const char* name;
  int32_t transport_error;
  int32_t status;
  Headers headers;
  crmh_status expected;
  int64_t retry_after_ms;
  const char* message_part;
};

class WebhookClassification : public WebhookTest, public ::testing::WithParamInterface<Answer> {};

TEST_P(WebhookClassification, Classifies) {
  const Answer& a = GetParam();
  create_ok(kSigned);
  host_.transport_error = a.transport_error;
  host_.status = a.status;
  host_.response_headers = a.headers;
  EXPECT_EQ(deliver("dlv_1", "{}"), a.expected) << result_.message;
  EXPECT_EQ(result_.http_status, a.transport_error == CRMH_NET_OK ? a.status : 0);
  EXPECT_EQ(result_.retry_after_ms, a.retry_after_ms);
  EXPECT_NE(std::string(result_.message).find(a.message_part), std::string::npos)
      << result_.message;
}

INSTANTIATE_TEST_SUITE_P(
    Answers, WebhookClassification,
    ::testing::Values(Answer{"ok200", CRMH_NET_OK, 200, {}, CRMH_OK, 0, "HTTP 200"},
                      Answer{"ok204", CRMH_NET_OK, 204, {}, CRMH_OK, 0, "HTTP 204"},
                      Answer{"redirect301",
                             CRMH_NET_OK,
                             301,
                             {{"location", "http://x/"}},
                             CRMH_RETRY,
                             0,
                             "redirect not followed"},
                      Answer{"gone410", CRMH_NET_OK, 410, {}, CRMH_PERMANENT, 0, "410"},
                      Answer{"throttled429",
                             CRMH_NET_OK,
                             429,
                             {{"Retry-After", "7"}},
                             CRMH_RATE_LIMITED,
                             7000,
                             "7000 ms"},
                      Answer{"throttled429CaseAndSpaces",
                             CRMH_NET_OK,
                             429,
                             {{"RETRY-AFTER", " 12 "}},
                             CRMH_RATE_LIMITED,
                             12000,
                             "HTTP 429"},
                      Answer{"throttled429HttpDate",
                             CRMH_NET_OK,
                             429,
                             {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}},
                             CRMH_RATE_LIMITED,
                             0,
                             "unknown"},
                      Answer{
                          "unavailable503", CRMH_NET_OK, 503, {}, CRMH_RATE_LIMITED, 0, "HTTP 503"},
                      Answer{"unavailable503After",
                             CRMH_NET_OK,
                             503,
                             {{"retry-after", "120"}},
                             CRMH_RATE_LIMITED,
                             120000,
                             "HTTP 503"},
                      Answer{"server500", CRMH_NET_OK, 500, {}, CRMH_RETRY, 0, "HTTP 500"},
                      Answer{"server500After",
                             CRMH_NET_OK,
                             500,
                             {{"retry-after", "9"}},
                             CRMH_RETRY,
                             9000,
                             "9000 ms"},
                      Answer{"throttled429Garbage",
                             CRMH_NET_OK,
                             429,
                             {{"retry-after", "7s"}},
                             CRMH_RATE_LIMITED,
                             0,
                             "unknown"},
                      Answer{"notFound404", CRMH_NET_OK, 404, {}, CRMH_RETRY, 0, "HTTP 404"},
                      Answer{"unauthorized401", CRMH_NET_OK, 401, {}, CRMH_RETRY, 0, "HTTP 401"},
                      Answer{"timeout", CRMH_NET_TIMEOUT, 0, {}, CRMH_RETRY, 0, "timeout"},
                      Answer{"reset", CRMH_NET_RESET, 0, {}, CRMH_RETRY, 0, "reset"},
                      Answer{"connect", CRMH_NET_CONNECT, 0, {}, CRMH_RETRY, 0, "connect"},
                      Answer{"tls", CRMH_NET_TLS, 0, {}, CRMH_RETRY, 0, "TLS"},
                      Answer{"badUrl", CRMH_NET_BAD_URL, 0, {}, CRMH_PERMANENT, 0, "URL"}),
    [](const ::testing::TestParamInfo<Answer>& info) { return std::string(info.param.name); });

// ---- bad config ---------------------------------------------------------------------------

struct BadConfig {
  const char* name;
  const char* json;
  const char* message_part;
};

class WebhookBadConfig : public WebhookTest, public ::testing::WithParamInterface<BadConfig> {};

TEST_P(WebhookBadConfig, IsRefusedWithAClearMessage) {
  const BadConfig& c = GetParam();
  EXPECT_EQ(create(c.json), CRMH_BAD_CONFIG);
  EXPECT_EQ(instance_, nullptr);
  EXPECT_NE(std::string(result_.message).find(c.message_part), std::string::npos)
      << result_.message;
}

INSTANTIATE_TEST_SUITE_P(
    Configs, WebhookBadConfig,
    ::testing::Values(
        BadConfig{"missingUrl", R"j({"secret": "(held by host)"})j", "url is required"},
        BadConfig{"emptyObject", "{}", "url is required"},
        BadConfig{"ftpUrl", R"j({"url": "ftp://r.test/"})j", "http:// or https://"},
        BadConfig{"relativeUrl", R"j({"url": "/hook"})j", "http:// or https://"},
        BadConfig{"noHost", R"j({"url": "https:///hook"})j", "no host"},
        BadConfig{"spaceInUrl", R"j({"url": "http://r.test/a b"})j", "space"},
        BadConfig{"urlNotString", R"j({"url": 42})j", "url must be a string"},
        BadConfig{"truncated", R"j({"url": )j", "malformed JSON"},
        BadConfig{"unterminatedString", R"j({"url": "http://r.test/)j", "malformed JSON"},
        BadConfig{"notAnObject", R"j(["http://r.test/"])j", "malformed JSON"},
        BadConfig{"empty", "", "malformed JSON"},
        BadConfig{"trailing", R"j({"url": "http://r.test/"} x)j", "trailing"},
        BadConfig{"missingComma", R"j({"url": "http://r.test/" "a": 1})j", "malformed JSON"},
        BadConfig{"trailingComma", R"j({"url": "http://r.test/",})j", "malformed JSON"},
        BadConfig{"singleQuotes", R"j({'url': 'http://r.test/'})j", "malformed JSON"},
        BadConfig{"badEscape", R"j({"url": "http://r.test/\x"})j", "bad escape"},
        BadConfig{"loneSurrogate", R"j({"url": "http://r.test/\ud800"})j", "surrogate"},
        BadConfig{"controlChar", "{\"url\": \"http://r.test/\n\"}", "control character"},
        BadConfig{"badNumberInUnknownKey", R"j({"url": "http://r.test/", "x": 01})j",
                  "malformed JSON"},
        BadConfig{
            "tooDeep",
            R"j({"url": "http://r.test/", "x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})j",
            "nested too deeply"},
        BadConfig{"duplicateUrl", R"j({"url": "http://a.test/", "url": "http://b.test/"})j",
                  "duplicate key \"url\""},
        BadConfig{"negativeTimeout", R"j({"url": "http://r.test/", "timeout_ms": -5})j",
                  "timeout_ms"},
        BadConfig{"fractionalTimeout", R"j({"url": "http://r.test/", "timeout_ms": 1.5})j",
                  "timeout_ms"},
        BadConfig{"stringTimeout", R"j({"url": "http://r.test/", "timeout_ms": "5s"})j",
                  "timeout_ms"},
        BadConfig{"secretNotString", R"j({"url": "http://r.test/", "secret": true})j",
                  "secret must be"}),
    [](const ::testing::TestParamInfo<BadConfig>& info) { return std::string(info.param.name); });

// ---- a build with another version (hot-reload generations) --------------------------------

class WebhookVariantTest : public WebhookTest {
 protected:
  WebhookVariantTest() : WebhookTest(CRMH_WEBHOOK_VARIANT_SO) {}
};

TEST_F(WebhookVariantTest, VersionOverrideReachesDescriptorAndHeaders) {
  EXPECT_STREQ(descriptor_->version, "9.9.9-test");
  create_ok(kUnsigned);
  ASSERT_EQ(deliver("dlv_1", "{}"), CRMH_OK);
  EXPECT_EQ(sent().header("user-agent"), "crmhost-webhook/9.9.9-test");
  EXPECT_EQ(sent().header("x-crmhost-adapter-version"), "9.9.9-test");
}

}  // namespace
