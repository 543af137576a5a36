/*
 * examplecrm: the smallest useful crmhost adapter, in plain C99.
 *
 * For a fictional CRM that takes each visit as one JSON POST. Its one config key is the
 * endpoint:
 *
 *   integrations:
 *     - id: acme-examplecrm
 *       adapter: examplecrm
 *       config: { url: "http://127.0.0.1:9090/visits" }
 *
 * Each event is sent as it is, with the delivery id as the idempotency key (the same on every
 * retry, so the CRM never records a visit twice), and the answer is mapped to an outcome. The
 * host does everything else: storage, retries and their schedule, HTTP, TLS, timeouts.
 *
 * THREADING: an instance is immutable after create, so the descriptor says the host may call
 * it from several threads at once (CRMH_FLAG_INSTANCE_THREADSAFE).
 */
#include <crmhost/adapter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One configured endpoint. Invariant: immutable between create and destroy. */
typedef struct ex_instance {
  const crmh_host_api* host;
  void* host_ctx;
  char* url; /* owned copy: config_json is only borrowed for the create call */
  size_t url_len;
} ex_instance;

static crmh_str ex_str(const char* s) {
  crmh_str r;
  r.ptr = s;
  r.len = strlen(s);
  return r;
}

/* Finds the string value of "url" in the config object, which the host wrote from the YAML
 * (e.g. {"url":"http:\/\/127.0.0.1:9090\/visits"}), and copies it with its simple escapes
 * decoded. A real adapter with more keys would use a JSON parser. Returns NULL when absent. */
static char* ex_read_url(crmh_str json, size_t* len) {
  static const char key[] = "\"url\"";
  const char* end = json.ptr + json.len;
  const char* p = json.ptr;
  char* url;
  size_t n = 0;
  while (p + sizeof key - 1 <= end && memcmp(p, key, sizeof key - 1) != 0) ++p;
  if (p + sizeof key - 1 > end) return NULL;
  p += sizeof key - 1;
  while (p < end && (*p == ' ' || *p == ':')) ++p;
  if (p >= end || *p != '"') return NULL;
  url = (char*)malloc((size_t)(end - p));
  if (url == NULL) return NULL;
  for (++p; p < end && *p != '"'; ++p) {
    if (*p == '\\' && (++p == end || *p == 'u')) break; /* \uXXXX has no place in a URL */
    url[n++] = *p;
  }
  if (p >= end || *p != '"' || n == 0) {
    free(url);
    return NULL;
  }
  url[n] = '\0';
  *len = n;
  return url;
}

static crmh_status ex_create(const crmh_host_api* host, void* host_ctx, crmh_str config_json,
                             void** instance, crmh_result* out) {
  ex_instance* ex = (ex_instance*)malloc(sizeof *ex);
  if (ex == NULL) return CRMH_INTERNAL;
  ex->url = ex_read_url(config_json, &ex->url_len);
  if (ex->url == NULL) {
    free(ex);
    /* The message reaches /readyz and the log: say what to fix, never echo a secret. */
    snprintf(out->message, sizeof out->message, "config needs \"url\": the CRM endpoint");
    return CRMH_BAD_CONFIG;
  }
  ex->host = host;
  ex->host_ctx = host_ctx;
  *instance = ex; /* must be non-NULL with CRMH_OK */
  return CRMH_OK;
}

static void ex_destroy(void* instance) {
  ex_instance* ex = (ex_instance*)instance;
  free(ex->url);
  free(ex);
}

static crmh_status ex_deliver(void* instance, crmh_call* call, const crmh_delivery* delivery,
                              crmh_result* out) {
  const ex_instance* ex = (const ex_instance*)instance;
  crmh_header headers[3];
  crmh_http_request req;
  crmh_http_response resp;
  crmh_status sent;
  int32_t s;

  headers[0].name = ex_str("content-type");
  headers[0].value = ex_str("application/json");
  headers[1].name = ex_str("idempotency-key");
  headers[1].value = delivery->delivery_id; /* the same on every retry */
  headers[2].name = ex_str("x-event-type");
  headers[2].value = delivery->event_type;

  memset(&req, 0, sizeof req);
  req.struct_size = sizeof req; /* whoever fills a struct sets its size */
  req.method = ex_str("POST");
  req.url.ptr = ex->url;
  req.url.len = ex->url_len;
  req.headers = headers;
  req.header_count = sizeof headers / sizeof headers[0];
  req.body = delivery->payload_json; /* borrowed: valid for this call, which is all we need */
  req.deadline_ms = 0;               /* 0 = the delivery's own deadline */
  memset(&resp, 0, sizeof resp);
  resp.struct_size = sizeof resp;

  sent = ex->host->http_send(call, &req, &resp);
  if (sent != CRMH_OK) { /* no response: the host has classified the transport failure */
    snprintf(out->message, sizeof out->message, "no answer from examplecrm (transport error %d)",
             (int)resp.transport_error);
    return sent;
  }
  s = resp.status;
  out->http_status = s;
  if (s >= 200 && s < 300) return CRMH_OK;
  snprintf(out->message, sizeof out->message, "examplecrm answered %d", (int)s);
  if (s == 401) return CRMH_AUTH_EXPIRED;
  if (s == 429) return CRMH_RATE_LIMITED; /* a real adapter reads Retry-After into retry_after_ms */
  if (s == 408 || s >= 500) return CRMH_RETRY;
  ex->host->log(ex->host_ctx, CRMH_LOG_WARN, ex_str("examplecrm refused a visit"));
  return CRMH_PERMANENT; /* dead letter at once: sending it again would not help */
}

/* The descriptor and the exported entry point. No ';' after it. */
CRMH_DEFINE_ADAPTER(.flags = CRMH_FLAG_INSTANCE_THREADSAFE, .name = "examplecrm",
                    .version = "1.0.0", .description = "Visits to ExampleCRM (SDK example)",
                    .create = ex_create, .destroy = ex_destroy, .deliver = ex_deliver)
