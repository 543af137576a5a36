// Secrets behind one interface. The config holds references: `env:NAME`, `file:/path`, sealed
// rows of the store, or (discouraged) a literal, which is the value itself and is kept as written.
// A reference is resolved here and only here, when the value is needed (an integration's HMAC key
// is prepared, an API key is hashed), and the value is not kept beyond that use. Error messages
// name the reference, never the value.
#pragma once

#include <string>

#include "common/expected.h"

namespace crmhost {

class SecretResolver {
 public:
  virtual ~SecretResolver() = default;
  // The value `ref` stands for. kBadInput when it cannot be had (unset variable, unreadable or
  // empty file).
  virtual Expected<std::string> resolve(const std::string& ref) const = 0;
};

// `env:NAME` (a non-empty environment variable), `file:/path` (the file's bytes less trailing
// newlines; not empty), anything else is the literal value. Stateless; thread-safe.
class ReferenceSecrets final : public SecretResolver {
 public:
  Expected<std::string> resolve(const std::string& ref) const override;
};

// The process-wide ReferenceSecrets.
const SecretResolver& reference_secrets();

}  // namespace crmhost
