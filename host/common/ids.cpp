#include "common/ids.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace crmhost {

std::string hex_encode(const unsigned char* data, size_t len) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::string new_id(const char* prefix) {
  unsigned char bytes[13];
  // RAND_bytes failing means the process has no entropy source: nothing sane can continue.
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return std::string(prefix) + "_" + hex_encode(bytes, sizeof bytes);
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return hex_encode(digest, len);
}

}  // namespace crmhost
