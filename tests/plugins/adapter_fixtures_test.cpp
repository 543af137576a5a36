// The loader-test fixtures are what tests/plugins/README.md says: each incompatible image is
// wrong in exactly its one field, and good_minimal.so is valid. A fixture that drifted would
// make the host's loader tests pass or fail for the wrong reason.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "sdk/loaded_adapter.hpp"

namespace {

std::string fixture(const std::string& name) {
  return std::string(CRMHOST_BAD_PLUGIN_DIR) + "/" + name + ".so";
}

// The fields a host checks, compared with what CRMH_DEFINE_ADAPTER would have written.
void expect_valid_except(const crmh_adapter& d, const std::string& field) {
  // (Braces: gtest's EXPECT_* macros are if/else statements inside.)
  if (field != "struct_size") {
    EXPECT_EQ(d.struct_size, sizeof(crmh_adapter));
  }
  if (field != "abi_major") {
    EXPECT_EQ(d.abi_major, CRMH_ABI_MAJOR);
  }
  if (field != "min_host_minor") {
    EXPECT_LE(d.min_host_minor, CRMH_ABI_MINOR);
  }
  if (field != "build_signature") {
    EXPECT_STREQ(d.build_signature, CRMH_BUILD_SIGNATURE);
  }
  if (field == "struct_size") return;  // nothing past the size may be read
  EXPECT_NE(d.create, nullptr);
  EXPECT_NE(d.destroy, nullptr);
  if (field != "deliver") {
    EXPECT_NE(d.deliver, nullptr);
  }
}

TEST(AdapterFixtures, GoodMinimalIsValid) {
  crmh_test::LoadedAdapter image(fixture("good_minimal"));
  const crmh_adapter* d = image.descriptor();
  ASSERT_NE(d, nullptr);
  expect_valid_except(*d, "");
  EXPECT_STREQ(d->name, "minimal");
}

TEST(AdapterFixtures, BadMajor) {
  crmh_test::LoadedAdapter image(fixture("bad_major"));
  ASSERT_NE(image.descriptor(), nullptr);
  EXPECT_EQ(image.descriptor()->abi_major, 2);
  expect_valid_except(*image.descriptor(), "abi_major");
}

TEST(AdapterFixtures, BadMinHostMinor) {
  crmh_test::LoadedAdapter image(fixture("bad_min_host_minor"));
  ASSERT_NE(image.descriptor(), nullptr);
  EXPECT_EQ(image.descriptor()->min_host_minor, 99);
  expect_valid_except(*image.descriptor(), "min_host_minor");
}

TEST(AdapterFixtures, BadSignature) {
  crmh_test::LoadedAdapter image(fixture("bad_signature"));
  ASSERT_NE(image.descriptor(), nullptr);
  EXPECT_STREQ(image.descriptor()->build_signature, "crmh1;ptr32;size32;be");
  expect_valid_except(*image.descriptor(), "build_signature");
}

TEST(AdapterFixtures, BadNullDeliver) {
  crmh_test::LoadedAdapter image(fixture("bad_null_deliver"));
  ASSERT_NE(image.descriptor(), nullptr);
  EXPECT_EQ(image.descriptor()->deliver, nullptr);
  expect_valid_except(*image.descriptor(), "deliver");
}

TEST(AdapterFixtures, BadStructSize) {
  crmh_test::LoadedAdapter image(fixture("bad_struct_size"));
  ASSERT_NE(image.descriptor(), nullptr);
  EXPECT_LT(image.descriptor()->struct_size, offsetof(crmh_adapter, deliver) + sizeof(void*));
  expect_valid_except(*image.descriptor(), "struct_size");
}

TEST(AdapterFixtures, BadEntryNull) {
  crmh_test::LoadedAdapter image(fixture("bad_entry_null"));
  EXPECT_EQ(image.descriptor(), nullptr);
}

TEST(AdapterFixtures, BadNoEntry) {
  std::unique_ptr<void, int (*)(void*)> handle(
      dlopen(fixture("bad_no_entry").c_str(), RTLD_NOW | RTLD_LOCAL), dlclose);
  ASSERT_NE(handle, nullptr) << dlerror();
  EXPECT_EQ(dlsym(handle.get(), CRMH_ENTRY_SYMBOL), nullptr);
}

}  // namespace
