#include "http/request_head.h"

#include <Poco/String.h>

#include <algorithm>
#include <optional>

namespace crmhost {

RequestHead classify_request_head(std::string_view bytes, size_t capacity,
                                  const std::vector<std::string>& inline_request_lines,
                                  InlineRequest* found) {
  bool line_may_match = false;
  for (const auto& line : inline_request_lines) {
    std::string_view first = bytes.substr(0, std::min(bytes.size(), line.size()));
    std::string_view eol =
        bytes.substr(first.size(), std::min<size_t>(bytes.size() - first.size(), 2));
    line_may_match = line_may_match || (line.compare(0, first.size(), first) == 0 &&
                                        std::string_view("\r\n", eol.size()) == eol);
  }
  if (!line_may_match) return RequestHead::kElsewhere;
  size_t head_end = bytes.find("\r\n\r\n");
  // Poco also takes a bare LF as a line end; a head that has one never ends in CRLF CRLF.
  std::string_view head =
      bytes.substr(0, head_end == std::string_view::npos ? bytes.size() : head_end);
  for (size_t lf = head.find('\n'); lf != std::string_view::npos; lf = head.find('\n', lf + 1))
    if (head[lf - 1] != '\r') return RequestHead::kElsewhere;
  if (head_end == std::string_view::npos)
    return bytes.size() < capacity ? RequestHead::kPart : RequestHead::kElsewhere;
  std::string_view fields = bytes.substr(0, head_end + 2);
  fields.remove_prefix(fields.find("\r\n") + 2);
  std::optional<size_t> length;
  while (!fields.empty()) {
    size_t eol = fields.find("\r\n");
    std::string_view field = fields.substr(0, eol);
    fields.remove_prefix(eol + 2);
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0 || field[0] == ' ' || field[0] == '\t')
      return RequestHead::kElsewhere;
    const std::string_view name = field.substr(0, colon);
    if (Poco::icompare(name, "Transfer-Encoding") == 0 || Poco::icompare(name, "Expect") == 0)
      return RequestHead::kElsewhere;
    if (Poco::icompare(name, "Content-Length") != 0) continue;
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (length || value.empty() || value.size() > 9) return RequestHead::kElsewhere;
    size_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return RequestHead::kElsewhere;
      n = n * 10 + static_cast<size_t>(c - '0');
    }
    length = n;
  }
  if (!length) return RequestHead::kElsewhere;
  size_t whole = head_end + 4 + *length;
  if (whole > capacity) return RequestHead::kElsewhere;
  if (whole > bytes.size()) return RequestHead::kPart;
  found->body_start = head_end + 4;
  found->end = whole;
  return RequestHead::kInline;
}

}  // namespace crmhost
