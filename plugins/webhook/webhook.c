/*
 * The generic Webhook adapter: POSTs each visitor event, byte for byte, to one configured URL,
 * signed per Standard Webhooks (webhook-id / webhook-timestamp / webhook-signature) when the
 * integration has a secret. It is the fallback for CRMs without a dedicated adapter.
 *
 * Plain C99 that links nothing but libc: the config JSON is read by json_reader.c (config.h
 * lists the keys), and the HMAC is computed by the host (the adapter never sees the secret).
 * Each request's deadline is min(the delivery's deadline, now + timeout_ms).
 *
 * Outcomes: 2xx OK; 3xx RETRY (redirects are never followed); 410 PERMANENT; 429 and 503
 * RATE_LIMITED with Retry-After (delta-seconds; an HTTP-date counts as unknown = 0); other
 * statuses RETRY; transport failures RETRY, except an unusable URL, which is PERMANENT.
 *
 * test_connection POSTs {"type":"crmhost.test"}, signed like an event, with a fresh webhook-id
 * "crmhost_test_<wall ms>", so the owner of the receiver can check its signature verification.
 * lookup_contact is not offered: the webhook is one-directional (product docs, "Limitations").
 *
 * THREADING: an instance is immutable after create, so it declares INSTANCE_THREADSAFE.
 *
 * The version can be overridden at build time with a string literal, e.g.
 * -DCRMH_WEBHOOK_VERSION='"1.0.1-test"'; it appears in the descriptor, the user-agent and the
 * x-crmhost-adapter-version header, so a receiver can tell adapter generations apart.
 */
#include <crmhost/adapter.h>
#include <crmhost/adapter_helpers.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "str.h"

#ifndef CRMH_WEBHOOK_VERSION
#define CRMH_WEBHOOK_VERSION "1.0.0"
#endif

#define WEBHOOK_EXCERPT_MAX 160              /* response body bytes quoted in a failure message */
#define WEBHOOK_MAX_RETRY_AFTER_S 2147483647 /* keeps seconds * 1000 inside int64 */

#if defined(__GNUC__)
#define WEBHOOK_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define WEBHOOK_PRINTF(fmt, args)
#endif

/* One configured endpoint. Invariant: immutable between create and destroy. */
typedef struct webhook {
  const crmh_host_api* host;
  void* host_ctx;
  wh_config config;
} webhook;

/* ---- result ------------------------------------------------------------------------------- */

/* Fills the host's result, touching only fields its struct_size says exist. The message is
 * truncated by vsnprintf and always NUL-terminated. It never holds the URL (it may carry
 * credentials in its userinfo or query) and never a secret (the adapter never has one). */
static void result_set(crmh_result* out, int32_t http_status, int64_t retry_after_ms,
                       const char* fmt, ...) WEBHOOK_PRINTF(4, 5);
static void result_set(crmh_result* out, int32_t http_status, int64_t retry_after_ms,
                       const char* fmt, ...) {
  va_list args;
  if (out == NULL) return;
  if (CRMH_HAS_FIELD(crmh_result, out, http_status)) out->http_status = http_status;
  if (CRMH_HAS_FIELD(crmh_result, out, retry_after_ms)) out->retry_after_ms = retry_after_ms;
  if (!CRMH_HAS_FIELD(crmh_result, out, message)) return;
  va_start(args, fmt);
  vsnprintf(out->message, sizeof out->message, fmt, args);
  va_end(args);
}

/* Appends ": <excerpt>" of a receiver's body to the message, printable ASCII only, because the
 * receiver's explanation is what an operator needs when looking at a dead letter. */
static void result_append_excerpt(crmh_result* out, crmh_str body) {
  size_t used, i, n;
  if (out == NULL || !CRMH_HAS_FIELD(crmh_result, out, message) || body.len == 0) return;
  used = strlen(out->message);
  if (used + 3 >= sizeof out->message) return;
  memcpy(out->message + used, ": ", 2);
  used += 2;
  n = body.len < WEBHOOK_EXCERPT_MAX ? body.len : WEBHOOK_EXCERPT_MAX;
  for (i = 0; i < n && used + 1 < sizeof out->message; ++i) {
    unsigned char c = (unsigned char)body.ptr[i];
    out->message[used++] = (char)(c >= 0x20 && c < 0x7f ? c : '.');
  }
  out->message[used] = '\0';
}

/* ---- signing ------------------------------------------------------------------------------ */

/* Writes "v1,<base64 HMAC-SHA256 of id.timestamp.body>" into `sig` (at least 48 bytes). */
static crmh_status webhook_sign(const webhook* wh, crmh_call* call, crmh_str id, const char* ts,
                                crmh_str body, char* sig, crmh_result* out) {
  size_t ts_len = strlen(ts), n = id.len + 1 + ts_len + 1 + body.len;
  uint8_t mac[32];
  crmh_str message;
  crmh_status status;
  char* signed_content = (char*)malloc(n > 0 ? n : 1);
  if (signed_content == NULL) {
    result_set(out, 0, 0, "out of memory building the signed content (%lu bytes)",
               (unsigned long)n);
    return CRMH_INTERNAL;
  }
  if (id.len > 0) memcpy(signed_content, id.ptr, id.len);
  signed_content[id.len] = '.';
  memcpy(signed_content + id.len + 1, ts, ts_len);
  signed_content[id.len + 1 + ts_len] = '.';
  if (body.len > 0) memcpy(signed_content + id.len + ts_len + 2, body.ptr, body.len);
  message.ptr = signed_content;
  message.len = n;
  status = wh->host->hmac_sha256(call, str_of("secret"), CRMH_KEY_WHSEC_BASE64, message, mac);
  free(signed_content);
  if (status != CRMH_OK) {
    /* The host's status passes through: BAD_CONFIG (no such secret) dead-letters at once. */
    result_set(out, 0, 0,
               "signing failed: the host could not use the secret \"secret\" "
               "(status %d)",
               (int)status);
    return status;
  }
  memcpy(sig, "v1,", 3);
  crmh_base64_encode(mac, sizeof mac, sig + 3);
  return CRMH_OK;
}

/* ---- the exchange ------------------------------------------------------------------------- */

static const char* transport_error_name(int32_t e) {
  switch (e) {
    case CRMH_NET_TIMEOUT:
      return "timeout";
    case CRMH_NET_CONNECT:
      return "could not connect";
    case CRMH_NET_RESET:
      return "connection reset";
    case CRMH_NET_TLS:
      return "TLS failure";
    case CRMH_NET_BAD_URL:
      return "unusable URL";
    default:
      return "unknown transport failure";
  }
}

/* Turns what http_send reported into an outcome. The classes follow Standard Webhooks'
 * delivery guidance: 2xx success, redirects not followed, 410 retires the endpoint, throttling
 * honoured. A Retry-After goes back with every failure, since the host waits for it when it is
 * longer than its own backoff (DESIGN.md §2). */
static crmh_status classify(crmh_status sent, const crmh_http_response* resp, crmh_result* out) {
  int32_t s = resp->status;
  int64_t wait;
  crmh_status outcome = CRMH_RETRY;
  const char* why = "the receiver did not accept the event";
  if (sent != CRMH_OK || resp->transport_error != CRMH_NET_OK) {
    result_set(out, 0, 0, "transport error: %s", transport_error_name(resp->transport_error));
    return resp->transport_error == CRMH_NET_BAD_URL ? CRMH_PERMANENT : CRMH_RETRY;
  }
  if (s >= 200 && s <= 299) {
    result_set(out, s, 0, "receiver answered HTTP %d", (int)s);
    return CRMH_OK;
  }
  if (s >= 300 && s <= 399) {
    why = "redirect not followed; configure the final URL";
  } else if (s == 410) {
    outcome = CRMH_PERMANENT;
    why = "Gone: the receiver retired this endpoint";
  } else if (s == 429 || s == 503) {
    outcome = CRMH_RATE_LIMITED;
    why = "the receiver is throttling";
  }
  wait = crmh_retry_after_ms(resp, WEBHOOK_MAX_RETRY_AFTER_S);
  if (wait > 0) {
    result_set(out, s, wait, "HTTP %d: %s; retry after %" PRId64 " ms", (int)s, why, wait);
  } else {
    result_set(out, s, 0, "HTTP %d: %s%s", (int)s, why,
               outcome == CRMH_RATE_LIMITED ? "; retry after unknown" : "");
  }
  result_append_excerpt(out, resp->body);
  return outcome;
}

static crmh_header header_of(const char* name, crmh_str value) {
  crmh_header h;
  h.name = str_of(name);
  h.value = value;
  return h;
}

/* POSTs `body` as message `id` (signed when configured) and classifies the answer. The one
 * path for both deliver and test_connection, so a test ping is exactly what an event is. */
static crmh_status webhook_post(const webhook* wh, crmh_call* call, crmh_str id, crmh_str body,
                                int64_t deadline_ms, crmh_result* out) {
  char ts[24], sig[4 + 44 + 1];
  crmh_header headers[6];
  size_t n = 0, i;
  crmh_http_request req;
  crmh_http_response resp;
  crmh_status status;

  /* The spec forbids '.' in the id (it separates the signed parts); CR/LF would split headers. */
  for (i = 0; i < id.len; ++i) {
    if (id.ptr[i] == '.' || (unsigned char)id.ptr[i] < 0x20) break;
  }
  if (id.len == 0 || i < id.len) {
    result_set(out, 0, 0, "delivery id is empty or contains '.' or a control character");
    return CRMH_PERMANENT;
  }
  /* webhook-timestamp is this attempt's time, so it changes on every retry (spec). */
  snprintf(ts, sizeof ts, "%" PRId64, wh->host->wall_clock_ms(wh->host_ctx) / 1000);

  headers[n++] = header_of("content-type", str_of("application/json"));
  headers[n++] = header_of("user-agent", str_of("crmhost-webhook/" CRMH_WEBHOOK_VERSION));
  headers[n++] = header_of("webhook-id", id);
  headers[n++] = header_of("webhook-timestamp", str_of(ts));
  headers[n++] = header_of("x-crmhost-adapter-version", str_of(CRMH_WEBHOOK_VERSION));
  if (wh->config.is_signed) {
    status = webhook_sign(wh, call, id, ts, body, sig, out);
    if (status != CRMH_OK) return status;
    headers[n++] = header_of("webhook-signature", str_of(sig));
  }

  memset(&req, 0, sizeof req);
  req.struct_size = sizeof req;
  req.method = str_of("POST");
  req.url.ptr = wh->config.url;
  req.url.len = wh->config.url_len;
  req.headers = headers;
  req.header_count = n;
  req.body = body;
  req.deadline_ms = deadline_ms;
  memset(&resp, 0, sizeof resp);
  resp.struct_size = sizeof resp;
  status = wh->host->http_send(call, &req, &resp);
  return classify(status, &resp, out);
}

/* ---- the descriptor's functions ----------------------------------------------------------- */

static crmh_status webhook_create(const crmh_host_api* host, void* host_ctx, crmh_str config_json,
                                  void** instance, crmh_result* out) {
  webhook* wh;
  char line[96], why[CRMH_MESSAGE_MAX];
  if (host == NULL || !CRMH_HAS_FIELD(crmh_host_api, host, hmac_sha256) || host->log == NULL ||
      host->wall_clock_ms == NULL || host->monotonic_ms == NULL || host->http_send == NULL ||
      host->hmac_sha256 == NULL) {
    result_set(out, 0, 0, "host API lacks a v1.0 service this adapter needs");
    return CRMH_INTERNAL;
  }
  wh = (webhook*)calloc(1, sizeof *wh);
  if (wh == NULL) {
    result_set(out, 0, 0, "out of memory");
    return CRMH_INTERNAL;
  }
  if (!wh_config_read(config_json, &wh->config, why, sizeof why)) {
    free(wh);
    result_set(out, 0, 0, "%s", why);
    return CRMH_BAD_CONFIG;
  }
  /* A secret that is not whsec_ + base64 could sign nothing: refuse it now, naming the key,
   * rather than dead-letter every delivery with BAD_CONFIG later (a 1.0 host cannot tell). */
  if (wh->config.is_signed && CRMH_HAS_FIELD(crmh_host_api, host, check_secret) &&
      host->check_secret != NULL &&
      host->check_secret(host_ctx, str_of("secret"), CRMH_KEY_WHSEC_BASE64) != CRMH_OK) {
    wh_config_free(&wh->config);
    free(wh);
    result_set(out, 0, 0,
               "config: secret must be \"whsec_\" followed by base64 (Standard Webhooks)");
    return CRMH_BAD_CONFIG;
  }
  wh->host = host;
  wh->host_ctx = host_ctx;
  snprintf(line, sizeof line, "webhook %s: ready, %s, timeout %" PRId64 " ms", CRMH_WEBHOOK_VERSION,
           wh->config.is_signed ? "signed" : "unsigned", wh->config.timeout_ms);
  host->log(host_ctx, CRMH_LOG_INFO, str_of(line));
  *instance = wh;
  return CRMH_OK;
}

static void webhook_destroy(void* instance) {
  webhook* wh = (webhook*)instance;
  if (wh == NULL) return;
  wh_config_free(&wh->config);
  free(wh);
}

static crmh_status webhook_deliver(void* instance, crmh_call* call, const crmh_delivery* delivery,
                                   crmh_result* out) {
  const webhook* wh = (const webhook*)instance;
  int64_t deadline;
  if (delivery == NULL || !CRMH_HAS_FIELD(crmh_delivery, delivery, payload_json)) {
    result_set(out, 0, 0, "host passed no v1.0 delivery");
    return CRMH_INTERNAL;
  }
  deadline = wh->host->monotonic_ms(wh->host_ctx) + wh->config.timeout_ms;
  if (delivery->deadline_ms > 0 && delivery->deadline_ms < deadline) {
    deadline = delivery->deadline_ms;
  }
  return webhook_post(wh, call, delivery->delivery_id, delivery->payload_json, deadline, out);
}

static crmh_status webhook_test_connection(void* instance, crmh_call* call, crmh_result* out) {
  const webhook* wh = (const webhook*)instance;
  char id[40];
  snprintf(id, sizeof id, "crmhost_test_%" PRId64, wh->host->wall_clock_ms(wh->host_ctx));
  /* deadline now + timeout_ms; the host clamps it to the call's own deadline. */
  return webhook_post(wh, call, str_of(id), str_of("{\"type\":\"crmhost.test\"}"),
                      wh->host->monotonic_ms(wh->host_ctx) + wh->config.timeout_ms, out);
}

CRMH_DEFINE_ADAPTER(.flags = CRMH_FLAG_INSTANCE_THREADSAFE, .name = "webhook",
                    .version = CRMH_WEBHOOK_VERSION,
                    .description = "POSTs each event to a URL, signed per Standard Webhooks",
                    .create = webhook_create, .destroy = webhook_destroy,
                    .deliver = webhook_deliver, .lookup_contact = NULL,
                    .test_connection = webhook_test_connection)
