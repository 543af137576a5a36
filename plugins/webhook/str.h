/* Byte-string helpers over crmh_str, shared by the webhook adapter's files. */
#ifndef CRMH_WEBHOOK_STR_H
#define CRMH_WEBHOOK_STR_H

#include <crmhost/adapter.h>
#include <string.h>

static inline crmh_str str_of(const char* s) {
  crmh_str r;
  r.ptr = s;
  r.len = strlen(s);
  return r;
}

static inline int str_equals(crmh_str a, const char* b) {
  size_t n = strlen(b);
  return a.len == n && (n == 0 || memcmp(a.ptr, b, n) == 0);
}

/* ASCII case-insensitive, because HTTP header names and URL schemes are. */
static inline int str_starts_with_nocase(crmh_str a, const char* prefix) {
  size_t i, n = strlen(prefix);
  if (a.len < n) return 0;
  for (i = 0; i < n; ++i) {
    int x = (unsigned char)a.ptr[i], y = (unsigned char)prefix[i];
    if (x >= 'A' && x <= 'Z') x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z') y += 'a' - 'A';
    if (x != y) return 0;
  }
  return 1;
}

#endif /* CRMH_WEBHOOK_STR_H */
