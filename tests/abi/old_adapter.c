/*
 * "abi_v10": an adapter from the past. Plain C99, built by clang (not the host's compiler)
 * against the frozen v1.0 header in tests/abi/v1.0 and nothing else, so it stands for every
 * third-party adapter shipped when the ABI was 1.0. The host of today must keep loading it and
 * delivering through it (tests/abi/abi_compat_test.cpp).
 *
 * It uses every host service of v1.0 so that each crosses the compiler boundary: it POSTs the
 * event to the `url` of its config, signed per Standard Webhooks (webhook-id = delivery id,
 * webhook-timestamp from wall_clock_ms, webhook-signature from hmac_sha256 over the secret named
 * "secret"), checks the deadline on monotonic_ms, and logs one line per delivery.
 *
 * THREADING: an instance is immutable after create (INSTANCE_THREADSAFE).
 */
#include <crmhost/adapter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if CRMH_ABI_MAJOR != 1 || CRMH_ABI_MINOR != 0
#error "abi_v10 must be built against the frozen v1.0 header (-I tests/abi/v1.0)"
#endif

#define V10_URL_MAX 2048

/* Invariant: immutable between create and destroy. */
typedef struct v10_instance {
  const crmh_host_api* host;
  void* host_ctx;
  char url[V10_URL_MAX]; /* NUL-terminated, from config "url" */
  size_t url_len;
} v10_instance;

static crmh_str v10_str(const char* s, size_t n) {
  crmh_str r;
  r.ptr = s;
  r.len = n;
  return r;
}

static crmh_str v10_cstr(const char* s) { return v10_str(s, strlen(s)); }

static void v10_message(crmh_result* out, const char* text) {
  if (out == NULL) return;
  snprintf(out->message, sizeof out->message, "%s", text);
}

/* Copies the string value of "url" out of the config object. Enough JSON for a config the host
 * wrote itself: simple escapes are decoded, \u escapes are refused. Returns 0 on success. */
static int v10_read_url(crmh_str json, char* dst, size_t cap, size_t* len) {
  static const char key[] = "\"url\"";
  const char* end = json.ptr + json.len;
  const char* p = json.ptr;
  size_t n = 0;
  for (; p + sizeof key - 1 <= end; ++p) {
    if (memcmp(p, key, sizeof key - 1) == 0) break;
  }
  if (p + sizeof key - 1 > end) return -1;
  p += sizeof key - 1;
  while (p < end && (*p == ' ' || *p == ':')) ++p;
  if (p >= end || *p != '"') return -1;
  for (++p; p < end && *p != '"'; ++p) {
    char c = *p;
    if (c == '\\') {
      if (++p >= end) return -1;
      c = *p;
      if (c == 'u') return -1;
    }
    if (n + 1 >= cap) return -1;
    dst[n++] = c;
  }
  if (p >= end || n == 0) return -1;
  dst[n] = '\0';
  *len = n;
  return 0;
}

static crmh_status v10_create(const crmh_host_api* host, void* host_ctx, crmh_str config_json,
                              void** instance, crmh_result* out) {
  v10_instance* in = (v10_instance*)calloc(1, sizeof *in);
  if (in == NULL) return CRMH_INTERNAL;
  if (v10_read_url(config_json, in->url, sizeof in->url, &in->url_len) != 0) {
    free(in);
    v10_message(out, "config needs \"url\": a string without \\u escapes");
    return CRMH_BAD_CONFIG;
  }
  in->host = host;
  in->host_ctx = host_ctx;
  *instance = in;
  return CRMH_OK;
}

static void v10_destroy(void* instance) { free(instance); }

/* Standard base64 of `n` bytes into `dst` (room for 4 * ceil(n / 3) + 1). */
static void v10_base64(const uint8_t* src, size_t n, char* dst) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;
  for (i = 0; i + 2 < n; i += 3) {
    uint32_t v = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1] << 8) | src[i + 2];
    *dst++ = alphabet[(v >> 18) & 63];
    *dst++ = alphabet[(v >> 12) & 63];
    *dst++ = alphabet[(v >> 6) & 63];
    *dst++ = alphabet[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)src[i] << 16;
    if (i + 1 < n) v |= (uint32_t)src[i + 1] << 8;
    *dst++ = alphabet[(v >> 18) & 63];
    *dst++ = alphabet[(v >> 12) & 63];
    *dst++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
    *dst++ = '=';
  }
  *dst = '\0';
}

static crmh_status v10_deliver(void* instance, crmh_call* call, const crmh_delivery* delivery,
                               crmh_result* out) {
  const v10_instance* in = (const v10_instance*)instance;
  const crmh_host_api* host = in->host;
  char timestamp[24];
  char signature[3 + 45] = "v1,";
  uint8_t mac[32];
  char* signed_content;
  size_t signed_len;
  crmh_header headers[5];
  crmh_http_request req;
  crmh_http_response resp;
  crmh_status status;

  if (host->monotonic_ms(in->host_ctx) >= delivery->deadline_ms) {
    v10_message(out, "deadline passed before sending");
    return CRMH_RETRY;
  }
  snprintf(timestamp, sizeof timestamp, "%lld",
           (long long)(host->wall_clock_ms(in->host_ctx) / 1000));

  /* Standard Webhooks signs "<id>.<timestamp>.<body>". */
  signed_len = delivery->delivery_id.len + 1 + strlen(timestamp) + 1 + delivery->payload_json.len;
  signed_content = (char*)malloc(signed_len);
  if (signed_content == NULL) return CRMH_INTERNAL;
  memcpy(signed_content, delivery->delivery_id.ptr, delivery->delivery_id.len);
  signed_content[delivery->delivery_id.len] = '.';
  memcpy(signed_content + delivery->delivery_id.len + 1, timestamp, strlen(timestamp));
  signed_content[delivery->delivery_id.len + 1 + strlen(timestamp)] = '.';
  memcpy(signed_content + signed_len - delivery->payload_json.len, delivery->payload_json.ptr,
         delivery->payload_json.len);
  status = host->hmac_sha256(call, v10_cstr("secret"), CRMH_KEY_WHSEC_BASE64,
                             v10_str(signed_content, signed_len), mac);
  free(signed_content);
  if (status != CRMH_OK) {
    v10_message(out, "cannot sign: the integration needs a whsec_ secret");
    return status;
  }
  v10_base64(mac, sizeof mac, signature + 3);

  headers[0].name = v10_cstr("content-type");
  headers[0].value = v10_cstr("application/json");
  headers[1].name = v10_cstr("webhook-id");
  headers[1].value = delivery->delivery_id;
  headers[2].name = v10_cstr("webhook-timestamp");
  headers[2].value = v10_cstr(timestamp);
  headers[3].name = v10_cstr("webhook-signature");
  headers[3].value = v10_cstr(signature);
  headers[4].name = v10_cstr("x-crmhost-adapter");
  headers[4].value = v10_cstr("abi_v10");

  memset(&req, 0, sizeof req);
  req.struct_size = sizeof req;
  req.method = v10_cstr("POST");
  req.url = v10_str(in->url, in->url_len);
  req.headers = headers;
  req.header_count = sizeof headers / sizeof headers[0];
  req.body = delivery->payload_json;
  req.deadline_ms = 0; /* the call's own deadline */
  memset(&resp, 0, sizeof resp);
  resp.struct_size = sizeof resp;

  host->log(in->host_ctx, CRMH_LOG_INFO, v10_cstr("abi_v10: delivering one event"));
  status = host->http_send(call, &req, &resp);
  if (status != CRMH_OK) {
    v10_message(out, "transport failure");
    return status;
  }
  out->http_status = resp.status;
  if (resp.status >= 200 && resp.status < 300) return CRMH_OK;
  v10_message(out, "the receiver did not answer 2xx");
  return resp.status == 410 ? CRMH_PERMANENT : CRMH_RETRY;
}

CRMH_DEFINE_ADAPTER(.flags = CRMH_FLAG_INSTANCE_THREADSAFE, .name = "abi_v10",
                    .version = "1.0.0-frozen",
                    .description = "built by clang against the frozen v1.0 header (ABI tests)",
                    .create = v10_create, .destroy = v10_destroy, .deliver = v10_deliver)
