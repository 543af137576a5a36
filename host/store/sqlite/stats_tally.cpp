#include "store/sqlite/stats_tally.h"

#include <algorithm>

#include "store/sqlite/statement.h"

namespace crmhost {

StatsTally::Delta& StatsTally::of(const std::string& tenant, const std::string& integration) {
  return deltas_[{tenant, integration}];
}

int64_t& StatsTally::count(Delta& d, DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kPending: return d.pending;
    case DeliveryStatus::kLeased: return d.leased;
    case DeliveryStatus::kDelivered: return d.delivered;
    case DeliveryStatus::kDead: return d.dead;
  }
  return d.pending;
}

void StatsTally::moved(const std::string& tenant, const std::string& integration,
                       std::optional<DeliveryStatus> from, std::optional<DeliveryStatus> to) {
  if (from == to) return;
  Delta& d = of(tenant, integration);
  if (from) --count(d, *from);
  if (to) ++count(d, *to);
}

void StatsTally::discarded(const std::string& tenant, const std::string& integration) {
  Delta& d = of(tenant, integration);
  --d.dead;
  ++d.discarded;
}

void StatsTally::succeeded(const std::string& tenant, const std::string& integration,
                           int64_t at_ms) {
  Delta& d = of(tenant, integration);
  d.success_at_ms = std::max(d.success_at_ms, at_ms);
}

void StatsTally::failed(const std::string& tenant, const std::string& integration, int64_t at_ms,
                        std::string outcome, int http_status, std::string error) {
  Delta& d = of(tenant, integration);
  if (at_ms < d.error_at_ms) return;
  d.error_at_ms = at_ms;
  d.error_outcome = std::move(outcome);
  d.error_http_status = http_status;
  d.error = std::move(error);
}

void StatsTally::merge(const StatsTally& other) {
  for (const auto& [key, o] : other.deltas_) {
    Delta& d = deltas_[key];
    d.pending += o.pending;
    d.leased += o.leased;
    d.delivered += o.delivered;
    d.dead += o.dead;
    d.discarded += o.discarded;
    d.success_at_ms = std::max(d.success_at_ms, o.success_at_ms);
    if (o.error_at_ms >= d.error_at_ms && o.error_at_ms > 0) {
      d.error_at_ms = o.error_at_ms;
      d.error_outcome = o.error_outcome;
      d.error_http_status = o.error_http_status;
      d.error = o.error;
    }
  }
}

Status StatsTally::write(StatementCache& sql) const {
  for (const auto& [key, d] : deltas_) {
    auto& u = sql(
        "INSERT INTO integration_stats(tenant_id, integration_id, pending, leased, delivered, dead,"
        " discarded, last_success_at, last_error_at, last_error_outcome, last_error_http_status,"
        " last_error) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
        " ON CONFLICT(tenant_id, integration_id) DO UPDATE SET"
        " pending = pending + excluded.pending, leased = leased + excluded.leased,"
        " delivered = delivered + excluded.delivered, dead = dead + excluded.dead,"
        " discarded = discarded + excluded.discarded,"
        " last_success_at = COALESCE(excluded.last_success_at, last_success_at),"
        " last_error_outcome = CASE WHEN excluded.last_error_at IS NULL THEN last_error_outcome"
        "   ELSE excluded.last_error_outcome END,"
        " last_error_http_status = CASE WHEN excluded.last_error_at IS NULL"
        "   THEN last_error_http_status ELSE excluded.last_error_http_status END,"
        " last_error = CASE WHEN excluded.last_error_at IS NULL THEN last_error"
        "   ELSE excluded.last_error END,"
        " last_error_at = COALESCE(excluded.last_error_at, last_error_at)");
    u.bind(1, key.first).bind(2, key.second).bind(3, d.pending).bind(4, d.leased);
    u.bind(5, d.delivered).bind(6, d.dead).bind(7, d.discarded);
    if (d.success_at_ms) u.bind(8, d.success_at_ms); else u.bind_null(8);
    if (d.error_at_ms) {
      u.bind(9, d.error_at_ms).bind(10, d.error_outcome).bind(12, d.error);
      if (d.error_http_status) u.bind(11, static_cast<int64_t>(d.error_http_status)); else u.bind_null(11);
    } else {
      u.bind_null(9).bind_null(10).bind_null(11).bind_null(12);
    }
    if (auto r = u.run(); !r.ok()) return r;
  }
  return ok_status();
}

}  // namespace crmhost
