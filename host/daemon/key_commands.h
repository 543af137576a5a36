// `crmhost keygen PATH` and `crmhost rotate-key --config F --new-key PATH [--admin-url URL]`.
#pragma once

#include <string>
#include <vector>

namespace crmhost {

// Writes a new master key to PATH (0600; refuses to overwrite) and prints its id.
int run_keygen(const std::vector<std::string>& args);

// Re-seals every secret in the store under the key in --new-key. With the daemon stopped it opens
// the store itself; while the daemon runs (it holds data_dir) it asks it, through
// POST /v1/master-key/rotate with the config's admin key, at --admin-url or the config's
// admin_listen / listen. Exit 0 done, 2 usage or bad input, 1 the rotation failed (nothing changed).
int run_rotate_key(const std::vector<std::string>& args);

}  // namespace crmhost
