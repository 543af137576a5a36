#include "ingress/ingress_routes.h"

#include "ingress/contacts_endpoint.h"
#include "ingress/deliveries_endpoint.h"
#include "ingress/events_endpoint.h"

namespace crmhost {

void add_ingress_routes(Router& r, IngressServices& s) {
  // The fast path: post_event defers its answer to the store and never blocks.
  r.add("POST", "/v1/events", Access::kTenant, [&s](Exchange& ex) { post_event(ex, s); },
        Serving::kEventLoop);
  r.add("GET", "/v1/deliveries", Access::kTenant, [&s](Exchange& ex) { list_deliveries(ex, s); });
  r.add("POST", "/v1/deliveries/{id}/replay", Access::kTenant,
        [&s](Exchange& ex) { replay_delivery(ex, s); });
  r.add("GET", "/v1/contacts", Access::kTenant, [&s](Exchange& ex) { lookup_contact(ex, s); });
}

}  // namespace crmhost
