/* adapter.h must compile as strict C99 (-std=c99 -pedantic -Wall -Wextra -Werror): the build
 * failing is the test. It also expands every macro an adapter author uses. */
#include <crmhost/adapter.h>
#include <crmhost/adapter_helpers.h>

static crmh_status check_create(const crmh_host_api* host, void* host_ctx, crmh_str config_json,
                                void** instance, crmh_result* out) {
  (void)host_ctx;
  (void)config_json;
  (void)out;
  *instance = NULL;
  return CRMH_HAS_FIELD(crmh_host_api, host, hmac_sha256) ? CRMH_OK : CRMH_INTERNAL;
}

static void check_destroy(void* instance) { (void)instance; }

static crmh_status check_deliver(void* instance, crmh_call* call, const crmh_delivery* delivery,
                                 crmh_result* out) {
  (void)instance;
  (void)call;
  (void)out;
  return CRMH_HAS_FIELD(crmh_delivery, delivery, payload_json) ? CRMH_OK : CRMH_RETRY;
}

CRMH_DEFINE_ADAPTER(.flags = CRMH_FLAG_INSTANCE_THREADSAFE, .name = "header-c99", .version = "0",
                    .description = NULL, .create = check_create, .destroy = check_destroy,
                    .deliver = check_deliver)
