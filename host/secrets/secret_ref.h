// Secret references in configuration: `env:NAME`, `file:/path`, or (discouraged) a literal.
// Resolving one yields the value; error messages name the reference, never the value.
#pragma once

#include <string>

#include "common/expected.h"

namespace crmhost {

Expected<std::string> resolve_secret_ref(const std::string& ref);

}  // namespace crmhost
