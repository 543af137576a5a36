// What the bytes a connection has sent, and the event loop not yet served, start with. The event
// loops of HttpServer serve a request themselves only when this says it is whole and simple;
// anything else goes to a thread, where Poco's parser has the last word. Pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace crmhost {

enum class RequestHead {
  kPart,       // the start of a request that may still turn out whole and simple: read more
  kInline,     // a whole request the loop may serve itself
  kElsewhere,  // anything else (another request line, chunked, Expect, a bare LF, too large, ...)
};

// Where the body of a kInline request starts and where the request ends (bytes after `end`
// belong to a pipelined next request).
struct InlineRequest {
  size_t body_start = 0;
  size_t end = 0;
};

// kInline when `bytes` start with a request whose line is one of `inline_request_lines`
// ("POST /v1/events HTTP/1.1"), whose head ends in CRLF CRLF with only CRLF line ends, which has
// exactly one Content-Length, no Transfer-Encoding or Expect, and which is wholly there within
// `capacity` bytes; then fills `found`. In doubt, kElsewhere.
RequestHead classify_request_head(std::string_view bytes, size_t capacity,
                                  const std::vector<std::string>& inline_request_lines,
                                  InlineRequest* found);

}  // namespace crmhost
