// `crmhost plugin check FILE`: loads and validates one adapter as the daemon would and prints
// its descriptor or the refusal.
#pragma once

#include <string>

namespace crmhost {

// Returns 0 when the adapter would load, 1 when it is refused.
int run_plugin_check(const std::string& file);

}  // namespace crmhost
