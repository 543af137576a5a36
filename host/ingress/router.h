// Maps (method, path) to an endpoint and authenticates the caller first.
// Path patterns are literal segments and `{name}` captures ("/v1/deliveries/{id}/replay").
// A known path with another method answers 405; an unknown path 404. Immutable after
// construction; thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ingress/exchange.h"
#include "ingress/services.h"

namespace crmhost {

enum class Access {
  kPublic,  // no credential (health)
  kTenant,  // a tenant API key; the admin key gets 403
  kAny,     // a tenant key or the admin key
  kAdmin,   // the admin key; a tenant key gets 403
};

using Endpoint = std::function<void(Exchange&, Services&)>;

class Router {
 public:
  Router(Services& services);
  void add(const std::string& method, const std::string& pattern, Access access, Endpoint endpoint);
  void handle(Exchange& exchange) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Access access;
    Endpoint endpoint;
  };
  bool authenticate(Exchange& exchange, Access access) const;

  Services& services_;
  std::vector<Route> routes_;
  std::map<std::string, const TenantConfig*> tenants_by_key_hash_;
};

// The routes of the crmhost API (ingress and admin endpoints).
void add_api_routes(Router& router);

}  // namespace crmhost
