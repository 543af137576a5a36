/*
 * The webhook integration's config object, as the host hands it to create:
 *   url         required, http:// or https://, printable ASCII (percent-encode the rest)
 *   secret      present (as "(held by host)") = sign every request; absent or null = unsigned
 *   timeout_ms  optional, 1..86400000, default 15000
 * Unknown keys (such as `events`, which the host applies) are skipped.
 */
#ifndef CRMH_WEBHOOK_CONFIG_H
#define CRMH_WEBHOOK_CONFIG_H

#include <crmhost/adapter.h>

typedef struct wh_config {
  char* url; /* owned, NUL-terminated; non-NULL iff wh_config_read succeeded */
  size_t url_len;
  int is_signed; /* the host holds a secret under the key "secret" */
  int64_t timeout_ms;
} wh_config;

/* Reads `json` into `cfg`. Returns 1, or 0 with a reason in `why` (NUL-terminated; it names a
 * key or a byte offset, never a value) and nothing left to free. */
int wh_config_read(crmh_str json, wh_config* cfg, char* why, size_t why_size);
void wh_config_free(wh_config* cfg);

#endif /* CRMH_WEBHOOK_CONFIG_H */
