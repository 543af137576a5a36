#include "secrets/secrets.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "support/temp_dir.h"

namespace crmhost {
namespace {

TEST(ReferenceSecrets, ResolvesEnvFileAndLiteralReferences) {
  testing::TempDir dir;
  ::setenv("CRMHOST_TEST_SECRET", "from-env", 1);
  auto path = dir.Write("secret", "from-file\r\n");
  const SecretResolver& secrets = reference_secrets();
  EXPECT_EQ(*secrets.resolve("env:CRMHOST_TEST_SECRET"), "from-env");
  EXPECT_EQ(*secrets.resolve("file:" + path.string()), "from-file") << "the editor's newline goes";
  EXPECT_EQ(*secrets.resolve("whsec_literal"), "whsec_literal");
  ::unsetenv("CRMHOST_TEST_SECRET");
}

// What cannot be had is bad input, and the message names the reference, never a value.
TEST(ReferenceSecrets, NamesTheReferenceThatDoesNotResolve) {
  testing::TempDir dir;
  ::unsetenv("CRMHOST_TEST_UNSET");
  auto unset = reference_secrets().resolve("env:CRMHOST_TEST_UNSET");
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.error_kind(), ErrorKind::kBadInput);
  EXPECT_NE(unset.error().find("CRMHOST_TEST_UNSET"), std::string::npos) << unset.error();

  auto empty = reference_secrets().resolve("file:" + dir.Write("empty", "\n").string());
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().find("is empty"), std::string::npos) << empty.error();

  auto missing = reference_secrets().resolve("file:" + (dir / "absent").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("absent"), std::string::npos) << missing.error();
}

}  // namespace
}  // namespace crmhost
