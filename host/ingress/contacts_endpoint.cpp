#include "ingress/contacts_endpoint.h"

#include <Poco/JSON/Object.h>

#include "ingress/event_validation.h"
#include "plugins/contact_lookup.h"

namespace crmhost {
namespace {

constexpr int64_t kDefaultBudgetMs = 2000;


void send_skipped(Exchange& ex, const std::string& why, const std::string& integration) {
  Poco::JSON::Object answer;
  answer.set("found", false);
  answer.set("skipped", why);
  if (!integration.empty()) answer.set("integration", integration);
  ex.send_json(200, answer);
}

}  // namespace

void lookup_contact(Exchange& ex, IngressServices& s) {
  const std::string email = ex.query("email").value_or("");
  if (!plausible_email(email))
    return ex.send_problem({400, "bad_field", "email is not an email address", "email"});
  int64_t cap_ms = -1;
  if (auto timeout = ex.query("timeout")) {
    try {
      cap_ms = std::stoll(*timeout);
    } catch (const std::exception&) {
      cap_ms = -1;
    }
    if (cap_ms < 1 || cap_ms > 60000)
      return ex.send_problem({400, "bad_field", "timeout must be milliseconds from 1 to 60000", "timeout"});
  }
  // The tenant's integration with look-up enabled (`lookup: true`), serving now.
  const IntegrationConfig* chosen = nullptr;
  for (const auto& in : ex.caller.tenant->integrations)
    if (in.enabled && in.setting("lookup") == "true") {
      chosen = &in;
      break;
    }
  if (chosen == nullptr) return send_skipped(ex, "no integration of this tenant has lookup: true", "");
  auto integration = s.registry.integration(chosen->key());
  if (!integration) return send_skipped(ex, "not served right now", chosen->id);
  int64_t budget = kDefaultBudgetMs;
  if (auto configured = chosen->setting("lookup_timeout"); !configured.empty())
    if (auto ms = parse_duration_ms(configured); ms.ok() && *ms > 0) budget = *ms;
  if (cap_ms > 0) budget = std::min(budget, cap_ms);
  ContactLookup found = crmhost::lookup_contact(integration, email, s.clock, budget);
  if (!found.skipped.empty()) return send_skipped(ex, found.skipped, chosen->id);
  std::string body = "{\"found\":" + std::string(found.found ? "true" : "false");
  if (found.found) body += ",\"contact\":" + found.contact_json;
  body += ",\"integration\":\"" + chosen->id + "\"}";  // an id: nothing to escape
  ex.send_json(200, body);
}

}  // namespace crmhost
