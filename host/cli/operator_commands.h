// The operator's commands against a running crmhost: `crmhost status`, `crmhost dlq
// list|show|replay|discard`, `crmhost integrations list|test`. Aligned tables by default, the
// API's JSON with --json; a progress bar on a terminal for a bulk replay.
#pragma once

#include <string>
#include <vector>

namespace crmhost {

// `command` is status, dlq, integrations or audit; `args` what follows it. Returns the exit code: 0 done,
// 1 crmhost refused or failed, 2 bad usage or crmhost unreachable.
int run_operator_command(const std::string& command, std::vector<std::string> args);

}  // namespace crmhost
