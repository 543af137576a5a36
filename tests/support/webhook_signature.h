// Standard Webhooks symmetric signatures (v1, HMAC-SHA256), written independently of the host and
// the webhook adapter so that tests have an oracle of their own to check both against.
// Stateless; every function is safe to call from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crmhost::testing {

// Decodes a "whsec_<base64>" secret into its key bytes; nullopt when the prefix or base64 is bad.
std::optional<std::string> DecodeWhsecKey(std::string_view secret);

// A fresh random "whsec_<base64 of 24 bytes>" secret.
std::string NewWhsecSecret();

// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" under `secret` ("whsec_..."); throws on a bad
// secret.
std::string SignStandardWebhook(std::string_view secret, std::string_view id,
                                std::string_view timestamp, std::string_view body);

// True when any space-delimited "v1,<sig>" entry of `signature_header` matches; compares in
// constant time. Checks the signature only, not the age of the timestamp.
bool VerifyStandardWebhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                           std::string_view body, std::string_view signature_header);

// Lower-case hex SHA-256 of a file's bytes (to compare with GET /v1/plugins); throws when
// unreadable.
std::string Sha256FileHex(const std::string& path);

}  // namespace crmhost::testing
