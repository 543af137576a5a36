// One adapter call that may carry the integration's credential, under the host's one rule for a
// refused credential: when the CRM refused the credential the host attached (AUTH_EXPIRED), the
// host refreshes it once and calls the adapter again at once; a second AUTH_EXPIRED is the
// answer. The dispatcher's deliveries and the contact look-ups both call through here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <crmhost/adapter.h>

#include "plugins/http_client.h"
#include "plugins/integration.h"

namespace crmhost {

struct CredentialedCall {
  crmh_status status = CRMH_OK;
  std::string reauthorization;          // non-empty: a person must authorize; nothing more ran
  bool credential_unavailable = false;  // the refresh after a rejection failed for now
  int64_t paced_wait_ms = 0;  // > 0: a request found no room under the pacing; room in this long
  // Unless the call succeeded: the CRM's last answer, redacted and cut (answer_excerpt.h), for
  // the attempts table. Empty when the adapter made no request.
  std::string last_answer;
};

// `call_adapter` makes one call on the crmh_call it is given (and resets its own result first);
// `abandoned`, when set and true after a call, stops before a second one.
CredentialedCall call_with_credential(Integration& integration, HttpTransport& http,
                                      int64_t deadline_ms,
                                      const std::function<crmh_status(crmh_call*)>& call_adapter,
                                      const std::function<bool()>& abandoned = {});

}  // namespace crmhost
