/*
 * A small, strict JSON reader (RFC 8259) for the webhook adapter's config object: a cursor the
 * caller drives key by key, so the adapter links no JSON library.
 *
 * Names carry the wh_ prefix because an adapter built without -fvisibility=hidden exports them,
 * and a generic json_string would interpose with (or be interposed by) a JSON library's.
 * Every function returns 1 on success, 0 on failure with `error` (static text) and `error_at`
 * (byte offset) set by the first failure.
 */
#ifndef CRMH_WEBHOOK_JSON_READER_H
#define CRMH_WEBHOOK_JSON_READER_H

#include <crmhost/adapter.h>

typedef struct wh_json_reader {
  const char* begin;
  const char* p; /* the next unread byte; begin <= p <= end */
  const char* end;
  const char* error; /* NULL until the first failure */
  size_t error_at;
} wh_json_reader;

void wh_json_init(wh_json_reader* r, crmh_str text);
int wh_json_fail(wh_json_reader* r, const char* error);
/* Skips whitespace and returns the next byte without consuming it; '\0' at the end. */
char wh_json_peek(wh_json_reader* r);
/* Skips whitespace and consumes `c`, or fails with `error`. */
int wh_json_consume(wh_json_reader* r, char c, const char* error);
/* True when only whitespace is left. */
int wh_json_at_end(wh_json_reader* r);
/* One string. With `out`: decoded to UTF-8, NUL-terminated and malloc'd (the caller frees it;
 * *out_len excludes the NUL). Without: validated and skipped. */
int wh_json_string(wh_json_reader* r, char** out, size_t* out_len);
/* One number. *is_integer: no fraction or exponent. *value: the number when it is a
 * non-negative integer that fits in int64, else -1. */
int wh_json_number(wh_json_reader* r, int* is_integer, int64_t* value);
/* One of the literals true, false, null, given as `word`. */
int wh_json_literal(wh_json_reader* r, const char* word);
/* Any value, validated and skipped, nested at most `depth` deep. */
int wh_json_skip_value(wh_json_reader* r, int depth);

#endif /* CRMH_WEBHOOK_JSON_READER_H */
