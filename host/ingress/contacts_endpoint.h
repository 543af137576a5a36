// GET /v1/contacts?email=…[&timeout=ms]: the contact as the tenant's CRM knows it, within a
// deadline; "skipped" with the reason when the CRM cannot answer in time. Never a 5xx.
#pragma once

#include "http/exchange.h"
#include "ingress/ingress_routes.h"

namespace crmhost {

void lookup_contact(Exchange& exchange, IngressServices& services);

}  // namespace crmhost
