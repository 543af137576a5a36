// The loader against real .so files: the webhook adapter, and deliberately incompatible adapters
// built in tests/plugins (each refused with its failing field named).
#include "plugins/adapter_library.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "plugins/descriptor_check.h"

namespace crmhost {
namespace {

std::string copy_dir() {
  return (std::filesystem::temp_directory_path() / ("crmhost-adapters-" + std::to_string(::getpid()))).string();
}

std::string bad(const std::string& name) { return std::string(CRMHOST_BAD_PLUGIN_DIR) + "/" + name + ".so"; }

TEST(AdapterLibrary, LoadsTheWebhookAdapter) {
  auto lib = AdapterLibrary::load(CRMHOST_WEBHOOK_SO, copy_dir());
  ASSERT_TRUE(lib.ok()) << lib.error();
  EXPECT_STREQ((*lib)->descriptor().name, "webhook");
  EXPECT_EQ((*lib)->abi_version(), "1.2") << "built against the live header";
  EXPECT_EQ((*lib)->info().sha256.size(), 64u);
  EXPECT_NE((*lib)->info().loaded_from, CRMHOST_WEBHOOK_SO) << "loaded from a unique copy";
}

TEST(AdapterLibrary, LoadsAMinimalAdapter) {
  auto lib = AdapterLibrary::load(bad("good_minimal"), copy_dir());
  ASSERT_TRUE(lib.ok()) << lib.error();
  EXPECT_STREQ((*lib)->descriptor().name, "minimal");
}

struct RefusalCase {
  const char* file;
  const char* field;
  const char* reason_contains;
};

TEST(AdapterLibrary, RefusesIncompatibleAdaptersNamingTheField) {
  const RefusalCase cases[] = {
      {"bad_major", "abi_major", "adapter was built for 2."},
      {"bad_min_host_minor", "min_host_minor", "adapter needs 1.99"},
      {"bad_signature", "build_signature", "crmh1;ptr32;size32;be"},
      {"bad_null_deliver", "deliver", "NULL"},
      {"bad_struct_size", "struct_size", "smaller than v1.0"},
      {"bad_no_entry", "crmh_adapter_entry", "not exported"},
      {"bad_entry_null", "crmh_adapter_entry", "NULL"},
  };
  for (const auto& c : cases) {
    Refusal refusal;
    auto lib = AdapterLibrary::load(bad(c.file), copy_dir(), &refusal);
    ASSERT_FALSE(lib.ok()) << c.file;
    EXPECT_EQ(refusal.field, c.field) << c.file << ": " << refusal.text();
    EXPECT_NE(refusal.reason.find(c.reason_contains), std::string::npos) << c.file << ": " << refusal.text();
  }
}

TEST(DescriptorCheck, RefusesADescriptorShorterThanV10AndNamesBadFields) {
  crmh_adapter d{};
  d.struct_size = sizeof(crmh_adapter);
  d.abi_major = CRMH_ABI_MAJOR;
  d.build_signature = CRMH_BUILD_SIGNATURE;
  d.name = "ok-name_1";
  d.version = "0.9";
  d.create = [](const crmh_host_api*, void*, crmh_str, void**, crmh_result*) -> crmh_status { return CRMH_OK; };
  d.destroy = [](void*) {};
  d.deliver = [](void*, crmh_call*, const crmh_delivery*, crmh_result*) -> crmh_status { return CRMH_OK; };
  crmh_adapter copy;
  EXPECT_FALSE(check_descriptor(&d, &copy).has_value());
  EXPECT_EQ(copy.lookup_contact, nullptr) << "optional functions may be NULL";

  d.struct_size = static_cast<uint32_t>(offsetof(crmh_adapter, test_connection));  // ends early
  auto short_one = check_descriptor(&d, &copy);
  ASSERT_TRUE(short_one.has_value());
  EXPECT_EQ(short_one->field, "struct_size");
  EXPECT_NE(short_one->reason.find(std::to_string(kMinDescriptorSize)), std::string::npos) << short_one->reason;

  d.struct_size = sizeof(crmh_adapter);
  d.name = "Bad Name";
  auto bad_name = check_descriptor(&d, &copy);
  ASSERT_TRUE(bad_name.has_value());
  EXPECT_EQ(bad_name->field, "name");
}

}  // namespace
}  // namespace crmhost
