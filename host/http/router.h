// One route table: maps (method, path) to an endpoint and authenticates the caller first.
// Path patterns are literal segments and `{name}` captures ("/v1/deliveries/{id}/replay").
// A known path with another method answers 405; an unknown path 404.
//
// A route says how it is served. kEventLoop: its endpoint never blocks (it answers at once or
// defers its answer), so HttpServer's event loops may serve it themselves; the server learns
// which requests those are from event_loop_requests(), never from a second list. Every other
// route is served on a connection thread.
//
// Routes are added before serving starts; after that the router is immutable and thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "http/exchange.h"

namespace crmhost {

enum class Access {
  kPublic,  // no credential (health)
  kTenant,  // a tenant API key; the admin key gets 403
  kAny,     // a tenant key or the admin key
  kAdmin,   // the admin key; a tenant key gets 403
};

enum class Serving {
  kThread,     // may block (reads the store, reloads an adapter, ...)
  kEventLoop,  // never blocks: answers at once or defers (tests/host/http/router_test.cpp)
};

// An endpoint gets the request; the services it uses are bound when its route is added.
using Endpoint = std::function<void(Exchange&)>;
// The tenant an API key hash belongs to now, or null. Called for every authenticated request;
// thread-safe.
using TenantByKeyHash = std::function<std::shared_ptr<const TenantConfig>(const std::string&)>;

class Router {
 public:
  // Callers are authenticated by `tenants` and against `admin_key_hash` (empty = no admin key).
  Router(std::string admin_key_hash, TenantByKeyHash tenants);
  // A pattern without captures may be served on the event loops (kEventLoop).
  void add(const std::string& method, const std::string& pattern, Access access, Endpoint endpoint,
           Serving serving = Serving::kThread);
  void handle(Exchange& exchange) const;

  // The request lines ("POST /v1/events HTTP/1.1") of the kEventLoop routes, for HttpServer.
  std::vector<std::string> event_loop_requests() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Access access;
    Endpoint endpoint;
    Serving serving;
  };
  bool authenticate(Exchange& exchange, Access access) const;

  const std::string admin_key_hash_;
  const TenantByKeyHash tenants_;
  std::vector<Route> routes_;
};

}  // namespace crmhost
