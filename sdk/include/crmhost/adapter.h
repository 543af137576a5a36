/*
 * crmhost adapter ABI — the one contract between the crmhost host and a CRM adapter.
 *
 * An adapter is a shared object (.so/.dll) built by anyone, with any C or C++ compiler, against
 * this header alone. It links nothing of the host's: every service it needs (HTTP, logging,
 * clocks, HMAC over a secret it never sees) comes in through crmh_host_api.
 *
 * C99; depends only on <stdint.h> and <stddef.h>. Every name carries the crmh_/CRMH_ prefix.
 *
 * GROWTH RULES (binding for every future version of this file):
 *  1. ABI major (CRMH_ABI_MAJOR) changes only for an incompatible change; the host refuses an
 *     adapter whose major differs from its own.
 *  2. ABI minor (CRMH_ABI_MINOR) grows when fields or functions are appended. Append only:
 *     never reorder, retype, rename the meaning of, or reuse a field. A changed signature is a
 *     new member with a suffix (deliver2), the old one stays.
 *  3. Every struct that crosses the boundary, in either direction, starts with
 *     `uint32_t struct_size` set by whoever fills it. A reader may use a field only when
 *     CRMH_HAS_FIELD(type, ptr, field) is true; a missing tail field reads as zero/NULL.
 *     The exceptions are the small value types crmh_str, crmh_header and crmh_json_sink: they
 *     are frozen as they are and never grow (a different shape is a new type).
 *  4. An adapter states the lowest host minor it needs (min_host_minor); the host refuses an
 *     adapter that needs a newer host.
 *  5. No C++ type, exception, or allocator crosses the boundary. Neither side frees memory the
 *     other allocated.
 *
 * OWNERSHIP, in one rule per direction:
 *  - host -> adapter: everything is borrowed for the duration of the call that passes it.
 *  - adapter -> host: results go into host-provided storage (crmh_result's inline buffers) or
 *    through host-provided sinks that copy before returning.
 *  - the descriptor is a static of the adapter and lives as long as the loaded image.
 *  - an instance (void*) is created by `create` and released only by `destroy`.
 *
 * THREADING:
 *  - every function in crmh_host_api is safe to call from any thread, concurrently.
 *  - `create` and `destroy` are never called concurrently with anything on the same instance.
 *  - `deliver`, `lookup_contact`, `test_connection` on ONE instance are never called
 *    concurrently unless the descriptor sets CRMH_FLAG_INSTANCE_THREADSAFE. Different instances
 *    may be called concurrently from different threads.
 *  - an adapter should start no threads; if it does, it joins them in `destroy`. No
 *    thread_local with a non-trivial destructor (the image may be retired while threads live).
 */
#ifndef CRMHOST_ADAPTER_H
#define CRMHOST_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRMH_ABI_MAJOR 1
#define CRMH_ABI_MINOR 2

/* The name of the one symbol the host looks up in an adapter image. */
#define CRMH_ENTRY_SYMBOL "crmh_adapter_entry"

/* Build signature: facts of the target that must agree between host and adapter.
 * Computed by the preprocessor from standard limits; the host compares it as a string. */
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
#define CRMH_SIG_PTR "ptr64"
#else
#define CRMH_SIG_PTR "ptr32"
#endif
#if SIZE_MAX == 0xFFFFFFFFFFFFFFFFu
#define CRMH_SIG_SIZE "size64"
#else
#define CRMH_SIG_SIZE "size32"
#endif
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define CRMH_SIG_ENDIAN "be"
#else
#define CRMH_SIG_ENDIAN "le"
#endif
#define CRMH_BUILD_SIGNATURE "crmh1;" CRMH_SIG_PTR ";" CRMH_SIG_SIZE ";" CRMH_SIG_ENDIAN

#if defined(_WIN32)
#define CRMH_EXPORT __declspec(dllexport)
#else
#define CRMH_EXPORT __attribute__((visibility("default")))
#endif

/* True when the struct at `ptr` (whose first member is struct_size) contains `field`. */
#define CRMH_HAS_FIELD(type, ptr, field) \
  (offsetof(type, field) + sizeof(((type*)0)->field) <= (ptr)->struct_size)

/* ---------------------------------------------------------------------------------------------
 * Basic types
 * ------------------------------------------------------------------------------------------- */

/* A UTF-8 byte string: pointer and length, NOT NUL-terminated.
 * OWNERSHIP: always borrowed; valid only as long as the struct or call that hands it over. */
typedef struct crmh_str {
  const char* ptr;
  size_t len;
} crmh_str;

/* Outcome of every adapter operation. The host owns retry; the adapter only classifies.
 * A value the host does not know (from a newer adapter) is handled as CRMH_RETRY. */
typedef int32_t crmh_status;
#define CRMH_OK 0           /* done; the CRM accepted the write or answered the look-up */
#define CRMH_RETRY 1        /* transient: timeout, reset, 5xx, 408; try again later */
#define CRMH_RATE_LIMITED 2 /* the CRM throttled us; retry_after_ms says how long, 0 = unknown */
#define CRMH_AUTH_EXPIRED 3 /* credentials rejected (401); the host retries with backoff */
#define CRMH_PERMANENT 4    /* will never succeed as sent (4xx, 410); dead-letter at once */
#define CRMH_BAD_CONFIG 5   /* the integration's config is unusable (create, test_connection) */
#define CRMH_UNSUPPORTED 6  /* this adapter does not offer the operation */
#define CRMH_INTERNAL 7     /* a bug or resource failure inside the adapter */

/* Log levels for crmh_host_api.log. */
#define CRMH_LOG_DEBUG 0
#define CRMH_LOG_INFO 1
#define CRMH_LOG_WARN 2
#define CRMH_LOG_ERROR 3

/* Descriptor flags. */
#define CRMH_FLAG_INSTANCE_THREADSAFE 0x1u /* one instance may serve concurrent calls */

/* Key formats for crmh_host_api.hmac_sha256. */
#define CRMH_KEY_RAW 0          /* the secret's bytes are the key */
#define CRMH_KEY_WHSEC_BASE64 1 /* Standard Webhooks: "whsec_" + base64(key) */

/* Bounded text returned by the adapter. */
#define CRMH_MESSAGE_MAX 512

/* Opaque host context for one call (deliver / lookup_contact / test_connection). Pass it back to
 * host services made during that call. OWNERSHIP: host-owned; valid until that call returns. */
typedef struct crmh_call crmh_call;

/* ---------------------------------------------------------------------------------------------
 * HTTP, as offered by the host
 * ------------------------------------------------------------------------------------------- */

/* OWNERSHIP: header strings are borrowed from whoever filled the struct. */
typedef struct crmh_header {
  crmh_str name;
  crmh_str value;
} crmh_header;

/* crmh_http_request.flags (since 1.1). */
#define CRMH_REQUEST_USE_CREDENTIAL 0x1u /* the host attaches the integration's credential (OAuth
                                          * access token, or API token) itself, and resolves a
                                          * url that starts with '/' against the connection's API
                                          * base; the adapter never sees either */

/* Filled by the adapter; borrowed by the host for the duration of http_send. */
typedef struct crmh_http_request {
  uint32_t struct_size;
  crmh_str method;             /* "GET", "POST", "PATCH", ... */
  crmh_str url;                /* absolute http(s) URL; with USE_CREDENTIAL also "/path..." */
  const crmh_header* headers;  /* may be NULL when header_count is 0 */
  size_t header_count;
  crmh_str body;               /* may be empty */
  int64_t deadline_ms;         /* monotonic ms; 0 = the call's own deadline. Host clamps to it */
  uint32_t flags;              /* since 1.1: CRMH_REQUEST_*; a 1.0 adapter's request has none */
} crmh_http_request;

/* Transport errors reported in crmh_http_response.transport_error. */
#define CRMH_NET_OK 0
#define CRMH_NET_TIMEOUT 1   /* the deadline passed before a full response */
#define CRMH_NET_CONNECT 2   /* could not connect (refused, unreachable, DNS) */
#define CRMH_NET_RESET 3     /* connection reset or closed mid-exchange */
#define CRMH_NET_TLS 4       /* TLS handshake or verification failed */
#define CRMH_NET_BAD_URL 5   /* the request URL could not be used */

/* Filled by the host. OWNERSHIP: host-owned; every pointer inside stays valid until the adapter
 * call (deliver / lookup_contact / test_connection) during which http_send ran returns. The
 * adapter sets struct_size to sizeof(crmh_http_response) before the call. */
typedef struct crmh_http_response {
  uint32_t struct_size;
  int32_t transport_error;     /* CRMH_NET_*; when not OK, status is 0 */
  int32_t status;              /* HTTP status code */
  const crmh_header* headers;  /* response headers, names as received */
  size_t header_count;
  crmh_str body;
} crmh_http_response;

/* ---------------------------------------------------------------------------------------------
 * Host services
 * ------------------------------------------------------------------------------------------- */

/* OWNERSHIP: host-owned; valid from create until destroy of every instance it was passed to.
 * THREADING: every function is thread-safe. */
typedef struct crmh_host_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;

  /* `host_ctx` is the value passed to create (names the integration in the host's log). */
  void (*log)(void* host_ctx, int32_t level, crmh_str message);
  int64_t (*wall_clock_ms)(void* host_ctx); /* Unix epoch milliseconds */
  int64_t (*monotonic_ms)(void* host_ctx);  /* the clock every deadline is measured on */

  /* Blocking HTTP exchange. Returns CRMH_OK when a response (any status) was received; otherwise
   * the transport failure is in out->transport_error and the return value says how to classify
   * it (CRMH_RETRY for timeouts and resets, CRMH_PERMANENT for an unusable URL). The host owns
   * TLS, connection reuse and timeouts; redirects are never followed. */
  crmh_status (*http_send)(crmh_call* call, const crmh_http_request* request,
                           crmh_http_response* out);

  /* HMAC-SHA256 of `message` under the integration secret named `secret_name` (a key of the
   * integration config that the host holds; the adapter never sees its value). Writes 32 bytes.
   * Returns CRMH_BAD_CONFIG when no such secret is set or it does not decode per key_format. */
  crmh_status (*hmac_sha256)(crmh_call* call, crmh_str secret_name, uint32_t key_format,
                             crmh_str message, uint8_t out[32]);

  /* Since 1.1. CRMH_OK when the integration secret named `secret_name` is set and decodes per
   * key_format, else CRMH_BAD_CONFIG; says nothing of the value. It takes the host_ctx of create,
   * not a call, so `create` can refuse a secret it could never use, when the integration is
   * created, instead of failing every delivery later. A 1.0 host lacks it: check
   * CRMH_HAS_FIELD(crmh_host_api, host, check_secret) first. */
  crmh_status (*check_secret)(void* host_ctx, crmh_str secret_name, uint32_t key_format);
} crmh_host_api;

/* ---------------------------------------------------------------------------------------------
 * What the host hands an adapter
 * ------------------------------------------------------------------------------------------- */

/* One delivery of one event to one integration. OWNERSHIP: borrowed for the deliver call. */
typedef struct crmh_delivery {
  uint32_t struct_size;
  uint32_t attempt;         /* 1 for the first attempt; a replay starts again at 1 */
  crmh_str delivery_id;     /* stable across retries, restarts and reloads: the idempotency key */
  crmh_str event_id;
  crmh_str tenant_id;
  crmh_str integration_id;
  crmh_str event_type;      /* "visitor.pre_registered", "visitor.checked_in", ... */
  int64_t deadline_ms;      /* monotonic ms by which the call must return */
  uint32_t payload_schema_version; /* 1 = the visitor event JSON of the product documents */
  crmh_str payload_json;    /* the event body, UTF-8 JSON */
  /* Since 1.2: the integration's field mapping applied to this event by the host, one JSON object
   * per record the adapter's default_mapping names: {"contact": {"LastName": "Doe", ...},
   * "activity": {...}}. Values are strings, numbers or booleans; a field the mapping left empty
   * is absent, and a required one that it could not fill never reaches the adapter (the host
   * dead-letters the delivery naming the field). Empty when the adapter declares no mapping. */
  crmh_str record_json;
} crmh_delivery;

/* A contact look-up. OWNERSHIP: borrowed for the lookup_contact call. */
typedef struct crmh_lookup {
  uint32_t struct_size;
  crmh_str email;
  crmh_str tenant_id;
  crmh_str integration_id;
  int64_t deadline_ms;      /* monotonic ms */
} crmh_lookup;

/* Where an adapter writes JSON for the host; the host copies before write returns.
 * OWNERSHIP: host-owned, valid during the call it is passed to. */
typedef struct crmh_json_sink {
  void* ctx;
  void (*write)(void* ctx, crmh_str json);
} crmh_json_sink;

/* Details of an outcome. OWNERSHIP: host-owned storage, zeroed and sized by the host before the
 * call; the adapter fills it. `message` must be NUL-terminated and must never contain a secret. */
typedef struct crmh_result {
  uint32_t struct_size;
  int32_t http_status;      /* the CRM's HTTP status, 0 when none was received */
  int64_t retry_after_ms;   /* with CRMH_RATE_LIMITED (or RETRY): the wait the CRM asked for */
  char message[CRMH_MESSAGE_MAX];
} crmh_result;

/* ---------------------------------------------------------------------------------------------
 * OAuth 2.0 (since 1.1): what an adapter tells the host of its CRM's authorization server. The
 * host runs the flows, keeps the tokens sealed and refreshes them; the adapter never sees a token
 * or a client secret. Client id and secret are the integration's config keys `client_id` and
 * `client_secret`.
 * ------------------------------------------------------------------------------------------- */

#define CRMH_OAUTH_PKCE 0x1u               /* send an S256 code_challenge with the authorization */
#define CRMH_OAUTH_CLIENT_CREDENTIALS 0x2u /* the client credentials grant (daemon apps) may be
                                            * chosen by the integration (`oauth_grant`) */
#define CRMH_OAUTH_CLIENT_BASIC_AUTH 0x4u  /* client authentication by HTTP Basic, not the body */

/* URL templates may name integration config keys in braces, "https://{login_host}/token" or
 * ".../{tenant}/oauth2/v2.0/token": the host fills them in (URL-encoded; a value that is itself an
 * http(s) URL is taken as written, a base URL) from the integration's non-secret config. The host
 * sends a credential only over https (or to this machine), and a request's credential only to the
 * connection's API base. OWNERSHIP: a static of the adapter, like the descriptor. */
typedef struct crmh_oauth_provider {
  uint32_t struct_size;
  const char* authorize_url;     /* template; NULL when only client credentials are offered */
  const char* token_url;         /* template */
  const char* scopes;            /* the `scope` parameter as the provider wants it; may be NULL */
  const char* authorize_params;  /* more authorize parameters, "access_type=offline&prompt=consent" */
  const char* api_base_field;    /* token-response field holding the API base ("instance_url",
                                  * "api_domain"), taken again from every refresh; NULL = none */
  const char* scheme;            /* Authorization scheme: NULL = "Bearer"; "Zoho-oauthtoken" */
  uint32_t flags;                /* CRMH_OAUTH_* */
  /* An integration may hold the secret `api_token` instead of an OAuth connection (Pipedrive's
   * API token, a HubSpot private-app token): the host then attaches that token, in this header
   * ("x-api-token"), or when NULL as "Authorization: <scheme> <token>". */
  const char* api_token_header;
  /* Since 1.2. The API base (template) when neither the token response (api_base_field) nor the
   * integration's config `api_base` names one: "https://api.hubapi.com". NULL = none. */
  const char* api_base;
} crmh_oauth_provider;

/* ---------------------------------------------------------------------------------------------
 * The adapter descriptor
 * ------------------------------------------------------------------------------------------- */

/* OWNERSHIP: a static of the adapter image; the host reads min(struct_size, its sizeof) bytes.
 * Fill it with CRMH_DEFINE_ADAPTER, never by hand: the checked fields come from this header. */
typedef struct crmh_adapter {
  uint32_t struct_size;
  uint16_t abi_major;          /* CRMH_ABI_MAJOR the adapter was built against */
  uint16_t abi_minor;          /* CRMH_ABI_MINOR the adapter was built against */
  uint16_t min_host_minor;     /* the lowest host ABI minor the adapter needs */
  uint16_t reserved;           /* zero */
  const char* build_signature; /* CRMH_BUILD_SIGNATURE */
  uint32_t flags;              /* CRMH_FLAG_* */
  const char* name;            /* adapter name used in config, e.g. "webhook"; [a-z0-9_-]+ */
  const char* version;         /* the adapter's own version, free text */
  const char* description;     /* one line, may be NULL */

  /* Required. Parse `config_json` (the integration's config object; secret fields are replaced by
   * the string "(held by host)" and are usable only through hmac_sha256) and create an instance.
   * On failure return CRMH_BAD_CONFIG (or INTERNAL) with a message in `out`; *instance untouched.
   * On CRMH_OK, *instance must be non-NULL: the host takes a NULL instance as a failed create. */
  crmh_status (*create)(const crmh_host_api* host, void* host_ctx, crmh_str config_json,
                        void** instance, crmh_result* out);
  /* Required. Release an instance; no call on it is running or will follow. */
  void (*destroy)(void* instance);
  /* Required. Deliver one event. */
  crmh_status (*deliver)(void* instance, crmh_call* call, const crmh_delivery* delivery,
                         crmh_result* out);
  /* Optional (NULL = CRMH_UNSUPPORTED). Look a contact up by email. On CRMH_OK write one JSON
   * object to `sink`: {"found": true, "contact": {...}} or {"found": false}. */
  crmh_status (*lookup_contact)(void* instance, crmh_call* call, const crmh_lookup* lookup,
                                crmh_json_sink sink, crmh_result* out);
  /* Optional (NULL = CRMH_UNSUPPORTED). Check that the configured CRM answers. */
  crmh_status (*test_connection)(void* instance, crmh_call* call, crmh_result* out);

  /* Since 1.1. Optional (NULL = no OAuth): the CRM's authorization server. An adapter that sets
   * it also needs a 1.1 host: CRMH_MIN_HOST_MINOR 1. */
  const crmh_oauth_provider* oauth;

  /* Since 1.2. Optional (NULL = no mapping, record_json stays empty). The default field mapping,
   * as JSON: {"contact": {"<CRM field>": <rule>, ...}, "activity": {...}}; an integration's
   * `mapping` overrides it field by field. The host parses and applies it; the adapter reads only
   * the mapped records (crmh_delivery.record_json). The rule language is in docs/CONTRACTS.md
   * ("Field mapping"): {"from": "visitor.email", "transform": ["trim", "lower"]},
   * {"template": "{visitor.first_name} {visitor.last_name}"}, {"value": "Completed"}, with
   * "default" and "required" (a required field is refused empty, naming it). */
  const char* default_mapping;
  /* Since 1.2. The CRM's published request limits, the default pacing of the host's client-side
   * limiter (an integration's `pacing_*` config overrides): at most pacing_requests requests per
   * pacing_window_ms, and at most pacing_concurrency at once; 0 = no such limit. */
  uint32_t pacing_requests;
  uint32_t pacing_window_ms;
  uint32_t pacing_concurrency;
} crmh_adapter;

/* The entry point every adapter exports (write it with CRMH_DEFINE_ADAPTER). Returns the static
 * descriptor, or NULL when the adapter cannot serve a host of that ABI version. */
typedef const crmh_adapter* (*crmh_adapter_entry_fn)(uint16_t host_abi_major,
                                                     uint16_t host_abi_minor);

/* An adapter may define CRMH_MIN_HOST_MINOR before including this header. */
#ifndef CRMH_MIN_HOST_MINOR
#define CRMH_MIN_HOST_MINOR 0
#endif

#ifdef __cplusplus
#define CRMH_EXTERN_C extern "C"
#else
#define CRMH_EXTERN_C
#endif

/* Omitted optional functions are meant to be NULL, but g++ -Wextra (unlike C compilers) flags
 * members left out of a designated initializer; the descriptor silences that for itself only. */
#if defined(__cplusplus) && defined(__GNUC__)
#define CRMH_DESCRIPTOR_BEGIN_ \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")
#define CRMH_DESCRIPTOR_END_ _Pragma("GCC diagnostic pop")
#else
#define CRMH_DESCRIPTOR_BEGIN_
#define CRMH_DESCRIPTOR_END_
#endif

/* Defines the descriptor and the exported entry function. Pass designated initializers for the
 * remaining fields, in declaration order (C++20 requires the order):
 *
 *   CRMH_DEFINE_ADAPTER(.flags = CRMH_FLAG_INSTANCE_THREADSAFE, .name = "webhook",
 *                       .version = "1.0.0", .description = "...",
 *                       .create = wh_create, .destroy = wh_destroy, .deliver = wh_deliver)
 */
#define CRMH_DEFINE_ADAPTER(...)                                                              \
  CRMH_DESCRIPTOR_BEGIN_                                                                      \
  static const crmh_adapter crmh_adapter_descriptor_ = {                                      \
      .struct_size = sizeof(crmh_adapter),                                                    \
      .abi_major = CRMH_ABI_MAJOR,                                                            \
      .abi_minor = CRMH_ABI_MINOR,                                                            \
      .min_host_minor = CRMH_MIN_HOST_MINOR,                                                  \
      .reserved = 0,                                                                          \
      .build_signature = CRMH_BUILD_SIGNATURE,                                                \
      __VA_ARGS__};                                                                           \
  CRMH_DESCRIPTOR_END_                                                                        \
  /* A prototype first, so adapters built with -Wmissing-prototypes stay warning-free. */     \
  CRMH_EXTERN_C CRMH_EXPORT const crmh_adapter* crmh_adapter_entry(uint16_t host_abi_major,   \
                                                                   uint16_t host_abi_minor);  \
  CRMH_EXTERN_C CRMH_EXPORT const crmh_adapter* crmh_adapter_entry(uint16_t host_abi_major,   \
                                                                   uint16_t host_abi_minor) { \
    (void)host_abi_minor;                                                                     \
    return host_abi_major == CRMH_ABI_MAJOR ? &crmh_adapter_descriptor_ : NULL;               \
  }

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CRMHOST_ADAPTER_H */
