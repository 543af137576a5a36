#include "common/integration_key.h"

namespace crmhost {

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(id[0])) return false;
  for (char c : id.substr(1))
    if (!lower_or_digit(c) && c != '_' && c != '-') return false;
  return true;
}

}  // namespace crmhost
