/*
 * Freezes ABI v1: the offset and size of every field of every struct in adapter.h, each struct's
 * size, and the value of every constant, for x86_64 / LP64. Growth rule 2 says append only; a
 * change here means an existing adapter or host would read the wrong bytes. Appending a field
 * adds a line; changing a line is an ABI break. The build failing is the test.
 * (C11 for _Static_assert; the header itself is checked as C99 by header_c99.c.)
 */
#include <crmhost/adapter.h>
#include <stddef.h>
#include <stdint.h>

#define FROZEN_FIELD(type, field, offset, size)                                 \
  _Static_assert(offsetof(type, field) == (offset), #type "." #field " moved"); \
  _Static_assert(sizeof(((type*)0)->field) == (size), #type "." #field " resized")
#define FROZEN_SIZE(type, size) _Static_assert(sizeof(type) == (size), "sizeof " #type " changed")
#define FROZEN_VALUE(name, value) _Static_assert((name) == (value), #name " changed")

/* Values do not depend on the target. */
FROZEN_VALUE(CRMH_ABI_MAJOR, 1);
FROZEN_VALUE(CRMH_OK, 0);
FROZEN_VALUE(CRMH_RETRY, 1);
FROZEN_VALUE(CRMH_RATE_LIMITED, 2);
FROZEN_VALUE(CRMH_AUTH_EXPIRED, 3);
FROZEN_VALUE(CRMH_PERMANENT, 4);
FROZEN_VALUE(CRMH_BAD_CONFIG, 5);
FROZEN_VALUE(CRMH_UNSUPPORTED, 6);
FROZEN_VALUE(CRMH_INTERNAL, 7);
FROZEN_VALUE(CRMH_LOG_DEBUG, 0);
FROZEN_VALUE(CRMH_LOG_INFO, 1);
FROZEN_VALUE(CRMH_LOG_WARN, 2);
FROZEN_VALUE(CRMH_LOG_ERROR, 3);
FROZEN_VALUE(CRMH_FLAG_INSTANCE_THREADSAFE, 0x1u);
FROZEN_VALUE(CRMH_KEY_RAW, 0);
FROZEN_VALUE(CRMH_KEY_WHSEC_BASE64, 1);
FROZEN_VALUE(CRMH_MESSAGE_MAX, 512);
FROZEN_VALUE(CRMH_NET_OK, 0);
FROZEN_VALUE(CRMH_NET_TIMEOUT, 1);
FROZEN_VALUE(CRMH_NET_CONNECT, 2);
FROZEN_VALUE(CRMH_NET_RESET, 3);
FROZEN_VALUE(CRMH_NET_TLS, 4);
FROZEN_VALUE(CRMH_NET_BAD_URL, 5);
_Static_assert(sizeof(crmh_status) == 4, "crmh_status resized");

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu && SIZE_MAX == 0xFFFFFFFFFFFFFFFFu

FROZEN_SIZE(crmh_str, 16);
FROZEN_FIELD(crmh_str, ptr, 0, 8);
FROZEN_FIELD(crmh_str, len, 8, 8);

FROZEN_SIZE(crmh_header, 32);
FROZEN_FIELD(crmh_header, name, 0, 16);
FROZEN_FIELD(crmh_header, value, 16, 16);

FROZEN_SIZE(crmh_http_request, 88);
FROZEN_FIELD(crmh_http_request, struct_size, 0, 4);
FROZEN_FIELD(crmh_http_request, method, 8, 16);
FROZEN_FIELD(crmh_http_request, url, 24, 16);
FROZEN_FIELD(crmh_http_request, headers, 40, 8);
FROZEN_FIELD(crmh_http_request, header_count, 48, 8);
FROZEN_FIELD(crmh_http_request, body, 56, 16);
FROZEN_FIELD(crmh_http_request, deadline_ms, 72, 8);
FROZEN_FIELD(crmh_http_request, flags, 80, 4); /* 1.1 */

FROZEN_SIZE(crmh_http_response, 48);
FROZEN_FIELD(crmh_http_response, struct_size, 0, 4);
FROZEN_FIELD(crmh_http_response, transport_error, 4, 4);
FROZEN_FIELD(crmh_http_response, status, 8, 4);
FROZEN_FIELD(crmh_http_response, headers, 16, 8);
FROZEN_FIELD(crmh_http_response, header_count, 24, 8);
FROZEN_FIELD(crmh_http_response, body, 32, 16);

FROZEN_SIZE(crmh_host_api, 56);
FROZEN_FIELD(crmh_host_api, struct_size, 0, 4);
FROZEN_FIELD(crmh_host_api, abi_major, 4, 2);
FROZEN_FIELD(crmh_host_api, abi_minor, 6, 2);
FROZEN_FIELD(crmh_host_api, log, 8, 8);
FROZEN_FIELD(crmh_host_api, wall_clock_ms, 16, 8);
FROZEN_FIELD(crmh_host_api, monotonic_ms, 24, 8);
FROZEN_FIELD(crmh_host_api, http_send, 32, 8);
FROZEN_FIELD(crmh_host_api, hmac_sha256, 40, 8);
FROZEN_FIELD(crmh_host_api, check_secret, 48, 8); /* 1.1 */

FROZEN_SIZE(crmh_delivery, 136);
FROZEN_FIELD(crmh_delivery, struct_size, 0, 4);
FROZEN_FIELD(crmh_delivery, attempt, 4, 4);
FROZEN_FIELD(crmh_delivery, delivery_id, 8, 16);
FROZEN_FIELD(crmh_delivery, event_id, 24, 16);
FROZEN_FIELD(crmh_delivery, tenant_id, 40, 16);
FROZEN_FIELD(crmh_delivery, integration_id, 56, 16);
FROZEN_FIELD(crmh_delivery, event_type, 72, 16);
FROZEN_FIELD(crmh_delivery, deadline_ms, 88, 8);
FROZEN_FIELD(crmh_delivery, payload_schema_version, 96, 4);
FROZEN_FIELD(crmh_delivery, payload_json, 104, 16);
FROZEN_FIELD(crmh_delivery, record_json, 120, 16); /* 1.2 */

FROZEN_SIZE(crmh_lookup, 64);
FROZEN_FIELD(crmh_lookup, struct_size, 0, 4);
FROZEN_FIELD(crmh_lookup, email, 8, 16);
FROZEN_FIELD(crmh_lookup, tenant_id, 24, 16);
FROZEN_FIELD(crmh_lookup, integration_id, 40, 16);
FROZEN_FIELD(crmh_lookup, deadline_ms, 56, 8);

FROZEN_SIZE(crmh_json_sink, 16);
FROZEN_FIELD(crmh_json_sink, ctx, 0, 8);
FROZEN_FIELD(crmh_json_sink, write, 8, 8);

FROZEN_SIZE(crmh_result, 528);
FROZEN_FIELD(crmh_result, struct_size, 0, 4);
FROZEN_FIELD(crmh_result, http_status, 4, 4);
FROZEN_FIELD(crmh_result, retry_after_ms, 8, 8);
FROZEN_FIELD(crmh_result, message, 16, 512);

FROZEN_SIZE(crmh_adapter, 128);
FROZEN_FIELD(crmh_adapter, struct_size, 0, 4);
FROZEN_FIELD(crmh_adapter, abi_major, 4, 2);
FROZEN_FIELD(crmh_adapter, abi_minor, 6, 2);
FROZEN_FIELD(crmh_adapter, min_host_minor, 8, 2);
FROZEN_FIELD(crmh_adapter, reserved, 10, 2);
FROZEN_FIELD(crmh_adapter, build_signature, 16, 8);
FROZEN_FIELD(crmh_adapter, flags, 24, 4);
FROZEN_FIELD(crmh_adapter, name, 32, 8);
FROZEN_FIELD(crmh_adapter, version, 40, 8);
FROZEN_FIELD(crmh_adapter, description, 48, 8);
FROZEN_FIELD(crmh_adapter, create, 56, 8);
FROZEN_FIELD(crmh_adapter, destroy, 64, 8);
FROZEN_FIELD(crmh_adapter, deliver, 72, 8);
FROZEN_FIELD(crmh_adapter, lookup_contact, 80, 8);
FROZEN_FIELD(crmh_adapter, test_connection, 88, 8);
FROZEN_FIELD(crmh_adapter, oauth, 96, 8); /* 1.1 */
FROZEN_FIELD(crmh_adapter, default_mapping, 104, 8); /* 1.2 */
FROZEN_FIELD(crmh_adapter, pacing_requests, 112, 4);
FROZEN_FIELD(crmh_adapter, pacing_window_ms, 116, 4);
FROZEN_FIELD(crmh_adapter, pacing_concurrency, 120, 4);
FROZEN_SIZE(crmh_oauth_provider, 80); /* 1.1; 1.2 appends api_base */
FROZEN_FIELD(crmh_oauth_provider, struct_size, 0, 4);
FROZEN_FIELD(crmh_oauth_provider, authorize_url, 8, 8);
FROZEN_FIELD(crmh_oauth_provider, token_url, 16, 8);
FROZEN_FIELD(crmh_oauth_provider, scopes, 24, 8);
FROZEN_FIELD(crmh_oauth_provider, authorize_params, 32, 8);
FROZEN_FIELD(crmh_oauth_provider, api_base_field, 40, 8);
FROZEN_FIELD(crmh_oauth_provider, scheme, 48, 8);
FROZEN_FIELD(crmh_oauth_provider, flags, 56, 4);
FROZEN_FIELD(crmh_oauth_provider, api_token_header, 64, 8);
FROZEN_FIELD(crmh_oauth_provider, api_base, 72, 8); /* 1.2 */

#endif

/* ISO C forbids an empty translation unit; this also names what the file froze. */
typedef int crmh_layout_v1_frozen;
