#include "secrets/secrets.h"

#include <cstdlib>

#include "common/files.h"

namespace crmhost {

Expected<std::string> ReferenceSecrets::resolve(const std::string& ref) const {
  if (ref.rfind("env:", 0) == 0) {
    std::string name = ref.substr(4);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0')
      return Error{"environment variable " + name + " is not set", ErrorKind::kBadInput};
    return std::string(value);
  }
  if (ref.rfind("file:", 0) == 0) {
    std::string path = ref.substr(5);
    auto read = read_file(path);
    if (!read.ok()) return Error{"cannot read secret file " + path, ErrorKind::kBadInput};
    std::string value = std::move(*read);
    // A trailing newline is an editor's, not part of the secret.
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) return Error{"secret file " + path + " is empty", ErrorKind::kBadInput};
    return value;
  }
  return ref;
}

const SecretResolver& reference_secrets() {
  static const ReferenceSecrets secrets;
  return secrets;
}

}  // namespace crmhost
