// adapter.h must compile as pedantic C++ (built as C++11 and as C++20): the build failing is
// the test. CRMH_DEFINE_ADAPTER needs C++20's designated initializers, so it is expanded only
// there; adapter.hpp is the C++17 route.
#include <crmhost/adapter.h>
#include <crmhost/adapter_helpers.h>

namespace {

bool has_hmac(const crmh_host_api* host) {
  return CRMH_HAS_FIELD(crmh_host_api, host, hmac_sha256);
}

}  // namespace

#if __cplusplus >= 202002L
static crmh_status check_create(const crmh_host_api* host, void*, crmh_str, void** instance,
                                crmh_result*) {
  *instance = nullptr;
  return has_hmac(host) ? CRMH_OK : CRMH_INTERNAL;
}
static void check_destroy(void*) {}
static crmh_status check_deliver(void*, crmh_call*, const crmh_delivery*, crmh_result*) {
  return CRMH_OK;
}
CRMH_DEFINE_ADAPTER(.flags = 0, .name = "header-cxx", .version = "0", .description = nullptr,
                    .create = check_create, .destroy = check_destroy, .deliver = check_deliver)
#else
// Referenced so -Wunused-function stays quiet where the macro is not expanded.
bool (*const header_cxx_has_hmac)(const crmh_host_api*) = has_hmac;
#endif
