// Standard base64 with padding (RFC 4648 §4), through OpenSSL. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace crmhost {

std::string base64_encode(const uint8_t* data, size_t len);
inline std::string base64_encode(std::string_view bytes) {
  return base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}
// kBadInput for anything but whole, padded base64 (the error never repeats the input).
Expected<std::string> base64_decode(std::string_view text);

}  // namespace crmhost
