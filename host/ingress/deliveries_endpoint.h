// A tenant's deliveries and dead letters, and replay.
#pragma once

#include <Poco/JSON/Object.h>

#include "http/exchange.h"
#include "ingress/ingress_routes.h"
#include "store/store.h"

namespace crmhost {

// A delivery as every listing shows it (GET /v1/deliveries, the dead letters).
Poco::JSON::Object delivery_json(const DeliveryView& delivery);
// Reads `?limit=` (1 to 1000) into *limit, which keeps its default when absent. False once it has
// answered 400.
bool read_limit(Exchange& exchange, int* limit);
// The store failed: the answer says only what kind of failure, the log says what.
void send_store_failure(Exchange& exchange, const Error& error);

void list_deliveries(Exchange& exchange, IngressServices& services);  // GET /v1/deliveries
void replay_delivery(Exchange& exchange, IngressServices& services);  // POST /v1/deliveries/{id}/replay

}  // namespace crmhost
