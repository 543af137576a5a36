// `crmhost run`: wires config, store, adapters, dispatcher and the HTTP API together and runs
// until SIGTERM/SIGINT.
#pragma once

#include <string>
#include <vector>

namespace crmhost {

// Returns the process exit code: 0 clean stop, 2 bad config or usage, 1 other start failure.
int run_daemon(const std::vector<std::string>& args);

}  // namespace crmhost
