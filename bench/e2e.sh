#!/usr/bin/env bash
# End-to-end benchmark (figures, not a test): crmhost with one webhook integration delivering to
# a fast local sink (bench/webhook_sink.cpp: one epoll thread answering 204 and counting, so that
# the receiver, which shares the cores here, takes as little CPU as it can). wrk posts events as
# fast as it can for DURATION; then the sink is polled until every accepted event has arrived.
# Prints deliveries/s from the first ingest to the last delivery.
# Env: DURATION (10s), CONNECTIONS (32), WORKERS (8), BUILD_DIR (build/), DURABILITY (full),
# SINK (epoll; "bare" uses the bare Poco server as the receiver, as this benchmark once did).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build
workers=${WORKERS:-8}

if [ "${SINK:-epoll}" = bare ]; then
  start sink "$build/bench/crmhost_bench_bare" --status 204
else
  start sink "$build/bench/crmhost_bench_sink"
fi
sink_url=$url

export CRMHOST_BENCH_KEY CRMHOST_BENCH_SECRET
CRMHOST_BENCH_KEY=$(new_key)
CRMHOST_BENCH_SECRET=$(new_whsec)
mkdir -p "$work/data"
write_sink_config "$work/crmhost.yaml" "$work/data" "$build/plugins" "$sink_url"
start crmhost "$build/host/crmhost" run --config "$work/crmhost.yaml"
crmhost_url=$url
crmhost_pid=$pid
cpu0=$(awk '{print $14 + $15}' "/proc/$crmhost_pid/stat")

t0=$(date +%s.%N)
run_wrk "$crmhost_url" "$work/crmhost.wrk"
t_ingested=$(date +%s.%N)
read -r ingest_rps ingest_p99 accepted rejected < <(wrk_figures "$work/crmhost.wrk")

# wrk does not count the requests still in flight when it stops (at most one per connection), so
# the sink may receive a few more than $accepted: wait until it has at least that many and then
# no more arrive for a moment; the last delivery is the last time the count grew.
delivered=0
t1=$t_ingested
last_change=$(date +%s%N)
deadline=$(( $(date +%s) + ${DRAIN_TIMEOUT:-300} ))
while :; do
  now=$(date +%s%N)
  count=$(curl -s "$sink_url/count")
  if [ "$count" != "$delivered" ]; then
    delivered=$count
    last_change=$now
    t1=$(date +%s.%N)
  fi
  if [ "$delivered" -ge "$accepted" ] && [ $(( (now - last_change) / 1000000 )) -ge 500 ]; then
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "bench: only $delivered of $accepted delivered after ${DRAIN_TIMEOUT:-300}s" >&2
    break
  fi
  sleep 0.02
done

echo
echo "end to end, $connections connections, $duration of ingest, $workers workers, $(nproc) cores"
echo "accepted:  $accepted events ($rejected rejected), $ingest_rps events/s, p99 $ingest_p99 ms"
awk -v t0="$t0" -v ti="$t_ingested" -v t1="$t1" -v n="$delivered" '
  BEGIN {
    printf "delivered: %d in %.2f s after the first ingest (drained %.2f s after the last)\n", n, t1 - t0, t1 - ti
    printf "end to end: %.0f deliveries/s\n", n / (t1 - t0)
  }'
# crmhost's CPU time (user + system) per delivery: steadier than the rate on a shared machine.
cpu1=$(awk '{print $14 + $15}' "/proc/$crmhost_pid/stat")
awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$delivered" \
  'BEGIN { printf "crmhost CPU: %.1f us per delivery (ingest included)\n", n ? t * 1e6 / hz / n : 0 }'
