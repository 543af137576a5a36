// A C++17 test adapter built with adapter.hpp, whose deliver throws on request, so
// cpp_wrapper_test can prove that no exception crosses the C boundary.
// The payload picks the behaviour: "ok" delivers; "long" throws a 2000-character what();
// "int" throws a non-std exception; "refuse" throws crmh::Error(PERMANENT); anything else
// throws std::runtime_error("deliver failed: <payload>").
#include <crmhost/adapter.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

class ThrowingAdapter {
 public:
  static constexpr const char* name = "throwing";
  static constexpr const char* version = "0.0.1";
  static constexpr uint32_t flags = CRMH_FLAG_INSTANCE_THREADSAFE;
  // No description and no lookup_contact: the wrapper must leave both NULL.

  ThrowingAdapter(crmh::Host host, std::string_view config_json) : host_(host) {
    if (config_json == "refuse") throw crmh::Error(CRMH_BAD_CONFIG, "config refused: \"refuse\"");
    if (config_json == "throw") throw std::runtime_error("constructor failed");
  }

  crmh_status deliver(crmh_call*, const crmh_delivery& delivery, crmh::Result& out) {
    const std::string_view payload = crmh::view(delivery.payload_json);
    if (payload == "ok") {
      out.http_status(200);
      out.message("delivered");
      return CRMH_OK;
    }
    if (payload == "long") throw std::runtime_error(std::string(2000, 'x'));
    if (payload == "int") throw 42;
    if (payload == "refuse") throw crmh::Error(CRMH_PERMANENT, "refused by the receiver");
    throw std::runtime_error("deliver failed: " + std::string(payload));
  }

  crmh_status test_connection(crmh_call*, crmh::Result& out) {
    out.message("logged " + std::to_string(host_.wall_clock_ms()));
    return CRMH_OK;
  }

 private:
  crmh::Host host_;
};

}  // namespace

CRMH_CPP_ADAPTER(ThrowingAdapter)
