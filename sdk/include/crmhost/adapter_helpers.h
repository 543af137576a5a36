/*
 * crmhost adapter helpers: small pure functions that most CRM adapters need and none should write
 * again. Header-only (static inline), C99, no allocation; NOT part of the ABI: nothing here
 * crosses the boundary, and an adapter that does not include this header loses nothing.
 */
#ifndef CRMHOST_ADAPTER_UTIL_H
#define CRMHOST_ADAPTER_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Standard base64 with padding (RFC 4648 §4). `out` holds CRMH_BASE64_SIZE(n) bytes; it is
 * NUL-terminated. */
#define CRMH_BASE64_SIZE(n) (4 * (((n) + 2) / 3) + 1)
static inline void crmh_base64_encode(const uint8_t* in, size_t n, char* out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;
  for (i = 0; i + 2 < n; i += 3) {
    unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
    *out++ = alphabet[(v >> 18) & 63];
    *out++ = alphabet[(v >> 12) & 63];
    *out++ = alphabet[(v >> 6) & 63];
    *out++ = alphabet[v & 63];
  }
  if (i < n) {
    unsigned long v = (unsigned long)in[i] << 16;
    if (i + 1 < n) v |= (unsigned long)in[i + 1] << 8;
    *out++ = alphabet[(v >> 18) & 63];
    *out++ = alphabet[(v >> 12) & 63];
    *out++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
    *out++ = '=';
  }
  *out = '\0';
}

/* Whether `s` equals the NUL-terminated ASCII `lower` ignoring ASCII case (header names). */
static inline int crmh_equals_nocase(crmh_str s, const char* lower) {
  size_t i;
  for (i = 0; i < s.len; ++i) {
    char c = s.ptr[i];
    if (lower[i] == '\0') return 0;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != lower[i]) return 0;
  }
  return lower[i] == '\0';
}

/* The first response header named `lower_name` (compared ignoring case), or NULL. */
static inline const crmh_header* crmh_find_header(const crmh_http_response* resp,
                                                  const char* lower_name) {
  size_t i;
  for (i = 0; i < resp->header_count; ++i)
    if (crmh_equals_nocase(resp->headers[i].name, lower_name)) return &resp->headers[i];
  return NULL;
}

/* Retry-After as milliseconds, for crmh_result.retry_after_ms: delta-seconds only (RFC 9110
 * §10.2.3), capped at `max_seconds` (itself at most a year). An HTTP-date, a malformed value or no header is "unknown",
 * 0, which leaves the wait to the host's backoff. */
static inline int64_t crmh_retry_after_ms(const crmh_http_response* resp, int64_t max_seconds) {
  const crmh_header* h = crmh_find_header(resp, "retry-after");
  crmh_str v;
  int64_t seconds = 0;
  size_t j;
  if (h == NULL) return 0;
  if (max_seconds > 31536000) max_seconds = 31536000;
  v = h->value;
  while (v.len > 0 && (v.ptr[0] == ' ' || v.ptr[0] == '\t')) ++v.ptr, --v.len;
  while (v.len > 0 && (v.ptr[v.len - 1] == ' ' || v.ptr[v.len - 1] == '\t')) --v.len;
  if (v.len == 0) return 0;
  for (j = 0; j < v.len; ++j) {
    if (v.ptr[j] < '0' || v.ptr[j] > '9') return 0;
    seconds = seconds * 10 + (v.ptr[j] - '0');
    if (seconds > max_seconds) seconds = max_seconds;
  }
  return seconds * 1000;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CRMHOST_ADAPTER_UTIL_H */
