#include "common/base64.h"

#include <openssl/evp.h>

namespace crmhost {

std::string base64_encode(const uint8_t* data, size_t len) {
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                          static_cast<int>(len));
  out.resize(static_cast<size_t>(n));
  return out;
}

Expected<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return Error{"not base64", ErrorKind::kBadInput};
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return Error{"not base64", ErrorKind::kBadInput};
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  size_t pad = (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace crmhost
