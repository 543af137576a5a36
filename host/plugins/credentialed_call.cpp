#include "plugins/credentialed_call.h"

#include <algorithm>

#include "plugins/answer_excerpt.h"
#include "plugins/host_services.h"

namespace crmhost {
namespace {

void keep_last_answer(const crmh_call& call, CredentialedCall& out) {
  if (out.status == CRMH_OK || call.exchanges.empty()) return;
  out.last_answer =
      answer_excerpt(call.exchanges.back(), call.authorization_used, kAnswerExcerptLimit);
}

}  // namespace

CredentialedCall call_with_credential(Integration& in, HttpTransport& http, int64_t deadline_ms,
                                      const std::function<crmh_status(crmh_call*)>& call_adapter,
                                      const std::function<bool()>& abandoned) {
  CredentialedCall out;
  crmh_call call(&in, &http, deadline_ms);
  out.status = call_adapter(&call);
  out.paced_wait_ms = call.paced_wait_ms;
  keep_last_answer(call, out);
  if (abandoned && abandoned()) return out;
  if (!call.reauthorization_needed.empty()) {
    out.reauthorization = call.reauthorization_needed;
    return out;
  }
  if (out.status != CRMH_AUTH_EXPIRED || !in.credentials() || call.authorization_used.empty())
    return out;
  auto fresh = in.credentials()->after_rejection(in, call.authorization_used);
  if (!fresh.ok()) {
    if (fresh.error_kind() == ErrorKind::kConflict) out.reauthorization = fresh.error();
    else out.credential_unavailable = true;
    return out;
  }
  crmh_call again(&in, &http, deadline_ms);
  out.status = call_adapter(&again);
  out.paced_wait_ms = std::max(out.paced_wait_ms, again.paced_wait_ms);
  out.last_answer.clear();
  keep_last_answer(again, out);
  if (abandoned && abandoned()) return out;
  if (!again.reauthorization_needed.empty()) out.reauthorization = again.reauthorization_needed;
  return out;
}

}  // namespace crmhost
