// Whole-file reads and atomic whole-file writes. Thread-safe (no shared state).
#pragma once

#include <string>

#include "common/expected.h"

namespace crmhost {

// The file's bytes; the error names the path, never the content.
Expected<std::string> read_file(const std::string& path);

// Writes `bytes` to a temporary file unique to this call beside `path`, then renames it over
// `path`: a reader sees the old file or the whole new one, never half of it, even when several
// writers race on the same path.
Status write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace crmhost
