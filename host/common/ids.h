// Identifiers for events and deliveries: a prefix and 26 hex digits, the first 12 the wall clock in
// milliseconds (so ids sort by creation time and index inserts stay local), the rest CSPRNG
// output. No '.' so a delivery id can be a Standard Webhooks `webhook-id`.
#pragma once

#include <string>

namespace crmhost {

std::string new_id(const char* prefix);  // thread-safe
std::string hex_encode(const unsigned char* data, size_t len);
std::string sha256_hex(const std::string& bytes);
// `bytes` bytes from the CSPRNG as hex: API keys and their ids.
std::string random_hex(size_t bytes);

}  // namespace crmhost
