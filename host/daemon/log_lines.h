// How crmhost's log lines are written to standard error: `log_format: text` (the default, for a
// person at a terminal) or `json` (one JSON object a line, for a log shipper). A JSON line holds
// time, level, logger and message, then the fields of the work the thread is doing
// (common/log_context.h: request_id, delivery_id, tenant, integration, ...). Messages never hold a
// secret: the code that logs them writes names and ids, never a value (docs/CONTRACTS.md).
#pragma once

#include <string>

namespace crmhost {

// Sets the root logger's channel (standard error) and level (information) for `format`, "text"
// or "json".
void configure_logging(const std::string& format);

}  // namespace crmhost
