// A tenant's deliveries and dead letters, and replay.
#pragma once

#include "http/exchange.h"
#include "ingress/ingress_routes.h"

namespace crmhost {

void list_deliveries(Exchange& exchange, IngressServices& services);  // GET /v1/deliveries
void replay_delivery(Exchange& exchange, IngressServices& services);  // POST /v1/deliveries/{id}/replay

}  // namespace crmhost
