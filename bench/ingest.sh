#!/usr/bin/env bash
# Ingest benchmark (figures, not a test): wrk POSTs a valid visitor event at 32 connections to
# a bare Poco server that only reads the body and answers 202, then to crmhost's POST /v1/events
# (each answer only after the event is committed durably: SQLite WAL, synchronous=FULL), and
# prints events/s, p99 and the ratio; also each server's CPU time per answered event and how much
# of the machine stayed idle (wrk shares the cores), which say whether a server is bound by CPU
# or by waiting. Env: DURATION (10s), CONNECTIONS (32), BUILD_DIR (build/),
# DURABILITY (full; normal skips the per-commit fsync).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build

start bare "$build/bench/crmhost_bench_bare" --status 202
bare_url=$url
run_wrk_measured "$pid" "$bare_url" "$work/bare.wrk"
bare_cpu=$cpu_us bare_idle=$idle_pct
stop "$pid"
read -r bare_rps bare_p99 bare_ok bare_bad < <(wrk_figures "$work/bare.wrk")

export CRMHOST_BENCH_KEY
CRMHOST_BENCH_KEY=$(new_key)
mkdir -p "$work/data"
# No integration: this measures ingest alone (validate, commit, answer), not delivery.
cat >"$work/crmhost.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: $work/data
durability: ${DURABILITY:-full}
plugin_dir: $build/plugins
tenants:
  - id: bench
    api_keys: [ "env:CRMHOST_BENCH_KEY" ]
    ingest_rate: 1000000000
    integrations: []
YAML
start crmhost "$build/host/crmhost" run --config "$work/crmhost.yaml"
crmhost_url=$url
run_wrk_measured "$pid" "$crmhost_url" "$work/crmhost.wrk"
host_cpu=$cpu_us host_idle=$idle_pct
read -r host_rps host_p99 host_ok host_bad < <(wrk_figures "$work/crmhost.wrk")
stop "$pid"

echo
echo "ingest, $connections connections, $duration, $(nproc) cores"
printf '%-22s %10s %8s %9s %8s %12s %7s\n' "" "events/s" "p99 ms" "2xx" "non-2xx" "cpu us/event" "idle %"
printf '%-22s %10s %8s %9s %8s %12s %7s\n' "bare Poco (202)" "$bare_rps" "$bare_p99" "$bare_ok" \
  "$bare_bad" "$bare_cpu" "$bare_idle"
printf '%-22s %10s %8s %9s %8s %12s %7s\n' "crmhost (${DURABILITY:-full})" "$host_rps" "$host_p99" \
  "$host_ok" "$host_bad" "$host_cpu" "$host_idle"
awk -v h="$host_rps" -v b="$bare_rps" 'BEGIN { printf "ratio crmhost/bare: %.1f %%\n", 100 * h / b }'
if [ "$host_bad" != 0 ]; then
  echo "warning: crmhost answered $host_bad non-2xx; see the first answers below" >&2
  grep -m3 -i 'error' "$work/crmhost.log" >&2 || true
fi
