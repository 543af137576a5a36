// The tenant API: what a business application calls with its tenant API key. Events in,
// deliveries and dead letters out, replay (contact look-up joins it with the CRM adapters).
#pragma once

#include "common/clock.h"
#include "config/config.h"
#include "http/router.h"
#include "ingress/ingest_limiter.h"
#include "store/store.h"

namespace crmhost {

// What the tenant endpoints use. Every member outlives the HTTP servers and is thread-safe.
struct IngressServices {
  const Config& config;
  Store& store;
  IngestLimiter& limiter;
  const Clock& clock;
};

void add_ingress_routes(Router& router, IngressServices& services);

}  // namespace crmhost
