// Encryption at rest: AES-256-GCM (OpenSSL EVP) under a master key.
//
// A sealed secret is one byte string:
//   'C' '1' | key id (8 bytes) | nonce (12 bytes, fresh from RAND_bytes per seal) | ciphertext |
//   tag (16)
// The key id is the first 8 bytes of SHA-256 over the key (printed as 16 hex digits), so a
// ciphertext names the key that opens it and a missing key can be named without being had.
// Associated data binds a ciphertext to its place (secret_aad: tenant, integration, field): one
// copied into another row fails to open.
//
// A master key file holds the 32 key bytes in base64 on one line (`crmhost keygen PATH`); a file
// that group or other may read is refused.
//
// Thread-safety: a Keyring is immutable after construction; seal and open may run on any thread.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "common/integration_key.h"

namespace crmhost {

struct MasterKey {
  std::string id;                 // 16 hex digits
  std::array<uint8_t, 32> bytes;  // wiped by the destructor
  ~MasterKey();
};

// From `file:/path` (the file must not be readable by group or other) or `env:NAME`; the error
// names the reference, never a byte of the key.
Expected<MasterKey> load_master_key(const std::string& ref);
// The base64 text of a key file.
Expected<MasterKey> parse_master_key(std::string_view text);
// Writes a new random key to `path`, mode 0600; refuses to overwrite. Returns its id.
Expected<std::string> write_new_master_key(const std::string& path);

// Where a secret lives, as associated data.
std::string secret_aad(const IntegrationKey& integration, std::string_view field);

class Keyring {
 public:
  // Seals under `key` and opens what it sealed. (A rotation re-seals everything under the new
  // key in one transaction, so no store needs two keys at once.)
  explicit Keyring(MasterKey key);

  const std::string& current_id() const { return key_.id; }
  bool has(const std::string& key_id) const { return key_id == key_.id; }

  std::string seal(std::string_view plaintext, std::string_view aad) const;
  // kBadInput for bytes that are not a sealed secret; kNotFound naming the key id when this
  // keyring lacks the key; kBadInput when the key is there but the ciphertext does not open
  // under it and `aad` (a wrong key file, a copied or altered row).
  Expected<std::string> open(std::string_view sealed, std::string_view aad) const;

  // The key id a sealed secret names, or "" when it is not one.
  static std::string key_id_of(std::string_view sealed);

 private:
  MasterKey key_;
};

}  // namespace crmhost
