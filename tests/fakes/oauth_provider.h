// A fake OAuth 2.0 authorization server and CRM API on loopback, following the provider facts of
// ../shared/crm-contracts*.md and reference/oauth-providers.md for the profile it plays:
// - salesforce: no expires_in; instance_url in every token answer; invalid_grant as 400 JSON;
// - hubspot: expires_in 1800 (or as set); the same refresh token back; BAD_REFRESH_TOKEN as 400;
// - microsoft: a new refresh token on every refresh (the old one still works); client
//   credentials; invalid_grant with an AADSTS description;
// - zoho: api_domain; no refresh token on refresh; errors answered with HTTP 200.
// GET /authorize answers 302 to redirect_uri with code and state (checking client_id and
// remembering an S256 code_challenge); POST /token serves authorization_code (checking the
// code, redirect_uri, client secret and PKCE verifier), refresh_token and client_credentials;
// /api/... answers 200 to a valid, unexpired access token in `Authorization: <scheme> <token>`,
// else 401. Scriptable to expire or revoke tokens and to delay the token endpoint.
// Thread-safe; the server runs until destruction.
#pragma once

#include <Poco/Net/HTTPServer.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace crmhost::testing {

struct OAuthProfile {
  std::string name;                    // salesforce | hubspot | microsoft | zoho
  int expires_in = 1800;               // seconds; -1 = the answer says nothing (Salesforce)
  bool expires_in_as_string = false;   // Pipedrive's "3600"
  bool rotate_refresh_token = false;   // a new refresh token on every refresh
  bool refresh_returns_refresh_token = true;
  std::string api_base_field;          // "instance_url", "api_domain" or ""
  bool errors_with_200 = false;        // Zoho
  std::string scheme = "Bearer";
  static OAuthProfile Salesforce();
  static OAuthProfile HubSpot();
  static OAuthProfile Microsoft();
  static OAuthProfile Zoho();
};

class OAuthProvider {
 public:
  OAuthProvider(OAuthProfile profile, std::string client_id, std::string client_secret);
  ~OAuthProvider();

  std::string base_url() const;     // http://127.0.0.1:PORT
  std::string api_base() const;     // what api_base_field names: base_url() + "/instance"

  // Every access token stops working (the CRM answers 401) and so must be refreshed.
  void ExpireAccessTokens();
  // Every refresh token is revoked: a refresh answers invalid_grant.
  void RevokeRefreshTokens();
  // Each token request takes this long (widens the window of a refresh race).
  void SetTokenDelayMs(int ms) { token_delay_ms_ = ms; }
  // The API also accepts `value` in header `name` (an API token, a private-app token).
  void AcceptStaticToken(std::string name, std::string value);
  // GET .../api/contacts?email=E answers this contact (JSON object) for E, 404 for others.
  void AddContact(std::string email, std::string json);
  // Every API answer takes this long.
  void SetApiDelayMs(int ms) { api_delay_ms_ = ms; }
  // The next authorization_code exchange fails with this error.
  void FailNextCodeExchange(std::string error);

  int token_requests(const std::string& grant_type) const;
  int api_accepted() const { return api_accepted_; }
  int api_rejected() const { return api_rejected_; }
  std::string last_api_path() const;
  std::string last_code_challenge() const;
  // Every access and refresh token handed out, for a canary search.
  std::set<std::string> issued_tokens() const;

  class Handler;

 private:
  // Sleeps `ms`, or less when the fake is being destroyed.
  void Pause(int ms);
  void Handle(const std::string& method, const std::string& uri,
              const std::map<std::string, std::string>& headers, const std::string& body,
              int* status, std::string* content_type, std::string* location, std::string* answer);
  std::string Issue(const std::string& prefix);  // requires mu_
  std::string TokenAnswer(bool with_refresh, const std::string& refresh);  // requires mu_
  std::string Error(int* status, const std::string& error, const std::string& description);

  const OAuthProfile profile_;
  const std::string client_id_, client_secret_;
  uint16_t port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  mutable std::mutex mu_;  // guards everything below
  std::map<std::string, std::string> codes_;   // code -> its PKCE challenge ("" = none)
  std::set<std::string> access_tokens_, refresh_tokens_, issued_;
  std::set<std::pair<std::string, std::string>> static_tokens_;  // (header, value)
  std::map<std::string, int> token_requests_;  // by grant_type
  std::string last_api_path_, last_challenge_, fail_next_code_;
  int counter_ = 0;
  std::atomic<int> token_delay_ms_{0}, api_delay_ms_{0};
  std::map<std::string, std::string> contacts_;  // email -> JSON
  std::condition_variable idle_;                 // a handler finished, or stopping_
  int handling_ = 0;                             // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
  std::atomic<int> api_accepted_{0}, api_rejected_{0};
};

}  // namespace crmhost::testing
