// POST /v1/events: validate, durably store the event and its deliveries, answer 202.
#pragma once

#include "ingress/exchange.h"
#include "ingress/services.h"

namespace crmhost {

void post_event(Exchange& exchange, Services& services);

}  // namespace crmhost
