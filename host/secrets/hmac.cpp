#include "secrets/hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <crmhost/adapter.h>

#include "common/base64.h"

namespace crmhost {

Expected<std::string> decode_secret_key(const std::string& secret, uint32_t key_format) {
  switch (key_format) {
    case CRMH_KEY_RAW:
      return secret;
    case CRMH_KEY_WHSEC_BASE64: {
      std::string_view rest(secret);
      if (rest.rfind("whsec_", 0) == 0) rest.remove_prefix(6);
      auto key = base64_decode(rest);
      if (!key.ok() || key->empty())
        return Error{"secret is not in whsec_<base64> form"};
      return key;
    }
    default:
      return Error{"unknown key format " + std::to_string(key_format)};
  }
}

std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &len);
  return out;
}

// The keyed HMAC context every sign() starts from. OpenSSL's HMAC_CTX would be the direct tool
// but is deprecated in OpenSSL 3; EVP_MAC is its replacement.
struct PreparedHmacKey::State {
  EVP_MAC_CTX* keyed = nullptr;
  ~State() { EVP_MAC_CTX_free(keyed); }
};

Expected<std::unique_ptr<const PreparedHmacKey>> PreparedHmacKey::prepare(std::string_view key) {
  auto state = std::make_unique<State>();
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return Error{"OpenSSL has no HMAC"};
  state->keyed = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_END};
  // A zero-length key is legal HMAC; OpenSSL wants a non-null pointer for it.
  static const unsigned char kEmpty = 0;
  const auto* bytes = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (state->keyed == nullptr || EVP_MAC_init(state->keyed, bytes, key.size(), params) != 1)
    return Error{"OpenSSL could not key HMAC-SHA256"};
  return std::unique_ptr<const PreparedHmacKey>(new PreparedHmacKey(std::move(state)));
}

PreparedHmacKey::PreparedHmacKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
PreparedHmacKey::~PreparedHmacKey() = default;

std::array<uint8_t, 32> PreparedHmacKey::sign(std::string_view message) const {
  std::array<uint8_t, 32> out{};
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(state_->keyed);
  size_t len = 0;
  // Cannot fail short of memory exhaustion; the all-zero MAC then fails every verification.
  if (ctx != nullptr &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1)
    EVP_MAC_final(ctx, out.data(), &len, out.size());
  EVP_MAC_CTX_free(ctx);
  return out;
}

Expected<std::string> standard_webhooks_signature(const std::string& whsec_secret,
                                                  std::string_view id, std::string_view timestamp,
                                                  std::string_view body) {
  auto key = decode_secret_key(whsec_secret, CRMH_KEY_WHSEC_BASE64);
  if (!key.ok()) return Error{key.error()};
  std::string signed_text;
  signed_text.reserve(id.size() + timestamp.size() + body.size() + 2);
  signed_text.append(id).append(".").append(timestamp).append(".").append(body);
  auto mac = hmac_sha256(*key, signed_text);
  return "v1," + base64_encode(mac.data(), mac.size());
}

bool standard_webhooks_verify(const std::string& whsec_secret, std::string_view id,
                              std::string_view timestamp, std::string_view body,
                              std::string_view header) {
  auto expected = standard_webhooks_signature(whsec_secret, id, timestamp, body);
  if (!expected.ok()) return false;
  bool match = false;
  while (!header.empty()) {
    size_t sp = header.find(' ');
    std::string_view entry = header.substr(0, sp);
    if (entry.size() == expected->size() &&
        CRYPTO_memcmp(entry.data(), expected->data(), entry.size()) == 0)
      match = true;
    if (sp == std::string_view::npos) break;
    header.remove_prefix(sp + 1);
  }
  return match;
}

}  // namespace crmhost
