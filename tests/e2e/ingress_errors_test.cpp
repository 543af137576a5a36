// The error contract of the ingress (docs/CONTRACTS.md "HTTP API"): every rejection answers JSON
// {"error", "message", "field"} with the documented status and code, and leaves nothing behind.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <sqlite3.h>

#include "e2e_fixture.h"

namespace crmhost::testing {
namespace {

constexpr const char* kKey = "acme-key";
constexpr const char* kThrottledKey = "throttled-key";
constexpr const char* kAdminKey = "admin-key-e2e";
constexpr const char* kKeepAliveKey = "keepalive-key";

class IngressErrorsTest : public E2eTest {
 protected:
  void SetUp() override {
    HostConfig config;
    config.max_body = "4KiB";
    config.admin_key = kAdminKey;
    config.tenants.push_back(Tenant("acme", kKey, receiver_));
    TenantSpec throttled = Tenant("throttled", kThrottledKey, throttled_receiver_);
    throttled.ingest_rate = 1;  // burst 2
    config.tenants.push_back(throttled);
    config.tenants.push_back(Tenant("keepalive", kKeepAliveKey, keepalive_receiver_));
    StartHost(config);
  }

  // Checks the error shape and returns the "field" value ("" when null).
  static std::string ExpectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0u)
        << "content-type '" << r.header("content-type") << "' for " << r.body;
    Poco::JSON::Object::Ptr obj;
    try {
      obj = r.json();
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return "";
    }
    EXPECT_EQ(JsonString(obj, "error"), code) << r.body;
    const std::string message = JsonString(obj, "message");
    EXPECT_FALSE(message.empty()) << r.body;
    EXPECT_NE(message, code) << "the message should say more than the code: " << r.body;
    EXPECT_TRUE(obj->has("field")) << "\"field\" must be present (a path or null): " << r.body;
    return JsonString(obj, "field");
  }

  HttpResponse Post(const std::string& body, const std::string& key = kKey) {
    return Client().PostJson("/v1/events", body, key);
  }

  // Nothing of a rejected request may remain: acme only ever sends rejected requests, so it has
  // no delivery at all (a stored event would have created one at once).
  void TearDown() override {
    if (!HasFailure() && host_) {
      EXPECT_TRUE(ListDeliveries(Client(), kKey).empty()) << "a rejected request left a delivery";
      EXPECT_EQ(receiver_.count(), 0u);
    }
    E2eTest::TearDown();
  }

  Receiver receiver_{NewWhsecSecret()};
  Receiver throttled_receiver_{NewWhsecSecret()};
  Receiver keepalive_receiver_{NewWhsecSecret()};
};

// `body` with the first occurrence of `from` replaced by `to`.
std::string Replace(std::string body, const std::string& from, const std::string& to) {
  const size_t at = body.find(from);
  if (at == std::string::npos) throw std::invalid_argument("no " + from + " in " + body);
  return body.replace(at, from.size(), to);
}

TEST_F(IngressErrorsTest, MalformedJsonIs400BadJson) {
  const std::string truncated = VisitorEvent(kCheckedIn).substr(0, 40);
  ExpectError(Post(truncated), 400, "bad_json");
  ExpectError(Post(""), 400, "bad_json");
  ExpectError(Post("{\"event\": \"visitor.checked_in\",}"), 400, "bad_json");
  ExpectError(Post("[" + VisitorEvent(kCheckedIn) + "]"), 400, "bad_json");
}

TEST_F(IngressErrorsTest, MissingFieldIs400NamingTheField) {
  const std::string ok = VisitorEvent(kCheckedIn, "x@example.com");
  EXPECT_EQ(
      ExpectError(Post(Replace(ok, R"("event":"visitor.checked_in",)", "")), 400, "missing_field"),
      "event");
  EXPECT_EQ(ExpectError(Post(Replace(ok, R"("email":"x@example.com",)", "")), 400, "missing_field"),
            "visitor.email");
  EXPECT_EQ(ExpectError(Post(Replace(ok, R"("site":"Munich HQ",)", "")), 400, "missing_field"),
            "visit.site");
  EXPECT_EQ(ExpectError(Post(Replace(ok, R"("timestamp":"2026-04-15T10:05:00Z",)", "")), 400,
                        "missing_field"),
            "timestamp");
}

TEST_F(IngressErrorsTest, WrongFieldIs400BadFieldNamingTheField) {
  const std::string ok = VisitorEvent(kCheckedIn, "x@example.com");
  EXPECT_EQ(
      ExpectError(Post(Replace(ok, "visitor.checked_in", "visitor.teleported")), 400, "bad_field"),
      "event");
  EXPECT_EQ(ExpectError(Post(Replace(ok, R"("event":"visitor.checked_in")", R"("event":7)")), 400,
                        "bad_field"),
            "event");
  EXPECT_EQ(ExpectError(Post(Replace(ok, R"("email":"x@example.com")", R"("email":42)")), 400,
                        "bad_field"),
            "visitor.email");
  EXPECT_EQ(ExpectError(Post(R"({"event":"visitor.checked_in","timestamp":"2026-04-15T10:05:00Z",)"
                             R"("visitor":"Jane","visit":{"host":"John Doe","site":"Munich HQ"}})"),
                        400, "bad_field"),
            "visitor");
}

TEST_F(IngressErrorsTest, MissingOrWrongKeyIs401) {
  const std::string ok = VisitorEvent(kCheckedIn);
  ExpectError(Client().Send("POST", "/v1/events", ok, {{"Content-Type", "application/json"}}), 401,
              "unauthorized");
  ExpectError(Post(ok, "not-a-key"), 401, "unauthorized");
  ExpectError(Client().Send("POST", "/v1/events", ok,
                            {{"Content-Type", "application/json"}, {"Authorization", kKey}}),
              401, "unauthorized");
  ExpectError(Client().Get("/v1/deliveries"), 401, "unauthorized");
  ExpectError(Client().Get("/v1/deliveries", "not-a-key"), 401, "unauthorized");
  ExpectError(Client().Get("/v1/plugins"), 401, "unauthorized");
}

TEST_F(IngressErrorsTest, WrongKindOfKeyIs403) {
  ExpectError(Post(VisitorEvent(kCheckedIn), kAdminKey), 403, "forbidden");
  ExpectError(Client().Get("/v1/deliveries", kAdminKey), 403, "forbidden");
  // ... but may read the plugins.
  EXPECT_EQ(Client().Get("/v1/plugins", kAdminKey).status, 200);
  // A tenant key may not reload adapters.
  ExpectError(Client().PostJson("/v1/plugins/webhook/reload", "{}", kKey), 403, "forbidden");
}

TEST_F(IngressErrorsTest, UnknownPathIs404) {
  ExpectError(Client().Get("/v1/nothing-here", kKey), 404, "not_found");
  ExpectError(Client().Get("/", kKey), 404, "not_found");
  ExpectError(Client().PostJson("/v1/deliveries/dlv_00000000000000000000000000/replay", "", kKey),
              404, "not_found");
}

TEST_F(IngressErrorsTest, WrongMethodIs405) {
  ExpectError(Client().Get("/v1/events", kKey), 405, "method_not_allowed");
  ExpectError(Client().Send("DELETE", "/v1/events", "", {{"Authorization", "Bearer acme-key"}}),
              405, "method_not_allowed");
  ExpectError(Client().PostJson("/v1/deliveries", "{}", kKey), 405, "method_not_allowed");
  ExpectError(Client().PostJson("/healthz", "{}", ""), 405, "method_not_allowed");
}

TEST_F(IngressErrorsTest, BodyOverMaxBodyIs413) {
  std::string big = VisitorEvent(kCheckedIn);
  big.insert(big.size() - 1, R"(,"padding":")" + std::string(5000, 'x') + "\"");
  ExpectError(Post(big), 413, "too_large");
}

TEST_F(IngressErrorsTest, NonJsonContentTypeIs415) {
  const std::string ok = VisitorEvent(kCheckedIn);
  ExpectError(Client().Send("POST", "/v1/events", ok,
                            {{"Content-Type", "text/plain"}, {"Authorization", "Bearer acme-key"}}),
              415, "unsupported_media_type");
  ExpectError(Client().Send("POST", "/v1/events", ok, {{"Authorization", "Bearer acme-key"}}), 415,
              "unsupported_media_type");
  // A charset parameter is still JSON.
  const HttpResponse with_charset =
      Client().Send("POST", "/v1/events", VisitorEvent(kCheckedIn, "charset@example.com"),
                    {{"Content-Type", "application/json; charset=utf-8"},
                     {"Authorization", "Bearer throttled-key"}});
  EXPECT_EQ(with_charset.status, 202) << with_charset.body;
  WaitForDeliveries(kThrottledKey, JsonString(with_charset.json(), "id"), "delivered");
}

TEST_F(IngressErrorsTest, OverTheTenantIngestRateIs429WithRetryAfter) {
  int accepted = 0;
  HttpResponse limited;
  for (int i = 0; i < 10 && limited.status == 0; ++i) {
    HttpResponse r =
        Post(VisitorEvent(kCheckedIn, "r" + std::to_string(i) + "@example.com"), kThrottledKey);
    if (r.status == 202) {
      ++accepted;
    } else {
      limited = r;
    }
  }
  ExpectError(limited, 429, "rate_limited");
  EXPECT_FALSE(limited.header("retry-after").empty());
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 3);  // rate 1/s, burst 2
  // Only the accepted events were stored.
  EXPECT_EQ(ListDeliveries(Client(), kThrottledKey).size(), static_cast<size_t>(accepted));
}

// Clients keep connections alive (HTTP/1.1 default). A request rejected before its body was read
// must not poison the next request on the same connection.
TEST_F(IngressErrorsTest, ConnectionStaysUsableAfterARejection) {
  const Poco::URI base(host_->base_url());
  const std::string ok = VisitorEvent(kCheckedIn, "keepalive@example.com");
  struct Case {
    std::string what;
    std::string content_type;
    std::string key;
    std::string body;
    int status;
  };
  const std::vector<Case> cases = {
      {"415", "text/plain", kKeepAliveKey, ok, 415},
      {"401", "application/json", "wrong-key", ok, 401},
      {"403", "application/json", kAdminKey, ok, 403},
      {"413", "application/json", kKeepAliveKey, std::string(5000, ' ') + ok, 413},
  };
  for (const Case& c : cases) {
    Poco::Net::HTTPClientSession session(base.getHost(), base.getPort());
    session.setKeepAlive(true);
    session.setTimeout(Poco::Timespan(10, 0));
    auto exchange = [&](const std::string& content_type, const std::string& key,
                        const std::string& body) {
      Poco::Net::HTTPRequest request("POST", "/v1/events", Poco::Net::HTTPMessage::HTTP_1_1);
      request.setKeepAlive(true);
      request.setContentType(content_type);
      request.set("Authorization", "Bearer " + key);
      request.setContentLength(static_cast<std::streamsize>(body.size()));
      session.sendRequest(request) << body;
      Poco::Net::HTTPResponse response;
      HttpResponse r;
      std::istream& in = session.receiveResponse(response);
      r.status = static_cast<int>(response.getStatus());
      Poco::StreamCopier::copyToString(in, r.body);
      return r;
    };
    const HttpResponse rejected = exchange(c.content_type, c.key, c.body);
    EXPECT_EQ(rejected.status, c.status) << c.what << ": " << rejected.body;
    const HttpResponse next = exchange("application/json", kKeepAliveKey, ok);
    EXPECT_EQ(next.status, 202) << "after a " << c.what
                                << " on the same connection, a valid event got: " << next.body;
  }
}

// The reason phrase is only informational, but it must not contradict the status ("415 OK").
TEST_F(IngressErrorsTest, StatusLineReasonMatchesTheStatus) {
  const HttpResponse accepted = Post(VisitorEvent(kCheckedIn), kKeepAliveKey);
  EXPECT_EQ(accepted.status, 202);
  EXPECT_EQ(accepted.reason, "Accepted");
  for (const HttpResponse& r :
       {Post("{"), Post(VisitorEvent(kCheckedIn), "not-a-key"), Client().Get("/nothing", kKey),
        Client().Send("POST", "/v1/events", "{}", {{"Content-Type", "text/plain"}})}) {
    EXPECT_GE(r.status, 400);
    EXPECT_EQ(r.reason, Poco::Net::HTTPResponse::getReasonForStatus(
                            static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status)))
        << "status line: " << r.status << " " << r.reason;
  }
}

TEST_F(E2eTest, ReadinessFailsWhileAnIntegrationHasNoAdapter) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  TenantSpec t = Tenant("acme", "acme-key", receiver);
  IntegrationSpec missing = t.integrations[0];
  missing.id = "needs-missing-adapter";
  missing.adapter = "nosuchadapter";
  t.integrations.push_back(missing);
  config.tenants.push_back(t);
  StartHost(config);
  const HttpResponse ready = Client().Get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(JsonString(ready.json(), "status"), "ready") << ready.body;
  EXPECT_NE(ready.body.find("needs-missing-adapter"), std::string::npos) << ready.body;
  EXPECT_EQ(Client().Get("/healthz").status, 200);
}

// While the store cannot commit (here another process holds the database's write lock past
// crmhost's busy timeout), POST /v1/events answers 503 with Retry-After and stores nothing; once
// the lock is gone it accepts again.
TEST_F(E2eTest, AStoreThatCannotCommitAnswers503AndKeepsNothing) {
  Receiver receiver(NewWhsecSecret());
  HostConfig config;
  config.tenants.push_back(Tenant("acme", "acme-key", receiver));
  StartHost(config);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "data" / "crmhost.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  const HttpResponse refused = Client().PostJson("/v1/events", VisitorEvent(kCheckedIn), "acme-key");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_EQ(refused.header("content-type"), "application/json");
  EXPECT_EQ(JsonString(refused.json(), "error"), "unavailable") << refused.body;

  const std::string id = PostEvent("acme-key", VisitorEvent(kCheckedOut));
  WaitForDeliveries("acme-key", id, "delivered");
  EXPECT_EQ(ListDeliveries(Client(), "acme-key").size(), 1u) << "the refused event was kept";
}

}  // namespace
}  // namespace crmhost::testing
