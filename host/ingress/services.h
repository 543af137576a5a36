// What the HTTP endpoints may use. Every member outlives the HTTP server and is thread-safe.
#pragma once

#include "common/clock.h"
#include "config/config.h"
#include "delivery/dispatcher.h"
#include "ingress/ingest_limiter.h"
#include "plugins/adapter_registry.h"
#include "store/store.h"

namespace crmhost {

struct Services {
  const Config& config;
  Store& store;
  AdapterRegistry& registry;
  Dispatcher& dispatcher;
  IngestLimiter& limiter;
  const Clock& clock;
};

}  // namespace crmhost
