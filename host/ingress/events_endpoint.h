// POST /v1/events: validate, durably store the event and its deliveries, answer 202.
// Served on the event loops: it never blocks (the answer is deferred to the store's commit).
#pragma once

#include "http/exchange.h"
#include "ingress/ingress_routes.h"

namespace crmhost {

void post_event(Exchange& exchange, IngressServices& services);

}  // namespace crmhost
