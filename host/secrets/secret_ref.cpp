#include "secrets/secret_ref.h"

#include "common/files.h"

#include <cstdlib>

namespace crmhost {

Expected<std::string> resolve_secret_ref(const std::string& ref) {
  if (ref.rfind("env:", 0) == 0) {
    std::string name = ref.substr(4);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0')
      return Error{"environment variable " + name + " is not set"};
    return std::string(value);
  }
  if (ref.rfind("file:", 0) == 0) {
    std::string path = ref.substr(5);
    auto read = read_file(path);
    if (!read.ok()) return Error{"cannot read secret file " + path};
    std::string value = std::move(*read);
    // A trailing newline is an editor's, not part of the secret.
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) return Error{"secret file " + path + " is empty"};
    return value;
  }
  return ref;
}

}  // namespace crmhost
