// HMAC-SHA256 over a secret, in the key formats the adapter ABI names (CRMH_KEY_*), and the
// Standard Webhooks signature built on it. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <crmhost/adapter.h>

#include "common/expected.h"

namespace crmhost {

// The key bytes a secret stands for: RAW is the secret itself; WHSEC_BASE64 strips "whsec_" and
// base64-decodes the rest (Standard Webhooks). The error never contains the secret.
Expected<std::string> decode_secret_key(const std::string& secret, uint32_t key_format);

std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message);

// An HMAC-SHA256 key prepared once, for signing many messages: the key's padded blocks are hashed
// at prepare() and each sign() copies that state, where the one-shot hmac_sha256() looks up the
// algorithm, sets up a context and hashes the key again for every message (about two thirds of
// a webhook signature's cost).
// Thread-safe: sign() may run on many threads at once; the prepared state is only read.
class PreparedHmacKey {
 public:
  static Expected<std::unique_ptr<const PreparedHmacKey>> prepare(std::string_view key);
  ~PreparedHmacKey();
  PreparedHmacKey(const PreparedHmacKey&) = delete;
  PreparedHmacKey& operator=(const PreparedHmacKey&) = delete;

  std::array<uint8_t, 32> sign(std::string_view message) const;

 private:
  struct State;
  explicit PreparedHmacKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;  // non-null; immutable after prepare()
};

// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" for a whsec_ secret.
Expected<std::string> standard_webhooks_signature(const std::string& whsec_secret,
                                                  std::string_view id, std::string_view timestamp,
                                                  std::string_view body);

// True when any space-separated "v1,<sig>" entry of `header` matches; constant-time compare.
bool standard_webhooks_verify(const std::string& whsec_secret, std::string_view id,
                              std::string_view timestamp, std::string_view body,
                              std::string_view header);

}  // namespace crmhost
