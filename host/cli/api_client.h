// The operator commands' connection to a running crmhost (crmhost status, dlq, integrations):
// `--url`/`--key`, else CRMHOST_URL/CRMHOST_KEY; one request at a time, JSON answers.
// Not thread-safe; one per command.
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

#include "common/expected.h"

namespace crmhost {

struct ApiAnswer {
  int status = 0;
  Poco::JSON::Object::Ptr json;  // null when the body is not a JSON object
  std::string body;
};

class ApiClient {
 public:
  // Takes --url, --key and --json out of `args` (what is left is the command's own); kBadInput
  // naming what is missing.
  static Expected<ApiClient> from_args(std::vector<std::string>& args);

  // kUnavailable when crmhost cannot be reached; any HTTP answer is a value.
  Expected<ApiAnswer> call(const std::string& method, const std::string& path_and_query,
                           const std::string& json_body = "") const;
  bool json_output() const { return json_; }

 private:
  std::string url_, key_;
  bool json_ = false;
};

// "problem (HTTP 404): no delivery …" from an error answer, for stderr.
std::string describe_problem(const ApiAnswer& answer);
// A query-string value, percent-encoded.
std::string query_value(const std::string& text);

}  // namespace crmhost
