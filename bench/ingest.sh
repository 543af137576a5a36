#!/usr/bin/env bash
# Ingest benchmark (figures, not a test): wrk POSTs a valid visitor event at 32 connections to
# a bare Poco server that only reads the body and answers 202, then to crmhost's POST /v1/events
# (each answer only after the event is committed durably: SQLite WAL, synchronous=FULL), and
# prints events/s, p99 and the ratio; also each server's CPU time per answered event and how much
# of the machine stayed idle (wrk shares the cores), which say whether a server is bound by CPU
# or by waiting. Env: ROUNDS (5: bare then crmhost, each round), DURATION (10s per server),
# CONNECTIONS (32), BUILD_DIR (build/), DURABILITY (full; normal skips the per-commit fsync).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build

export CRMHOST_BENCH_KEY
CRMHOST_BENCH_KEY=$(new_key)
# No integration: this measures ingest alone (validate, commit, answer), not delivery.
write_ingest_config() {  # DATA_DIR
  cat <<YAML
listen: 127.0.0.1:0
data_dir: $1
durability: ${DURABILITY:-full}
plugin_dir: $build/plugins
tenants:
  - id: bench
    api_keys: [ "env:CRMHOST_BENCH_KEY" ]
    ingest_rate: 1000000000
    integrations: []
YAML
}

# measure NAME LABEL COMMAND... : starts the server, runs wrk against it (setting $rps and the
# rest, see run_wrk_measured), stops it; prints one row.
measure() {
  local name=$1 label=$2
  shift 2
  start "$name" "$@"
  run_wrk_measured "$pid" "$url" "$work/$name.wrk"
  stop "$pid"
  printf '%-22s %10s %8s %9s %8s %12s %7s\n' "$label" "$rps" "$p99" "$ok" "$bad" "$cpu_us" "$idle_pct"
  if [ "$bad" != 0 ]; then
    echo "warning: $name answered $bad non-2xx; see the first errors below" >&2
    grep -m3 -i 'error' "$work/$name.log" >&2 || true
  fi
}

# Each round measures the bare server, then crmhost on a fresh data dir: this machine's speed
# drifts by 10-20 % over minutes, so only figures from the same round are compared.
rounds=${ROUNDS:-5}
ratios=()
echo
echo "ingest, $connections connections, $duration per server, $rounds rounds, $(nproc) cores"
printf '%-22s %10s %8s %9s %8s %12s %7s\n' "" "events/s" "p99 ms" "2xx" "non-2xx" "cpu us/event" "idle %"
for round in $(seq 1 "$rounds"); do
  measure bare "bare Poco (202)" "$build/bench/crmhost_bench_bare" --status 202
  bare_rps=$rps
  rm -rf "$work/data" && mkdir -p "$work/data"
  write_ingest_config "$work/data" >"$work/crmhost.yaml"
  measure crmhost "crmhost (${DURABILITY:-full})" "$build/host/crmhost" run --config "$work/crmhost.yaml"
  ratio=$(awk -v h="$rps" -v b="$bare_rps" 'BEGIN { printf "%.1f", 100 * h / b }')
  ratios+=("$ratio")
  echo "round $round: crmhost/bare $ratio %"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END {
  printf "ratio crmhost/bare: median %.1f %% (min %.1f, max %.1f) over %d rounds\n", r[int((NR + 1) / 2)], r[1], r[NR], NR }'
