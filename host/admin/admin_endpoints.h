// Operator and tenant endpoints beside ingest: deliveries (dead letters, replay), plugins, health.
#pragma once

#include "ingress/exchange.h"
#include "ingress/services.h"

namespace crmhost {

void list_deliveries(Exchange& exchange, Services& services);   // GET /v1/deliveries
void replay_delivery(Exchange& exchange, Services& services);   // POST /v1/deliveries/{id}/replay
void list_plugins(Exchange& exchange, Services& services);      // GET /v1/plugins
void reload_plugin(Exchange& exchange, Services& services);     // POST /v1/plugins/{name}/reload
void healthz(Exchange& exchange, Services& services);           // GET /healthz
void readyz(Exchange& exchange, Services& services);            // GET /readyz

}  // namespace crmhost
