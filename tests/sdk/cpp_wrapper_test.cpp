// The C++ wrapper (adapter.hpp), through a real .so built with it (throwing_adapter.cpp): the
// descriptor it writes, and every exception stopped at the C boundary.
#include <gtest/gtest.h>

#include <crmhost/adapter.hpp>
#include <cstring>
#include <string>

#include "loaded_adapter.hpp"

namespace {

int64_t fixed_wall_clock(void*) { return 1234; }

class CppWrapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    descriptor_ = adapter_.descriptor();
    ASSERT_NE(descriptor_, nullptr);
    host_.struct_size = sizeof host_;
    host_.abi_major = CRMH_ABI_MAJOR;
    host_.abi_minor = CRMH_ABI_MINOR;
    host_.wall_clock_ms = fixed_wall_clock;
  }
  void TearDown() override {
    if (instance_ != nullptr) descriptor_->destroy(instance_);
  }

  crmh_status create(const std::string& config) {
    crmh_result result = fresh_result();
    crmh_status status = descriptor_->create(
        &host_, nullptr, crmh_str{config.data(), config.size()}, &instance_, &result);
    message_ = result.message;
    return status;
  }

  crmh_status deliver(const std::string& payload) {
    crmh_delivery delivery{};
    delivery.struct_size = sizeof delivery;
    delivery.payload_json = crmh_str{payload.data(), payload.size()};
    result_ = fresh_result();
    return descriptor_->deliver(instance_, nullptr, &delivery, &result_);
  }

  static crmh_result fresh_result() {
    crmh_result result{};
    result.struct_size = sizeof result;
    return result;
  }

  crmh_test::LoadedAdapter adapter_{CRMH_THROWING_ADAPTER_SO};
  const crmh_adapter* descriptor_ = nullptr;
  crmh_host_api host_{};
  void* instance_ = nullptr;
  crmh_result result_{};
  std::string message_;
};

TEST_F(CppWrapperTest, DescriptorCarriesTheHeadersCheckedFields) {
  EXPECT_EQ(descriptor_->struct_size, sizeof(crmh_adapter));
  EXPECT_EQ(descriptor_->abi_major, CRMH_ABI_MAJOR);
  EXPECT_EQ(descriptor_->abi_minor, CRMH_ABI_MINOR);
  EXPECT_EQ(descriptor_->min_host_minor, 0);
  EXPECT_STREQ(descriptor_->build_signature, CRMH_BUILD_SIGNATURE);
  EXPECT_STREQ(descriptor_->name, "throwing");
  EXPECT_STREQ(descriptor_->version, "0.0.1");
  EXPECT_EQ(descriptor_->description, nullptr);
  EXPECT_EQ(descriptor_->flags, CRMH_FLAG_INSTANCE_THREADSAFE);
  EXPECT_NE(descriptor_->create, nullptr);
  EXPECT_NE(descriptor_->destroy, nullptr);
  EXPECT_NE(descriptor_->deliver, nullptr);
  EXPECT_EQ(descriptor_->lookup_contact, nullptr);  // not defined by the class
  EXPECT_NE(descriptor_->test_connection, nullptr);
  EXPECT_EQ(descriptor_->default_mapping, nullptr);  // 1.2: neither declared by the class
  EXPECT_EQ(descriptor_->pacing_requests, 0u);
}

TEST_F(CppWrapperTest, EntryRefusesAnotherMajor) {
  EXPECT_EQ(adapter_.descriptor(CRMH_ABI_MAJOR + 1, 0), nullptr);
}

TEST_F(CppWrapperTest, ExceptionInDeliverBecomesInternalWithWhat) {
  ASSERT_EQ(create("{}"), CRMH_OK);
  EXPECT_EQ(deliver("boom"), CRMH_INTERNAL);
  EXPECT_STREQ(result_.message, "deliver failed: boom");
}

TEST_F(CppWrapperTest, LongWhatIsTruncatedAndTerminated) {
  ASSERT_EQ(create("{}"), CRMH_OK);
  EXPECT_EQ(deliver("long"), CRMH_INTERNAL);
  EXPECT_EQ(std::strlen(result_.message), static_cast<size_t>(CRMH_MESSAGE_MAX - 1));
  EXPECT_EQ(std::string(result_.message), std::string(CRMH_MESSAGE_MAX - 1, 'x'));
}

TEST_F(CppWrapperTest, NonStandardExceptionBecomesInternal) {
  ASSERT_EQ(create("{}"), CRMH_OK);
  EXPECT_EQ(deliver("int"), CRMH_INTERNAL);
  EXPECT_STREQ(result_.message, "unknown exception");
}

TEST_F(CppWrapperTest, CrmhErrorCarriesItsOwnStatus) {
  ASSERT_EQ(create("{}"), CRMH_OK);
  EXPECT_EQ(deliver("refuse"), CRMH_PERMANENT);
  EXPECT_STREQ(result_.message, "refused by the receiver");
}

TEST_F(CppWrapperTest, DeliverReturnsWhatTheClassReturns) {
  ASSERT_EQ(create("{}"), CRMH_OK);
  EXPECT_EQ(deliver("ok"), CRMH_OK);
  EXPECT_EQ(result_.http_status, 200);
  EXPECT_STREQ(result_.message, "delivered");
}

TEST_F(CppWrapperTest, RefusedCreateLeavesTheInstanceUntouched) {
  EXPECT_EQ(create("refuse"), CRMH_BAD_CONFIG);
  EXPECT_EQ(message_, "config refused: \"refuse\"");
  EXPECT_EQ(instance_, nullptr);
  EXPECT_EQ(create("throw"), CRMH_INTERNAL);
  EXPECT_EQ(message_, "constructor failed");
  EXPECT_EQ(instance_, nullptr);
}

TEST_F(CppWrapperTest, TestConnectionReachesTheHostThroughTheWrapper) {
  ASSERT_EQ(create("{}"), CRMH_OK);
  crmh_result result = fresh_result();
  EXPECT_EQ(descriptor_->test_connection(instance_, nullptr, &result), CRMH_OK);
  EXPECT_STREQ(result.message, "logged 1234");
}

TEST(CppWrapperMessage, TruncationNeverSplitsAUtf8Sequence) {
  crmh_result result{};
  result.struct_size = sizeof result;
  // "é" is two bytes; placed so that the 511-byte cut would fall between them.
  const std::string text = std::string(CRMH_MESSAGE_MAX - 2, 'a') + "\xc3\xa9";
  crmh::write_message(&result, text);
  EXPECT_EQ(std::string(result.message), std::string(CRMH_MESSAGE_MAX - 2, 'a'));
}

TEST(CppWrapperMessage, ShortResultStructGetsNoMessage) {
  crmh_result result{};
  result.struct_size = offsetof(crmh_result, message);  // an older host's, without message
  crmh::write_message(&result, "never written");
  EXPECT_EQ(result.message[0], '\0');
}

}  // namespace
