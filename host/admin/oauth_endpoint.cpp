// OAuth 2.0 authorization through the API: POST .../oauth/start answers the URL to send a person
// to; the provider sends the browser back to GET /oauth/callback, which exchanges the code and
// answers a page that says, in plain words, whether it worked.
#include <Poco/JSON/Object.h>

#include "admin/admin_routes.h"

namespace crmhost {
namespace {

std::string page(const std::string& title, const std::string& text) {
  auto escape = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
      }
    }
    return out;
  };
  return "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + escape(title) +
         "</title></head><body><h1>" + escape(title) + "</h1><p>" + escape(text) +
         "</p></body></html>";
}

void start(Exchange& ex, AdminServices& s) {
  const IntegrationKey key = addressed_integration(ex);
  if (s.directory.snapshot()->integration(key) == nullptr)
    return ex.send_problem({404, "not_found", "no integration " + key.log_name(), ""});
  auto url = s.oauth.start(key);
  if (!url.ok()) return ex.send_problem(problem_for(url.failure(), "config"));
  (void)s.config_store.record({s.clock.wall_ms(), actor_of(ex), "oauth.start", key.tenant_id,
                               key.log_name(), "", "ok"});
  Poco::JSON::Object answer;
  answer.set("authorize_url", *url);
  answer.set("redirect_uri", s.oauth.redirect_uri());
  ex.send_json(200, answer);
}

void callback(Exchange& ex, AdminServices& s) {
  const std::string state = ex.query("state").value_or("");
  if (auto error = ex.query("error")) {
    std::string why = *error;
    if (auto d = ex.query("error_description")) why += ": " + *d;
    return ex.send_body(400, "text/html; charset=utf-8",
                        page("Not connected", "The CRM did not authorize crmhost (" + why +
                                                  "). Close this page and start again."));
  }
  auto key = s.oauth.finish(state, ex.query("code").value_or(""));
  if (!key.ok()) {
    (void)s.config_store.record({s.clock.wall_ms(), "oauth-callback", "oauth.authorize", "",
                                 "-", "", "failed"});
    return ex.send_body(key.error_kind() == ErrorKind::kNotFound ? 400 : 502,
                        "text/html; charset=utf-8",
                        page("Not connected", "crmhost could not finish the connection: " +
                                                  key.error() + "."));
  }
  (void)s.config_store.record({s.clock.wall_ms(), "oauth-callback", "oauth.authorize",
                               key->tenant_id, key->log_name(), "", "ok"});
  s.dispatcher.wake();  // deliveries waiting for the authorization may go
  ex.send_body(200, "text/html; charset=utf-8",
               page("Connected", "crmhost is connected to the CRM for " + key->log_name() +
                                     ". You can close this page."));
}

}  // namespace

void add_oauth_routes(Router& r, AdminServices& s, bool tenant_api) {
  if (tenant_api) {
    r.add("POST", "/v1/integrations/{id}/oauth/start", Access::kTenant,
          [&s](Exchange& ex) { start(ex, s); });
    r.add("GET", "/oauth/callback", Access::kPublic, [&s](Exchange& ex) { callback(ex, s); });
  } else {
    r.add("POST", "/v1/tenants/{tenant}/integrations/{id}/oauth/start", Access::kAdmin,
          [&s](Exchange& ex) { start(ex, s); });
  }
}

}  // namespace crmhost
