#include "secrets/vault.h"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "support/temp_dir.h"

namespace crmhost {
namespace {

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::open((dir_ / "data").string());
    ASSERT_TRUE(s.ok()) << s.error();
    store_ = std::move(*s);
  }
  MasterKey Key(const std::string& name) {
    EXPECT_TRUE(write_new_master_key((dir_ / name).string()).ok());
    return std::move(*load_master_key("file:" + (dir_ / name).string()));
  }
  StoredIntegration Hook() {
    StoredIntegration in;
    in.key = {"acme", "hook"};
    in.adapter = "webhook";
    in.config_json = R"j({"secret":"(held by host)"})j";
    in.secret_fields = {"secret"};
    return in;
  }
  AuditEntry Audit() { return {1, "admin", "x", "", "x", "", "ok"}; }
  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(VaultTest, WithoutAMasterKeyNothingIsSealedAndNothingStoredInPlaintext) {
  Vault vault(*store_, nullptr);
  EXPECT_FALSE(vault.can_seal());
  auto put = vault.put_integration(Hook(), {{"secret", "whsec_abc"}}, true, Audit());
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error_kind(), ErrorKind::kConflict);
  EXPECT_TRUE(store_->load_integrations()->empty()) << "nothing half-written";
  EXPECT_TRUE(vault.check().ok()) << "an empty store needs no key";
}

TEST_F(VaultTest, ACheckNamesTheKeyIdTheStoreNeeds) {
  auto first = Key("a");
  const std::string id = first.id;
  {
    Vault vault(*store_, std::make_unique<Keyring>(std::move(first)));
    ASSERT_TRUE(vault.put_integration(Hook(), {{"secret", "whsec_abc"}}, true, Audit()).ok());
    EXPECT_EQ(*vault.open({"acme", "hook"}, "secret"), "whsec_abc");
    EXPECT_TRUE(vault.check().ok());
  }
  for (bool with_other_key : {false, true}) {
    Vault vault(*store_, with_other_key ? std::make_unique<Keyring>(Key("b")) : nullptr);
    auto checked = vault.check();
    ASSERT_FALSE(checked.ok());
    EXPECT_NE(checked.error().find(id), std::string::npos) << checked.error();
  }
}

TEST_F(VaultTest, RotationResealsEverySecretUnderTheNewKey) {
  auto first = Key("a");
  auto second = Key("b");
  const std::string new_id = second.id;
  Vault vault(*store_, std::make_unique<Keyring>(std::move(first)));
  ASSERT_TRUE(vault.put_integration(Hook(), {{"secret", "whsec_abc"}}, true, Audit()).ok());
  ASSERT_TRUE(vault.rotate(std::move(second), Audit()).ok());
  EXPECT_EQ(vault.current_key_id(), new_id);
  auto rows = store_->secrets_of({"acme", "hook"});
  ASSERT_TRUE(rows.ok());
  for (const auto& s : *rows) EXPECT_EQ(s.key_id, new_id);
  EXPECT_EQ(*vault.open({"acme", "hook"}, "secret"), "whsec_abc");
  // A fresh vault with only the new key reads everything.
  Vault after(*store_, std::make_unique<Keyring>(std::move(*load_master_key("file:" + (dir_ / "b").string()))));
  EXPECT_TRUE(after.check().ok());
  VaultSecrets refs(after, reference_secrets());
  EXPECT_EQ(*refs.resolve("sealed:acme/hook/secret"), "whsec_abc");
  EXPECT_EQ(refs.resolve("sealed:acme/hook/none").error_kind(), ErrorKind::kNotFound);
}

}  // namespace
}  // namespace crmhost
