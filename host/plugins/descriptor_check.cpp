#include "plugins/descriptor_check.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace crmhost {
namespace {

std::string quoted(const char* s) { return s ? "\"" + std::string(s) + "\"" : "NULL"; }

bool valid_name(const char* name) {
  if (name == nullptr || *name == '\0' || std::strlen(name) > 64) return false;
  for (const char* p = name; *p; ++p) {
    char c = *p;
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

}  // namespace

std::optional<Refusal> check_descriptor(const crmh_adapter* d, crmh_adapter* out) {
  std::memset(out, 0, sizeof *out);
  if (d == nullptr) return Refusal{"crmh_adapter_entry", "returned NULL (the adapter cannot serve this host)"};
  // struct_size first: nothing else can be read safely until it is known to cover the field.
  if (d->struct_size < kMinDescriptorSize)
    return Refusal{"struct_size", std::to_string(d->struct_size) + " is smaller than v1.0's minimum " +
                                      std::to_string(kMinDescriptorSize)};
  std::memcpy(out, d, std::min<size_t>(d->struct_size, sizeof *out));
  if (out->abi_major != CRMH_ABI_MAJOR)
    return Refusal{"abi_major", "host has ABI " + std::to_string(CRMH_ABI_MAJOR) + "." +
                                    std::to_string(CRMH_ABI_MINOR) + ", adapter was built for " +
                                    std::to_string(out->abi_major) + "." +
                                    std::to_string(out->abi_minor)};
  if (out->min_host_minor > CRMH_ABI_MINOR)
    return Refusal{"min_host_minor", "host has ABI 1." + std::to_string(CRMH_ABI_MINOR) +
                                         ", adapter needs 1." + std::to_string(out->min_host_minor)};
  if (out->build_signature == nullptr || std::strcmp(out->build_signature, CRMH_BUILD_SIGNATURE) != 0)
    return Refusal{"build_signature", "host is " + quoted(CRMH_BUILD_SIGNATURE) + ", adapter is " +
                                          quoted(out->build_signature)};
  if (!valid_name(out->name))
    return Refusal{"name", quoted(out->name) + " is not a name of [a-z0-9_-], 1..64 characters"};
  if (out->version == nullptr) return Refusal{"version", "is NULL"};
  if (out->create == nullptr) return Refusal{"create", "required function is NULL"};
  if (out->destroy == nullptr) return Refusal{"destroy", "required function is NULL"};
  if (out->deliver == nullptr) return Refusal{"deliver", "required function is NULL"};
  return std::nullopt;
}

}  // namespace crmhost
