// The CRM's answer to a failed adapter call, as the attempts table keeps it for the dead-letter
// view: "HTTP <status>\n<body>" (or the transport failure), cut to a few KiB, never a secret: the
// credential the host attached and the values of secret-looking JSON keys (…token…, …secret…,
// password, api key, authorization) read "[redacted]".
#pragma once

#include <cstddef>
#include <string>

#include "plugins/http_client.h"

namespace crmhost {

// As much as the attempts table keeps (Store::kMaxResponseText).
inline constexpr size_t kAnswerExcerptLimit = 4096;

std::string answer_excerpt(const HttpExchange& answer, const std::string& credential_used,
                           size_t limit);

}  // namespace crmhost
