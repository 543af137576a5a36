#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace crmhost {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& yaml) {
    path_ = std::filesystem::temp_directory_path() /
            ("crmhost-config-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".yaml");
    std::ofstream(path_) << yaml;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
  int counter_ = 0;
};

const char kValid[] = R"(listen: 127.0.0.1:0
data_dir: /tmp/x
retry: { base: 20ms, cap: 1s, attempts: 4 }
max_body: 64KiB
tenants:
  - id: acme
    api_keys: [ "env:CRMHOST_TEST_KEY" ]
    integrations:
      - id: hook
        adapter: webhook
        events: [visitor.checked_out]
        config: { url: "http://127.0.0.1:9/x", secret: "env:CRMHOST_TEST_SECRET", timeout_ms: 2500 }
)";

TEST_F(ConfigTest, LoadsAValidFileAndKeepsSecretsFromTheAdapter) {
  setenv("CRMHOST_TEST_KEY", "the-key", 1);
  setenv("CRMHOST_TEST_SECRET", "whsec_c2VjcmV0LXZhbHVlLWZvci10ZXN0cw==", 1);
  auto c = load_config(write(kValid));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->listen_port, 0);
  EXPECT_EQ(c->retry.base_ms, 20);
  EXPECT_EQ(c->retry.cap_ms, 1000);
  EXPECT_EQ(c->retry.attempts, 4);
  EXPECT_EQ(c->max_body, 64u * 1024);
  ASSERT_EQ(c->tenants.size(), 1u);
  const auto& in = c->tenants[0].integrations.at(0);
  EXPECT_TRUE(in.subscribes_to("visitor.checked_out"));
  EXPECT_FALSE(in.subscribes_to("visitor.checked_in"));
  EXPECT_EQ(in.secret_refs.at("secret"), "env:CRMHOST_TEST_SECRET")
      << "the config keeps the reference; the value is resolved when the instance is created";
  EXPECT_EQ(in.config_json.find("whsec_"), std::string::npos) << in.config_json;
  EXPECT_NE(in.config_json.find("\"timeout_ms\":2500"), std::string::npos) << in.config_json;
  EXPECT_NE(in.config_json.find("(held by host)"), std::string::npos);
  // API keys are kept only as hashes.
  EXPECT_EQ(c->tenants[0].api_key_hashes.at(0).size(), 64u);
  EXPECT_NE(c->tenants[0].api_key_hashes.at(0), "the-key");
}

struct BadCase {
  const char* yaml;
  const char* expect_in_error;  // line and key
};

TEST_F(ConfigTest, ErrorsNameFileLineAndKey) {
  setenv("CRMHOST_TEST_KEY", "k", 1);
  unsetenv("CRMHOST_TEST_MISSING");
  const BadCase cases[] = {
      {"listen: 127.0.0.1:0\nworkerz: 3\n", ":2: workerz: unknown key"},
      {"retry:\n  base: soon\n", ":2: retry.base: expected a duration"},
      {"listen: nowhere\n", ":1: listen: expected HOST:PORT"},
      {"tenants:\n  - id: a\n    api_keys: [\"env:CRMHOST_TEST_MISSING\"]\n",
       ":3: tenants[0].api_keys: environment variable CRMHOST_TEST_MISSING is not set"},
      {"tenants:\n  - id: a\n    api_keys: [k]\n    integrations:\n      - id: h\n        adapter: webhook\n"
       "        events: [visitor.arrived]\n",
       ":7: tenants[0].integrations[0].events: unknown event type visitor.arrived"},
      {"tenants:\n  - id: a\n    api_keys: [k]\n    integrations:\n      - id: h\n", "tenants[0].integrations[0].adapter: missing"},
      {"max_body: lots\n", ":1: max_body: expected a size"},
      {"listen: [unclosed\n", ":2:"},
      {"admin_listen: nowhere\n", ":1: admin_listen: expected HOST:PORT"},
      {"park_delay: never\n", ":1: park_delay: expected a duration"},
      {"park_delay: 0s\n", ":1: park_delay: must be from 100ms to 1h"},
      {"tenants:\n  - id: a\n    api_keys: [k]\n    integrations:\n      - id: h\n        adapter: webhook\n"
       "        config: { secret: \"env:CRMHOST_TEST_MISSING\" }\n",
       ":7: tenants[0].integrations[0].config.secret: environment variable CRMHOST_TEST_MISSING is not set"},
      {"tenants:\n  - id: a\n    api_keys: [k]\n    integrations:\n      - id: h\n        adapter: hubspot\n"
       "        mapping:\n          contact:\n            email: {from: visitor.email}\n"
       "            badge: {from: visitor.badge, transform: [shout]}\n",
       ":10: tenants[0].integrations[0].mapping.contact.badge.transform: unknown transform \"shout\""},
      {"tenants:\n  - id: a\n    api_keys: [k]\n    integrations:\n      - id: h\n        adapter: hubspot\n"
       "        mapping:\n          contact: \"{visitor.email}\"\n",
       ":8: tenants[0].integrations[0].mapping.contact: expected a mapping of CRM fields"},
  };
  for (const auto& c : cases) {
    std::string file = write(c.yaml);
    auto result = load_config(file);
    ASSERT_FALSE(result.ok()) << c.yaml;
    EXPECT_EQ(result.error().rfind(file, 0), 0u) << result.error();
    EXPECT_NE(result.error().find(c.expect_in_error), std::string::npos)
        << "error: " << result.error() << "\nwanted: " << c.expect_in_error;
  }
}

TEST_F(ConfigTest, AMappingIsKeptAsJsonWithItsOverrides) {
  auto c = load_config(write(
      "tenants:\n  - id: a\n    api_keys: [k]\n    integrations:\n      - id: h\n        adapter: hubspot\n"
      "        mapping:\n          contact: { badge: \"{visitor.badge}\", phone: null, vip: {value: true} }\n"));
  ASSERT_TRUE(c.ok()) << c.error();
  const std::string& m = c->tenants[0].integrations[0].mapping_json;
  EXPECT_NE(m.find("\"badge\":\"{visitor.badge}\""), std::string::npos) << m;
  EXPECT_NE(m.find("\"phone\":null"), std::string::npos) << m;
  EXPECT_NE(m.find("\"vip\":{\"value\":true}"), std::string::npos) << m;
}

// Ids appear in URLs, logs and "tenant/integration" names: "a/b" with "c" and "a" with "b/c"
// would collide. Each is refused where it stands.
TEST_F(ConfigTest, TenantAndIntegrationIdsMustBeSimpleNames) {
  setenv("CRMHOST_TEST_KEY", "k", 1);
  const BadCase cases[] = {
      {"tenants:\n  - id: a/b\n    api_keys: [k]\n",
       ":2: tenants[0].id: \"a/b\" must match [a-z0-9][a-z0-9_-]{0,62}"},
      {"tenants:\n  - id: Acme\n    api_keys: [k]\n", ":2: tenants[0].id: \"Acme\" must match"},
      {"tenants:\n  - id: \"\"\n    api_keys: [k]\n", ":2: tenants[0].id: \"\" must match"},
      {"tenants:\n  - id: -a\n    api_keys: [k]\n", ":2: tenants[0].id: \"-a\" must match"},
      {"tenants:\n  - id: a\n    api_keys: [k]\n    integrations:\n      - id: b/c\n        adapter: webhook\n",
       ":5: tenants[0].integrations[0].id: \"b/c\" must match"},
      {"tenants:\n  - id: a\n    api_keys: [k]\n    integrations:\n      - id: \"h c\"\n        adapter: webhook\n",
       ":5: tenants[0].integrations[0].id: \"h c\" must match"},
  };
  for (const auto& c : cases) {
    auto result = load_config(write(c.yaml));
    ASSERT_FALSE(result.ok()) << c.yaml;
    EXPECT_NE(result.error().find(c.expect_in_error), std::string::npos)
        << "error: " << result.error() << "\nwanted: " << c.expect_in_error;
  }
  std::string longest(63, 'a');
  EXPECT_TRUE(load_config(write("tenants:\n  - id: " + longest + "\n    api_keys: [k]\n")).ok());
  EXPECT_FALSE(load_config(write("tenants:\n  - id: " + longest + "a\n    api_keys: [k]\n")).ok());
  EXPECT_TRUE(load_config(write("tenants:\n  - id: 0acme_eu-2\n    api_keys: [k]\n")).ok());
}

TEST_F(ConfigTest, ASecretNeverAppearsInAnError) {
  setenv("CRMHOST_TEST_KEY", "k", 1);
  auto result = load_config(write(
      "tenants:\n  - id: a\n    api_keys: [\"literal-secret-value-123\"]\n    bogus: 1\n"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().find("literal-secret-value-123"), std::string::npos) << result.error();
}

TEST(ConfigParsers, DurationsAndSizes) {
  EXPECT_EQ(*parse_duration_ms("250ms"), 250);
  EXPECT_EQ(*parse_duration_ms("5s"), 5000);
  EXPECT_EQ(*parse_duration_ms("5m"), 300000);
  EXPECT_EQ(*parse_duration_ms("2"), 2000);
  EXPECT_FALSE(parse_duration_ms("5 parsecs").ok());
  EXPECT_EQ(*parse_size("256KiB"), 262144u);
  EXPECT_EQ(*parse_size("1MiB"), 1048576u);
  EXPECT_FALSE(parse_size("1GB").ok());
  auto listen = parse_listen_address("127.0.0.1:9090");
  ASSERT_TRUE(listen.ok());
  EXPECT_EQ(listen->host, "127.0.0.1");
  EXPECT_EQ(listen->port, 9090);
  EXPECT_EQ(parse_listen_address("[::1]:0")->host, "[::1]");
  for (const char* bad : {"9090", ":9090", "h:", "h:70000", "h:80x", "h:-1"})
    EXPECT_FALSE(parse_listen_address(bad).ok()) << bad;
  EXPECT_TRUE(is_secret_key("client_secret"));
  EXPECT_TRUE(is_secret_key("refresh_token"));
  EXPECT_FALSE(is_secret_key("url"));
}

}  // namespace
}  // namespace crmhost
