// One request to an OAuth 2.0 token endpoint (RFC 6749 §4.1.3, §4.4, §6): a form-encoded POST,
// the client authenticated in the body or by HTTP Basic, the JSON answer read whatever its status
// (Zoho answers errors with HTTP 200). Stateless; thread-safe (a client per request).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/expected.h"
#include "plugins/http_client.h"

namespace crmhost {

struct TokenGrant {
  std::string access_token;
  std::string refresh_token;  // empty when the answer had none (keep the stored one)
  int64_t expires_at_ms = 0;  // 0 when the answer said nothing (Salesforce)
  std::string api_base;       // the provider's api_base_field, when present
};

struct TokenRequest {
  std::string url;
  std::map<std::string, std::string> form;  // grant_type and the grant's parameters
  std::string client_id, client_secret;
  bool basic_auth = false;      // the client by HTTP Basic, else in the body
  std::string api_base_field;   // which answer field holds the API base; may be empty
};

// kConflict when the provider refused the grant for good (invalid_grant, invalid_client,
// unauthorized_client, HubSpot's BAD_REFRESH_TOKEN, any other 4xx): a person must authorize
// again. kUnavailable for a transport failure, a 5xx or an answer that is not JSON. The message
// is the provider's error and description, never a token.
Expected<TokenGrant> request_token(HttpTransport& http, const TokenRequest& request,
                                   const Clock& clock, int64_t deadline_ms);

// application/x-www-form-urlencoded
std::string form_encode(const std::map<std::string, std::string>& fields);

}  // namespace crmhost
