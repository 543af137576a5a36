#include "plugins/answer_excerpt.h"

#include <regex>

namespace crmhost {
namespace {

// Redaction reads this much of a body at most: enough for any error answer, and a bound on the
// regex's work.
constexpr size_t kRedactedPrefix = 16 * 1024;

void replace_all(std::string& text, const std::string& what, const std::string& with) {
  if (what.size() < 4) return;  // too short to be a credential; would redact ordinary words
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

}  // namespace

std::string answer_excerpt(const HttpExchange& answer, const std::string& credential_used,
                           size_t limit) {
  std::string text;
  if (answer.transport_error != CRMH_NET_OK)
    text = "transport: " + answer.error;
  else
    text = "HTTP " + std::to_string(answer.status) + "\n" + answer.body.substr(0, kRedactedPrefix);
  static const std::regex secret_value(
      R"re(("[^"]*(token|secret|password|passwd|api_?key|apikey|authorization)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*")re",
      std::regex::icase | std::regex::optimize);
  text = std::regex_replace(text, secret_value, "$1\"[redacted]\"");
  replace_all(text, credential_used, "[redacted]");
  if (auto space = credential_used.find(' '); space != std::string::npos)
    replace_all(text, credential_used.substr(space + 1), "[redacted]");
  if (text.size() > limit) text.resize(limit);
  return text;
}

}  // namespace crmhost
