/* The webhook adapter's JSON reader; see json_reader.h. */
#include "json_reader.h"

#include <stdlib.h>
#include <string.h>

void wh_json_init(wh_json_reader* r, crmh_str text) {
  r->begin = r->p = text.ptr != NULL ? text.ptr : "";
  r->end = r->begin + (text.ptr != NULL ? text.len : 0);
  r->error = NULL;
  r->error_at = 0;
}

int wh_json_fail(wh_json_reader* r, const char* error) {
  if (r->error == NULL) {
    r->error = error;
    r->error_at = (size_t)(r->p - r->begin);
  }
  return 0;
}

char wh_json_peek(wh_json_reader* r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
    ++r->p;
  }
  return r->p < r->end ? *r->p : '\0';
}

int wh_json_consume(wh_json_reader* r, char c, const char* error) {
  if (wh_json_peek(r) != c || r->p == r->end) return wh_json_fail(r, error);
  ++r->p;
  return 1;
}

int wh_json_at_end(wh_json_reader* r) {
  wh_json_peek(r);
  return r->p == r->end;
}

static int is_digit(const wh_json_reader* r) {
  return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits of a \u escape; r->p is on the first digit. */
static int read_hex4(wh_json_reader* r, unsigned long* out) {
  int i;
  *out = 0;
  if (r->end - r->p < 4) return wh_json_fail(r, "truncated \\u escape");
  for (i = 0; i < 4; ++i) {
    int v = hex_value(r->p[i]);
    if (v < 0) return wh_json_fail(r, "bad \\u escape");
    *out = (*out << 4) | (unsigned long)v;
  }
  r->p += 4;
  return 1;
}

/* Reads a \u escape (r->p after the 'u'), joining a surrogate pair, into one code point. */
static int read_unicode_escape(wh_json_reader* r, unsigned long* cp) {
  unsigned long low;
  if (!read_hex4(r, cp)) return 0;
  if (*cp >= 0xDC00 && *cp <= 0xDFFF) return wh_json_fail(r, "lone low surrogate");
  if (*cp < 0xD800 || *cp > 0xDBFF) return 1;
  if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') {
    return wh_json_fail(r, "lone high surrogate");
  }
  r->p += 2;
  if (!read_hex4(r, &low)) return 0;
  if (low < 0xDC00 || low > 0xDFFF) return wh_json_fail(r, "bad surrogate pair");
  *cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
  return 1;
}

static size_t utf8_encode(unsigned long cp, char* out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Decodes the escape after a backslash (r->p on the escape letter) into `out`; returns its
 * length in bytes, 0 on failure. */
static size_t read_escape(wh_json_reader* r, char* out) {
  unsigned long cp;
  char e = *r->p++;
  switch (e) {
    case '"':
    case '\\':
    case '/':
      out[0] = e;
      return 1;
    case 'b':
      out[0] = '\b';
      return 1;
    case 'f':
      out[0] = '\f';
      return 1;
    case 'n':
      out[0] = '\n';
      return 1;
    case 'r':
      out[0] = '\r';
      return 1;
    case 't':
      out[0] = '\t';
      return 1;
    case 'u':
      return read_unicode_escape(r, &cp) ? utf8_encode(cp, out) : 0;
    default:
      --r->p;
      return (size_t)wh_json_fail(r, "bad escape");
  }
}

int wh_json_string(wh_json_reader* r, char** out, size_t* out_len) {
  const char* close;
  char* buf = NULL;
  size_t n = 0;
  if (!wh_json_consume(r, '"', "expected a string")) return 0;
  /* Find the closing quote first: decoding never grows a string (an escape of k bytes yields
   * at most k bytes of UTF-8), so the raw span bounds the buffer, and every escape the decoder
   * reads below lies before `close`. */
  for (close = r->p; close < r->end && *close != '"'; ++close) {
    if (*close == '\\') ++close;
  }
  if (close >= r->end) return wh_json_fail(r, "unterminated string");
  if (out != NULL) {
    buf = (char*)malloc((size_t)(close - r->p) + 1);
    if (buf == NULL) return wh_json_fail(r, "out of memory");
  }
  while (r->p < close) {
    char decoded[4];
    size_t k = 1;
    unsigned char c = (unsigned char)*r->p++;
    decoded[0] = (char)c;
    if (c < 0x20) {
      --r->p;
      k = (size_t)wh_json_fail(r, "control character in string");
    } else if (c == '\\') {
      k = read_escape(r, decoded);
    }
    if (k == 0) {
      free(buf);
      return 0;
    }
    if (buf != NULL) memcpy(buf + n, decoded, k);
    n += k;
  }
  ++r->p; /* the closing quote */
  if (out != NULL) {
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
  }
  return 1;
}

int wh_json_number(wh_json_reader* r, int* is_integer, int64_t* value) {
  int negative = 0;
  int64_t v = 0;
  *is_integer = 1;
  if (wh_json_peek(r) == '-') {
    negative = 1;
    ++r->p;
  }
  if (!is_digit(r)) return wh_json_fail(r, "bad number");
  if (*r->p == '0') {
    ++r->p; /* no leading zeros: "012" stops after the 0 and fails in the caller's grammar */
  } else {
    while (is_digit(r)) {
      int d = *r->p++ - '0';
      v = (v >= 0 && v <= (INT64_MAX - d) / 10) ? v * 10 + d : -1; /* -1 sticks: too large */
    }
  }
  if (r->p < r->end && *r->p == '.') {
    *is_integer = 0;
    ++r->p;
    if (!is_digit(r)) return wh_json_fail(r, "bad number");
    while (is_digit(r)) ++r->p;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    *is_integer = 0;
    ++r->p;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-')) ++r->p;
    if (!is_digit(r)) return wh_json_fail(r, "bad number");
    while (is_digit(r)) ++r->p;
  }
  *value = (negative || !*is_integer) ? -1 : v;
  return 1;
}

int wh_json_literal(wh_json_reader* r, const char* word) {
  size_t n = strlen(word);
  wh_json_peek(r);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) {
    return wh_json_fail(r, "unexpected character");
  }
  r->p += n;
  return 1;
}

/* Arrays and objects: the members after the opening bracket, up to the closing one. */
static int skip_container(wh_json_reader* r, char close, int depth) {
  ++r->p;
  if (wh_json_peek(r) == close) {
    ++r->p;
    return 1;
  }
  for (;;) {
    if (close == '}' &&
        !(wh_json_string(r, NULL, NULL) && wh_json_consume(r, ':', "expected ':'"))) {
      return 0;
    }
    if (!wh_json_skip_value(r, depth - 1)) return 0;
    if (wh_json_peek(r) != ',') break;
    ++r->p;
  }
  return wh_json_consume(r, close, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
}

int wh_json_skip_value(wh_json_reader* r, int depth) {
  int is_integer;
  int64_t ignored;
  char c = wh_json_peek(r);
  if (depth <= 0) return wh_json_fail(r, "nested too deeply");
  if (c == '"') return wh_json_string(r, NULL, NULL);
  if (c == 't') return wh_json_literal(r, "true");
  if (c == 'f') return wh_json_literal(r, "false");
  if (c == 'n') return wh_json_literal(r, "null");
  if (c == '-' || (c >= '0' && c <= '9')) return wh_json_number(r, &is_integer, &ignored);
  if (c == '[') return skip_container(r, ']', depth);
  if (c == '{') return skip_container(r, '}', depth);
  return wh_json_fail(r, r->p == r->end ? "unexpected end of input" : "unexpected character");
}
