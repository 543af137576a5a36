// The configuration-as-data half of the store contract (store/config_store.h), for every engine.
#include "store/config_store.h"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "support/temp_dir.h"

namespace crmhost {
namespace {

class ConfigStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto s = SqliteStore::open(dir_.path().string());
    ASSERT_TRUE(s.ok()) << s.error();
    store_ = std::move(*s);
  }
  AuditEntry Audit(const std::string& action) { return {1000, "admin", action, "acme", "acme", "", "ok"}; }
  StoredIntegration Hook(std::vector<std::string> secret_fields = {"secret"}) {
    StoredIntegration in;
    in.key = {"acme", "hook"};
    in.adapter = "webhook";
    in.events = {"visitor.checked_in", "visitor.checked_out"};
    in.config_json = R"j({"url":"http://x/","secret":"(held by host)"})j";
    in.secret_fields = std::move(secret_fields);
    in.created_at_ms = in.updated_at_ms = 1000;
    return in;
  }
  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_P(ConfigStoreTest, TenantsAndTheirKeys) {
  ASSERT_TRUE(store_->create_tenant({"acme", 50, {}, 1000}, Audit("tenant.create")).ok());
  auto again = store_->create_tenant({"acme", 50, {}, 1000}, Audit("tenant.create"));
  EXPECT_EQ(again.error_kind(), ErrorKind::kConflict);
  ASSERT_TRUE(store_->add_api_key("acme", {"key_1", "hash1", 1000}, Audit("k")).ok());
  ASSERT_TRUE(store_->add_api_key("acme", {"key_2", "hash2", 1001}, Audit("k")).ok());
  EXPECT_EQ(store_->add_api_key("nobody", {"key_3", "hash3", 1}, Audit("k")).error_kind(),
            ErrorKind::kNotFound);
  auto tenants = store_->load_tenants();
  ASSERT_TRUE(tenants.ok());
  ASSERT_EQ(tenants->size(), 1u);
  EXPECT_EQ((*tenants)[0].ingest_rate, 50);
  EXPECT_EQ((*tenants)[0].api_key_hashes, (std::vector<std::string>{"hash1", "hash2"}));
  ASSERT_TRUE(store_->remove_api_key("acme", "key_1", Audit("k")).ok());
  EXPECT_EQ(store_->remove_api_key("acme", "key_2", Audit("k")).error_kind(), ErrorKind::kConflict)
      << "the last key stays";
  ASSERT_TRUE(store_->put_integration(Hook(), {{"secret", "kid", "sealed"}}, true, Audit("i")).ok());
  EXPECT_EQ(store_->delete_tenant("acme", Audit("t")).error_kind(), ErrorKind::kConflict);
  ASSERT_TRUE(store_->delete_integration({"acme", "hook"}, Audit("i")).ok());
  ASSERT_TRUE(store_->delete_tenant("acme", Audit("t")).ok());
  EXPECT_TRUE(store_->load_tenants()->empty());
}

TEST_P(ConfigStoreTest, IntegrationsKeepTheirSealedSecretsAndLoseTheUnlistedOnes) {
  ASSERT_TRUE(store_->put_integration(Hook(), {{"secret", "kid", std::string("se\0aled", 7)}},
                                      true, Audit("i")).ok());
  EXPECT_EQ(store_->put_integration(Hook(), {}, true, Audit("i")).error_kind(), ErrorKind::kConflict);
  auto secrets = store_->secrets_of({"acme", "hook"});
  ASSERT_TRUE(secrets.ok());
  ASSERT_EQ(secrets->size(), 1u);
  EXPECT_EQ((*secrets)[0].sealed, std::string("se\0aled", 7)) << "bytes, not text";
  auto loaded = store_->load_integrations();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].events, Hook().events);
  EXPECT_EQ((*loaded)[0].secret_fields, std::vector<std::string>{"secret"});

  auto changed = Hook({});  // the secret field is gone from the config
  changed.enabled = false;
  changed.updated_at_ms = 2000;
  ASSERT_TRUE(store_->put_integration(changed, {}, false, Audit("i")).ok());
  EXPECT_TRUE(store_->secrets_of({"acme", "hook"})->empty());
  EXPECT_FALSE((*store_->load_integrations())[0].enabled);
  auto missing = Hook();
  missing.key.integration_id = "other";
  EXPECT_EQ(store_->put_integration(missing, {}, false, Audit("i")).error_kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->delete_integration({"acme", "other"}, Audit("i")).error_kind(), ErrorKind::kNotFound);
}

TEST_P(ConfigStoreTest, ResealingIsAllOrNothing) {
  ASSERT_TRUE(store_->put_integration(Hook({"secret", "token"}),
                                      {{"secret", "old", "s1"}, {"token", "old", "t1"}}, true,
                                      Audit("i")).ok());
  IntegrationKey key{"acme", "hook"};
  // The second reseal names a value the row no longer holds: nothing is written.
  auto stale = store_->reseal_secrets({{key, {"secret", "new", "s2"}, "s1"},
                                       {key, {"token", "new", "t2"}, "not-t1"}},
                                      Audit("master_key.rotate"));
  EXPECT_EQ(stale.error_kind(), ErrorKind::kConflict);
  auto before = store_->secrets_of(key);
  ASSERT_TRUE(before.ok());
  for (const auto& s : *before) EXPECT_EQ(s.key_id, "old") << s.field;
  ASSERT_TRUE(store_->reseal_secrets({{key, {"secret", "new", "s2"}, "s1"},
                                      {key, {"token", "new", "t2"}, "t1"}},
                                     Audit("master_key.rotate")).ok());
  auto after = store_->secrets_of(key);
  ASSERT_TRUE(after.ok());
  for (const auto& s : *after) EXPECT_EQ(s.key_id, "new") << s.field;
}

TEST_P(ConfigStoreTest, EveryChangeIsAudited) {
  ASSERT_TRUE(store_->create_tenant({"acme", 5, {}, 1}, {1, "admin", "tenant.create", "acme", "acme", "ingest_rate", "ok"}).ok());
  ASSERT_TRUE(store_->record({2, "tenant:acme", "integration.test", "acme", "acme/hook", "", "RETRY"}).ok());
  // A change that fails changes nothing, and its entry says it was refused.
  EXPECT_FALSE(store_->create_tenant({"acme", 5, {}, 3}, {3, "admin", "tenant.create", "acme", "acme", "", "ok"}).ok());
  auto page = store_->audit_entries({"", "", 0, 0, 0, 10});
  ASSERT_TRUE(page.ok());
  const auto& log = page->entries;
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].entry.outcome.rfind("refused: tenant acme exists", 0), 0u) << log[0].entry.outcome;
  EXPECT_EQ(log[1].entry.action, "integration.test");
  EXPECT_EQ(log[1].entry.outcome, "RETRY");
  EXPECT_EQ(log[2].entry.detail, "ingest_rate");
  EXPECT_EQ(page->next_before_id, 0);

  // Filters and pages.
  ASSERT_TRUE(store_->record({4, "admin", "tenant.create", "beta", "beta", "", "ok"}).ok());
  EXPECT_EQ(store_->audit_entries({"beta", "", 0, 0, 0, 10})->entries.size(), 1u);
  EXPECT_EQ(store_->audit_entries({"", "tenant.", 0, 0, 0, 10})->entries.size(), 3u);
  EXPECT_EQ(store_->audit_entries({"", "tenant", 0, 0, 0, 10})->entries.size(), 0u)
      << "a prefix ends in a dot";
  EXPECT_EQ(store_->audit_entries({"", "", 2, 4, 0, 10})->entries.size(), 2u);
  auto first = store_->audit_entries({"", "", 0, 0, 0, 2});
  ASSERT_EQ(first->entries.size(), 2u);
  ASSERT_NE(first->next_before_id, 0);
  auto second = store_->audit_entries({"", "", 0, 0, first->next_before_id, 2});
  ASSERT_EQ(second->entries.size(), 2u);
  EXPECT_EQ(second->next_before_id, 0);
  EXPECT_EQ(second->entries.back().entry.detail, "ingest_rate");
  EXPECT_EQ(store_->load_tenants()->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, ConfigStoreTest, ::testing::Values("sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace crmhost
