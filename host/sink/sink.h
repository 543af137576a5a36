// `crmhost sink`: a Standard Webhooks receiver for the demo and for operators testing an
// integration. Verifies every request's signature and prints what arrived.
#pragma once

#include <string>
#include <vector>

namespace crmhost {

// Runs until SIGTERM/SIGINT. Returns the process exit code.
int run_sink(const std::vector<std::string>& args);

}  // namespace crmhost
