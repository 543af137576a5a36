#include "secrets/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/temp_dir.h"

namespace crmhost {
namespace {

MasterKey NewKey(const testing::TempDir& dir, const std::string& name) {
  auto path = dir / name;
  auto id = write_new_master_key(path.string());
  EXPECT_TRUE(id.ok()) << id.error();
  auto key = load_master_key("file:" + path.string());
  EXPECT_TRUE(key.ok()) << key.error();
  EXPECT_EQ(key->id, *id);
  return std::move(*key);
}

const IntegrationKey kHook{"acme", "hook"};

TEST(Keyring, SealsAndOpensUnderTheRowItBelongsTo) {
  testing::TempDir dir;
  Keyring ring(NewKey(dir, "k"));
  std::string aad = secret_aad(kHook, "secret");
  std::string a = ring.seal("whsec_value", aad), b = ring.seal("whsec_value", aad);
  EXPECT_NE(a, b) << "a fresh nonce per seal";
  EXPECT_EQ(a.find("whsec_value"), std::string::npos);
  EXPECT_EQ(Keyring::key_id_of(a), ring.current_id());
  EXPECT_EQ(*ring.open(a, aad), "whsec_value");
  // Copied into another row (tenant, integration or field), it does not open.
  for (const auto& other : {secret_aad({"acme", "other"}, "secret"),
                            secret_aad({"globex", "hook"}, "secret"),
                            secret_aad(kHook, "client_secret")}) {
    auto moved = ring.open(a, other);
    ASSERT_FALSE(moved.ok());
    EXPECT_EQ(moved.error_kind(), ErrorKind::kBadInput);
  }
  std::string altered = a;
  altered[altered.size() - 20] ^= 1;
  EXPECT_FALSE(ring.open(altered, aad).ok()) << "GCM's tag catches a flipped bit";
}

TEST(Keyring, ACiphertextNamesTheKeyItNeeds) {
  testing::TempDir dir;
  Keyring first(NewKey(dir, "a")), second(NewKey(dir, "b"));
  std::string sealed = first.seal("x", secret_aad(kHook, "secret"));
  auto opened = second.open(sealed, secret_aad(kHook, "secret"));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error_kind(), ErrorKind::kNotFound);
  EXPECT_NE(opened.error().find(first.current_id()), std::string::npos) << opened.error();
  EXPECT_FALSE(second.open("not sealed at all", "").ok());
}

TEST(MasterKey, KeygenWritesAPrivateFileOnceAndLoadRefusesAReadableOne) {
  testing::TempDir dir;
  auto path = (dir / "master.key").string();
  ASSERT_TRUE(write_new_master_key(path).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(write_new_master_key(path).ok()) << "never overwrites a key";
  ::chmod(path.c_str(), 0640);
  auto readable = load_master_key("file:" + path);
  ASSERT_FALSE(readable.ok());
  EXPECT_NE(readable.error().find("group or other"), std::string::npos) << readable.error();
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(load_master_key("file:" + path).ok());
  auto garbage = load_master_key("file:" + dir.Write("bad.key", "short\n").string());
  EXPECT_FALSE(garbage.ok()) << "0644 from Write, and not a key either";
  EXPECT_FALSE(load_master_key("literal-key").ok()) << "only file: or env:";
}

}  // namespace
}  // namespace crmhost
