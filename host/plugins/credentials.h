// Where an integration's credential comes from when an adapter's request asks the host to attach
// it (CRMH_REQUEST_USE_CREDENTIAL): implemented by oauth/broker.h, which owns the tokens. The
// adapter never sees what this returns.
// Thread-safety: implementations are called from every delivery worker at once.
#pragma once

#include <string>

#include "common/expected.h"

namespace crmhost {

class Integration;

class CredentialSource {
 public:
  struct Credential {
    std::string authorization;  // the header's value ("Bearer …", or an API token)
    std::string api_base;       // what a relative request URL is resolved against; may be empty
    std::string header = "Authorization";  // the header it goes in
  };
  virtual ~CredentialSource() = default;

  // The credential to use now, refreshed first when it is about to expire. kConflict when the
  // connection needs (re)authorization by a person; kUnavailable when the token endpoint cannot
  // be reached now.
  virtual Expected<Credential> credential(const Integration& integration) = 0;
  // The CRM refused `rejected` (AUTH_EXPIRED): a fresh credential, refreshing once however many
  // calls report the same rejection.
  virtual Expected<Credential> after_rejection(const Integration& integration,
                                               const std::string& rejected) = 0;
};

}  // namespace crmhost
