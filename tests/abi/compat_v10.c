/*
 * ABI v1.0 as numbers, checked against a header. Compiled twice (tests/abi/CMakeLists.txt):
 *  - against the frozen copy tests/abi/v1.0/crmhost/adapter.h, with CRMH_COMPAT_FROZEN defined:
 *    every offset and every size must be exactly these, which proves the numbers are v1.0's;
 *  - against the live sdk/include/crmhost/adapter.h: every v1.0 field must still sit at the same
 *    offset with the same size, and a struct may only have grown (growth rule 2, append only).
 *    The small value types crmh_str, crmh_header and crmh_json_sink never grow (rule 3).
 * An adapter built against v1.0 reads and writes exactly these bytes, so a change here strands
 * every such adapter. tests/sdk/layout_v1.c tracks the live header exactly; this file never
 * changes. The build failing is the test. x86_64 / LP64 numbers; C11 for _Static_assert.
 */
#include <crmhost/adapter.h>
#include <stddef.h>
#include <stdint.h>

#define V10_FIELD(type, field, offset, size)                                               \
  _Static_assert(offsetof(type, field) == (offset), #type "." #field " moved since v1.0"); \
  _Static_assert(sizeof(((type*)0)->field) == (size), #type "." #field " resized since v1.0")
#define V10_VALUE_TYPE(type, size) \
  _Static_assert(sizeof(type) == (size), "sizeof " #type " changed: value types never grow")
#define V10_VALUE(name, value) _Static_assert((name) == (value), #name " changed since v1.0")

#ifdef CRMH_COMPAT_FROZEN
#define V10_STRUCT(type, size) \
  _Static_assert(sizeof(type) == (size), "the frozen v1.0 header does not match its numbers")
_Static_assert(CRMH_ABI_MINOR == 0, "the frozen header must be v1.0");
#else
#define V10_STRUCT(type, size) \
  _Static_assert(sizeof(type) >= (size), "sizeof " #type " shrank below v1.0's")
_Static_assert(CRMH_ABI_MINOR >= 0, "ABI minor only grows");
#endif

/* The symbol the host looks up keeps its length (the end-to-end test proves its spelling). */
_Static_assert(sizeof(CRMH_ENTRY_SYMBOL) == sizeof("crmh_adapter_entry"), "entry symbol changed");

V10_VALUE(CRMH_ABI_MAJOR, 1);
V10_VALUE(CRMH_OK, 0);
V10_VALUE(CRMH_RETRY, 1);
V10_VALUE(CRMH_RATE_LIMITED, 2);
V10_VALUE(CRMH_AUTH_EXPIRED, 3);
V10_VALUE(CRMH_PERMANENT, 4);
V10_VALUE(CRMH_BAD_CONFIG, 5);
V10_VALUE(CRMH_UNSUPPORTED, 6);
V10_VALUE(CRMH_INTERNAL, 7);
V10_VALUE(CRMH_LOG_DEBUG, 0);
V10_VALUE(CRMH_LOG_INFO, 1);
V10_VALUE(CRMH_LOG_WARN, 2);
V10_VALUE(CRMH_LOG_ERROR, 3);
V10_VALUE(CRMH_FLAG_INSTANCE_THREADSAFE, 0x1u);
V10_VALUE(CRMH_KEY_RAW, 0);
V10_VALUE(CRMH_KEY_WHSEC_BASE64, 1);
V10_VALUE(CRMH_MESSAGE_MAX, 512);
V10_VALUE(CRMH_NET_OK, 0);
V10_VALUE(CRMH_NET_TIMEOUT, 1);
V10_VALUE(CRMH_NET_CONNECT, 2);
V10_VALUE(CRMH_NET_RESET, 3);
V10_VALUE(CRMH_NET_TLS, 4);
V10_VALUE(CRMH_NET_BAD_URL, 5);
_Static_assert(sizeof(crmh_status) == 4, "crmh_status resized since v1.0");

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu && SIZE_MAX == 0xFFFFFFFFFFFFFFFFu

V10_VALUE_TYPE(crmh_str, 16);
V10_FIELD(crmh_str, ptr, 0, 8);
V10_FIELD(crmh_str, len, 8, 8);

V10_VALUE_TYPE(crmh_header, 32);
V10_FIELD(crmh_header, name, 0, 16);
V10_FIELD(crmh_header, value, 16, 16);

V10_VALUE_TYPE(crmh_json_sink, 16);
V10_FIELD(crmh_json_sink, ctx, 0, 8);
V10_FIELD(crmh_json_sink, write, 8, 8);

V10_STRUCT(crmh_http_request, 80);
V10_FIELD(crmh_http_request, struct_size, 0, 4);
V10_FIELD(crmh_http_request, method, 8, 16);
V10_FIELD(crmh_http_request, url, 24, 16);
V10_FIELD(crmh_http_request, headers, 40, 8);
V10_FIELD(crmh_http_request, header_count, 48, 8);
V10_FIELD(crmh_http_request, body, 56, 16);
V10_FIELD(crmh_http_request, deadline_ms, 72, 8);

V10_STRUCT(crmh_http_response, 48);
V10_FIELD(crmh_http_response, struct_size, 0, 4);
V10_FIELD(crmh_http_response, transport_error, 4, 4);
V10_FIELD(crmh_http_response, status, 8, 4);
V10_FIELD(crmh_http_response, headers, 16, 8);
V10_FIELD(crmh_http_response, header_count, 24, 8);
V10_FIELD(crmh_http_response, body, 32, 16);

V10_STRUCT(crmh_host_api, 48);
V10_FIELD(crmh_host_api, struct_size, 0, 4);
V10_FIELD(crmh_host_api, abi_major, 4, 2);
V10_FIELD(crmh_host_api, abi_minor, 6, 2);
V10_FIELD(crmh_host_api, log, 8, 8);
V10_FIELD(crmh_host_api, wall_clock_ms, 16, 8);
V10_FIELD(crmh_host_api, monotonic_ms, 24, 8);
V10_FIELD(crmh_host_api, http_send, 32, 8);
V10_FIELD(crmh_host_api, hmac_sha256, 40, 8);

V10_STRUCT(crmh_delivery, 120);
V10_FIELD(crmh_delivery, struct_size, 0, 4);
V10_FIELD(crmh_delivery, attempt, 4, 4);
V10_FIELD(crmh_delivery, delivery_id, 8, 16);
V10_FIELD(crmh_delivery, event_id, 24, 16);
V10_FIELD(crmh_delivery, tenant_id, 40, 16);
V10_FIELD(crmh_delivery, integration_id, 56, 16);
V10_FIELD(crmh_delivery, event_type, 72, 16);
V10_FIELD(crmh_delivery, deadline_ms, 88, 8);
V10_FIELD(crmh_delivery, payload_schema_version, 96, 4);
V10_FIELD(crmh_delivery, payload_json, 104, 16);

V10_STRUCT(crmh_lookup, 64);
V10_FIELD(crmh_lookup, struct_size, 0, 4);
V10_FIELD(crmh_lookup, email, 8, 16);
V10_FIELD(crmh_lookup, tenant_id, 24, 16);
V10_FIELD(crmh_lookup, integration_id, 40, 16);
V10_FIELD(crmh_lookup, deadline_ms, 56, 8);

V10_STRUCT(crmh_result, 528);
V10_FIELD(crmh_result, struct_size, 0, 4);
V10_FIELD(crmh_result, http_status, 4, 4);
V10_FIELD(crmh_result, retry_after_ms, 8, 8);
V10_FIELD(crmh_result, message, 16, 512);

V10_STRUCT(crmh_adapter, 96);
V10_FIELD(crmh_adapter, struct_size, 0, 4);
V10_FIELD(crmh_adapter, abi_major, 4, 2);
V10_FIELD(crmh_adapter, abi_minor, 6, 2);
V10_FIELD(crmh_adapter, min_host_minor, 8, 2);
V10_FIELD(crmh_adapter, reserved, 10, 2);
V10_FIELD(crmh_adapter, build_signature, 16, 8);
V10_FIELD(crmh_adapter, flags, 24, 4);
V10_FIELD(crmh_adapter, name, 32, 8);
V10_FIELD(crmh_adapter, version, 40, 8);
V10_FIELD(crmh_adapter, description, 48, 8);
V10_FIELD(crmh_adapter, create, 56, 8);
V10_FIELD(crmh_adapter, destroy, 64, 8);
V10_FIELD(crmh_adapter, deliver, 72, 8);
V10_FIELD(crmh_adapter, lookup_contact, 80, 8);
V10_FIELD(crmh_adapter, test_connection, 88, 8);

#else
#error "compat_v10.c records the LP64 layout; add this target's v1.0 numbers before using it"
#endif

/* ISO C forbids an empty translation unit; this also names what the file checked. */
typedef int crmh_compat_v10_checked;
