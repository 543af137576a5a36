// Which integration of which tenant: the key the registry, the dispatcher and the endpoints use.
// A pair, never a joined string, so that no two (tenant, integration) pairs can share a key.
#pragma once

#include <compare>
#include <string>
#include <string_view>

namespace crmhost {

// Tenant and integration ids: [a-z0-9][a-z0-9_-]{0,62}. They appear in URLs, logs and the
// "tenant/integration" names of the API, which are unambiguous because no id holds a '/'.
bool is_valid_id(std::string_view id);
inline constexpr const char* kIdRule = "must match [a-z0-9][a-z0-9_-]{0,62}";

struct IntegrationKey {
  std::string tenant_id;
  std::string integration_id;

  auto operator<=>(const IntegrationKey&) const = default;
  bool operator==(const IntegrationKey&) const = default;
  // "tenant/integration", for logs and the API's listings.
  std::string log_name() const { return tenant_id + "/" + integration_id; }
};

}  // namespace crmhost
