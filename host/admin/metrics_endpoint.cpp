// GET /metrics (admin key): the Prometheus text format. What crmhost counts as it happens
// (metrics/metrics.h), then what the store and the registry know now: per integration the figures
// of integration_stats (an index read, no scan), whether it is served, and each adapter's
// generation.
#include "admin/admin_routes.h"
#include "ingress/deliveries_endpoint.h"

namespace crmhost {

void metrics_text(Exchange& ex, AdminServices& s) {
  auto stats = s.store.integration_stats("");
  if (!stats.ok()) return send_store_failure(ex, stats.failure());
  const int64_t now = s.clock.wall_ms();
  PrometheusText out;
  s.metrics.write(out);

  const std::vector<std::string> per_integration = {"tenant", "integration"};
  // A gauge family with one sample per integration of the figures.
  auto per_integration_gauge = [&](const std::string& name, const std::string& help,
                                   auto value_of) {
    out.family(name, help, "gauge");
    for (const auto& st : *stats)
      out.sample(name, per_integration, {st.tenant_id, st.integration_id},
                 static_cast<double>(value_of(st)));
  };
  per_integration_gauge("crmhost_queue_depth",
                        "Deliveries not yet settled (pending or in flight), per integration.",
                        [](const IntegrationStats& st) { return st.pending + st.leased; });
  out.family("crmhost_deliveries", "Deliveries by state, per integration (the store's figures).",
             "gauge");
  const std::vector<std::string> by_state = {"tenant", "integration", "state"};
  for (const auto& st : *stats) {
    const std::pair<const char*, int64_t> states[] = {{"pending", st.pending},
                                                      {"in_flight", st.leased},
                                                      {"delivered", st.delivered},
                                                      {"dead", st.dead},
                                                      {"discarded", st.discarded}};
    for (const auto& [state, n] : states)
      out.sample("crmhost_deliveries", by_state, {st.tenant_id, st.integration_id, state},
                 static_cast<double>(n));
  }
  per_integration_gauge("crmhost_dead_letters",
                        "Dead letters waiting for an operator, per integration.",
                        [](const IntegrationStats& st) { return st.dead; });
  per_integration_gauge(
      "crmhost_oldest_pending_age_seconds",
      "Age of the oldest pending delivery, per integration (0 when none is pending).",
      [now](const IntegrationStats& st) {
        return st.oldest_pending_at_ms
                   ? static_cast<double>(std::max<int64_t>(now - st.oldest_pending_at_ms, 0)) / 1000.0
                   : 0.0;
      });
  per_integration_gauge("crmhost_last_success_timestamp_seconds",
                        "When an integration last delivered (Unix time; 0 = never).",
                        [](const IntegrationStats& st) {
                          return static_cast<double>(st.last_success_at_ms) / 1000.0;
                        });

  auto snap = s.registry.snapshot();
  out.family("crmhost_integration_serving",
             "1 when an integration has a live adapter instance, 0 when it is configured but not "
             "served (disabled, suspended, its adapter missing).",
             "gauge");
  for (const auto& c : s.directory.snapshot()->integrations())
    out.sample("crmhost_integration_serving", per_integration, {c.tenant_id, c.id},
               snap->integrations.count(c.key()) ? 1 : 0);
  out.family("crmhost_plugin_generation",
             "The serving generation of each loaded adapter (1 at the first load, +1 per reload).",
             "gauge");
  for (const auto& [name, adapter] : snap->adapters)
    out.sample("crmhost_plugin_generation", {"adapter"}, {name},
               static_cast<double>(adapter.generation));
  out.family("crmhost_plugins_refused", "Files in plugin_dir that were refused.", "gauge");
  out.sample("crmhost_plugins_refused", {}, {}, static_cast<double>(snap->refused.size()));

  ex.send_body(200, "text/plain; version=0.0.4; charset=utf-8", out.text());
}

}  // namespace crmhost
