// The tenant API: what a business application calls with its tenant API key. Events in,
// deliveries and dead letters out, replay, and contact look-ups.
#pragma once

#include "common/clock.h"
#include "config/config.h"
#include "http/router.h"
#include "ingress/ingest_limiter.h"
#include "metrics/metrics.h"
#include "plugins/adapter_registry.h"
#include "store/store.h"

namespace crmhost {

// What the tenant endpoints use. Every member outlives the HTTP servers and is thread-safe.
struct IngressServices {
  const Config& config;
  Store& store;
  IngestLimiter& limiter;
  AdapterRegistry& registry;  // for contact look-ups
  const Clock& clock;
  Metrics& metrics;
};

void add_ingress_routes(Router& router, IngressServices& services);

}  // namespace crmhost
