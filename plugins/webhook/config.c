/* Reading and checking the webhook integration's config; see config.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_reader.h"
#include "str.h"

#define DEFAULT_TIMEOUT_MS 15000
#define MAX_TIMEOUT_MS 86400000 /* a day: keeps now + timeout far from overflow */
#define MAX_URL 2048
#define MAX_DEPTH 32 /* bounds the recursion when skipping unknown values */

/* Why `url` cannot be used, or NULL. The host parses it for real (and answers BAD_URL); this
 * catches what is plainly wrong at create, where BAD_CONFIG reaches the person configuring
 * rather than a dead letter reaching them later. */
static const char* url_problem(const char* url, size_t len) {
  crmh_str s;
  size_t i, start;
  s.ptr = url;
  s.len = len;
  if (len > MAX_URL) return "url is longer than 2048 bytes";
  if (str_starts_with_nocase(s, "https://")) {
    start = 8;
  } else if (str_starts_with_nocase(s, "http://")) {
    start = 7;
  } else {
    return "url must start with http:// or https://";
  }
  if (start == len || url[start] == '/' || url[start] == '?' || url[start] == '#') {
    return "url has no host";
  }
  for (i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)url[i];
    if (c <= 0x20 || c >= 0x7f) return "url contains a space, control or non-ASCII byte";
  }
  return NULL;
}

/* The keys the adapter reads; anything else is skipped. */
enum config_key { KEY_OTHER, KEY_URL, KEY_SECRET, KEY_TIMEOUT, KEY_COUNT };

static enum config_key config_key_of(crmh_str name) {
  if (str_equals(name, "url")) return KEY_URL;
  if (str_equals(name, "secret")) return KEY_SECRET;
  if (str_equals(name, "timeout_ms")) return KEY_TIMEOUT;
  return KEY_OTHER;
}

/* A value of the wrong kind: -1 when it is at least well-formed JSON, else 0 (malformed), so a
 * truncated document is reported as malformed rather than as a wrong type. */
static int wrong_kind(wh_json_reader* r) { return wh_json_skip_value(r, MAX_DEPTH) ? -1 : 0; }

/* Reads the value of one key into `cfg`. Returns 1 on success; 0 with r->error set when the JSON
 * is malformed; -1 when the value is well-formed but of the wrong kind or range. */
static int read_value(wh_json_reader* r, enum config_key key, wh_config* cfg) {
  char c = wh_json_peek(r);
  int is_integer;
  switch (key) {
    case KEY_URL:
      return c == '"' ? wh_json_string(r, &cfg->url, &cfg->url_len) : wrong_kind(r);
    case KEY_SECRET:
      /* Only presence matters: the value is the host's placeholder, never the secret. */
      if (c == 'n') return wh_json_literal(r, "null");
      cfg->is_signed = c == '"';
      return c == '"' ? wh_json_string(r, NULL, NULL) : wrong_kind(r);
    case KEY_TIMEOUT:
      if (c != '-' && (c < '0' || c > '9')) return wrong_kind(r);
      if (!wh_json_number(r, &is_integer, &cfg->timeout_ms)) return 0;
      return is_integer && cfg->timeout_ms >= 1 && cfg->timeout_ms <= MAX_TIMEOUT_MS ? 1 : -1;
    default:
      return wh_json_skip_value(r, MAX_DEPTH);
  }
}

static const char* wrong_value(enum config_key key) {
  switch (key) {
    case KEY_URL:
      return "url must be a string";
    case KEY_SECRET:
      return "secret must be a string or null";
    default:
      return "timeout_ms must be an integer from 1 to 86400000";
  }
}

/* Reads the members of the top-level object. Returns 1, or 0 with `why` filled. */
static int read_members(wh_json_reader* r, wh_config* cfg, char* why, size_t why_size) {
  int seen[KEY_COUNT] = {0};
  if (!wh_json_consume(r, '{', "config must be a JSON object")) return 0;
  if (wh_json_peek(r) == '}') return wh_json_consume(r, '}', "expected '}'");
  for (;;) {
    crmh_str name;
    char* key;
    enum config_key which;
    int read;
    if (!wh_json_string(r, &key, &name.len)) return 0;
    name.ptr = key;
    which = config_key_of(name);
    free(key);
    if (which != KEY_OTHER && seen[which]++) {
      /* Two urls would leave which one the host's own reading picked to chance. */
      snprintf(why, why_size, "config: duplicate key \"%s\"",
               which == KEY_URL      ? "url"
               : which == KEY_SECRET ? "secret"
                                     : "timeout_ms");
      return 0;
    }
    if (!wh_json_consume(r, ':', "expected ':'")) return 0;
    read = read_value(r, which, cfg);
    if (read < 0) {
      snprintf(why, why_size, "config: %s", wrong_value(which));
      return 0;
    }
    if (read == 0) return 0;
    if (wh_json_peek(r) != ',') break;
    ++r->p;
  }
  return wh_json_consume(r, '}', "expected ',' or '}'");
}

int wh_config_read(crmh_str json, wh_config* cfg, char* why, size_t why_size) {
  wh_json_reader r;
  const char* problem = NULL;
  memset(cfg, 0, sizeof *cfg);
  cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
  why[0] = '\0';
  wh_json_init(&r, json);
  if (!read_members(&r, cfg, why, why_size)) {
    if (why[0] == '\0') wh_json_fail(&r, "unexpected input"); /* every failure says why */
  } else if (!wh_json_at_end(&r)) {
    wh_json_fail(&r, "trailing characters after the object");
  }
  if (r.error != NULL) {
    snprintf(why, why_size, "config: malformed JSON: %s at byte %lu", r.error,
             (unsigned long)r.error_at);
  } else if (why[0] == '\0' && cfg->url == NULL) {
    problem = "url is required (the endpoint that receives the POSTs)";
  } else if (why[0] == '\0') {
    problem = url_problem(cfg->url, cfg->url_len);
  }
  if (problem != NULL) snprintf(why, why_size, "config: %s", problem);
  if (why[0] != '\0') {
    wh_config_free(cfg);
    return 0;
  }
  return 1;
}

void wh_config_free(wh_config* cfg) {
  free(cfg->url);
  cfg->url = NULL;
  cfg->url_len = 0;
}
