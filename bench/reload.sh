#!/usr/bin/env bash
# Hot reload under load (figures, not a test; issue 5 §2). crmhost delivers through the webhook
# adapter to a fast local sink (the bare Poco server answering 204) while wrk posts events for
# DURATION. The run is made twice in one go: a baseline without swaps, then one where the webhook
# adapter in the host's plugin_dir is replaced SWAPS times, spread evenly over the run (atomic
# rename of builds reporting 1.0.1 … 1.0.5 in turn, each awaited in GET /v1/plugins).
#
# Figures per run, from wrk and from the host's SQLite file after the run:
#   ingest stall    wrk's max latency, and the longest time no event was committed
#                   (consecutive events.received_at) while wrk was posting;
#   delivery gap    the longest time between consecutive delivered deliveries (updated_at)
#                   while wrk was posting;
#   during a swap   the same gaps, only those overlapping a swap window (from the host's log:
#                   its rescan starting until 200 ms after the new generation is published);
# and the swap run's figures as ratios of the baseline's. Also checked: every accepted event was
# delivered once (the sink's request count), no delivery needed a second attempt.
# Env: DURATION (10s), CONNECTIONS (32), WORKERS (8), SWAPS (10), BUILD_DIR (build/).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_build
"$root/scripts/install-deps" sqlite3 jq
workers=${WORKERS:-8}
swaps=${SWAPS:-10}
variant_targets=()
for patch in 1 2 3 4 5; do variant_targets+=("crmhost_test_webhook_1_0_$patch"); done
# The variants are defined with the tests (tests/reload/CMakeLists.txt), so BUILD_TESTING is on.
cmake -S "$root" -B "$build" -DBUILD_TESTING=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${variant_targets[@]}"

case $duration in
  *ms) duration_ms=${duration%ms} ;;
  *s) duration_ms=$(( ${duration%s} * 1000 )) ;;
  *m) duration_ms=$(( ${duration%m} * 60000 )) ;;
  *) duration_ms=$(( duration * 1000 )) ;;
esac
now_ms() { date +%s%3N; }

start sink "$build/bench/crmhost_bench_bare" --status 204
sink_url=$url
export CRMHOST_BENCH_KEY CRMHOST_BENCH_SECRET
CRMHOST_BENCH_KEY=$(new_key)
CRMHOST_BENCH_SECRET=$(new_whsec)

# The webhook version GET /v1/plugins shows serving at $1.
serving_version() {
  curl -s -H "Authorization: Bearer $CRMHOST_BENCH_KEY" "$1/v1/plugins" |
    jq -r '.plugins[] | select(.name == "webhook") | .version'
}

# run_case NAME SWAPS : one run; leaves $work/NAME/{wrk,swaps,figures}.
run_case() {
  local name=$1 n_swaps=$2 dir=$work/$1
  mkdir -p "$dir/data" "$dir/plugins"
  cp "$build/plugins/webhook.so" "$dir/plugins/webhook.so"
  write_sink_config "$dir/crmhost.yaml" "$dir/data" "$dir/plugins" "$sink_url"
  start "crmhost-$name" "$build/host/crmhost" run --config "$dir/crmhost.yaml"
  local host_url=$url host_pid=$pid
  local sink_before
  sink_before=$(curl -s "$sink_url/count")

  local t0
  t0=$(now_ms)
  run_wrk "$host_url" "$dir/wrk" &
  local wrk_pid=$!
  : >"$dir/swaps"  # one line per swap: rename_ms visible_ms version
  local i version started visible deadline
  for ((i = 1; i <= n_swaps; i++)); do
    # Evenly spread: swap i is due at i/(n+1) of the run.
    local due=$(( t0 + duration_ms * i / (n_swaps + 1) ))
    while [ "$(now_ms)" -lt "$due" ]; do sleep 0.01; done
    version=1.0.$(( (i - 1) % 5 + 1 ))
    cp "$build/tests/reload/webhook-$version/webhook.so" "$dir/plugins/webhook.so.incoming"
    started=$(now_ms)
    mv "$dir/plugins/webhook.so.incoming" "$dir/plugins/webhook.so"
    deadline=$(( started + 10000 ))
    while [ "$(serving_version "$host_url")" != "$version" ]; do
      if [ "$(now_ms)" -ge "$deadline" ]; then
        echo "bench: swap $i to $version not visible after 10 s" >&2
        break
      fi
      sleep 0.005
    done
    visible=$(now_ms)
    echo "$started $visible $version" >>"$dir/swaps"
  done
  wait "$wrk_pid"
  local t1
  t1=$(now_ms)

  # Drain: every delivery settled (the sink answers 204, so delivered).
  local db=$dir/data/crmhost.db open
  deadline=$(( $(date +%s) + ${DRAIN_TIMEOUT:-300} ))
  while :; do
    open=$(sqlite3 "$db" "SELECT count(*) FROM deliveries WHERE status IN ('pending','leased')")
    [ "$open" = 0 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "bench: $open deliveries still open after ${DRAIN_TIMEOUT:-300} s" >&2
      break
    fi
    sleep 0.1
  done
  stop "$host_pid"
  local sink_after
  sink_after=$(curl -s "$sink_url/count")

  # The host's own account of each swap, from its log: the rescan starting, then the new
  # generation published ("serving webhook …"); one line per swap: rescan_ms served_ms.
  : >"$dir/host_swaps"
  local rescan_at="" line at
  while read -r line; do
    at=$(date -d "${line%% *}" +%s%3N)
    case $line in
      *"plugin_dir changed: rescanning"*) rescan_at=$at ;;
      *"serving webhook"*) [ -n "$rescan_at" ] && echo "$rescan_at $at" >>"$dir/host_swaps"; rescan_at="" ;;
    esac
  done < <(grep -E 'plugin_dir changed: rescanning|serving webhook' "$work/crmhost-$name.log")
  # A swap window: from the rescan until 200 ms after the new generation was published (the old
  # generation's calls in flight finish in it).
  local windows="SELECT NULL AS a, NULL AS b WHERE 0" rescan served
  while read -r rescan served; do
    windows+=" UNION ALL SELECT $rescan, $served + 200"
  done <"$dir/host_swaps"
  # The longest gaps while wrk posted, overall and overlapping a swap window.
  sqlite3 -separator ' ' "$db" "
    WITH w(a, b) AS ($windows),
    ingest AS (SELECT lag(received_at) OVER (ORDER BY received_at) AS prev, received_at AS cur
               FROM events),
    delivery AS (SELECT lag(updated_at) OVER (ORDER BY updated_at) AS prev, updated_at AS cur
                 FROM deliveries WHERE status = 'delivered'),
    ig AS (SELECT prev, cur FROM ingest WHERE prev IS NOT NULL AND prev >= $t0 AND cur <= $t1),
    dg AS (SELECT prev, cur FROM delivery WHERE prev IS NOT NULL AND prev >= $t0 AND cur <= $t1)
    SELECT
      (SELECT coalesce(max(cur - prev), 0) FROM ig),
      (SELECT coalesce(max(cur - prev), 0) FROM dg),
      (SELECT coalesce(max(cur - prev), 0) FROM ig, w WHERE cur > w.a AND prev < w.b),
      (SELECT coalesce(max(cur - prev), 0) FROM dg, w WHERE cur > w.a AND prev < w.b),
      (SELECT count(*) FROM events),
      (SELECT count(*) FROM deliveries WHERE status = 'delivered'),
      (SELECT count(*) FROM deliveries WHERE attempts > 1),
      $sink_after - $sink_before;
  " >"$dir/figures"
  local max_latency
  max_latency=$(awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000;
      return v
    }
    /^ +Latency +[0-9]/ { printf "%.1f\n", ms($4); exit }' "$dir/wrk")
  local figures
  figures=$(cat "$dir/figures")
  echo "$max_latency $figures" >"$dir/figures"
}

run_case baseline 0
run_case swaps "$swaps"

read -r b_wrk_max b_ingest b_delivery _ _ b_events b_delivered b_retried b_sink <"$work/baseline/figures"
read -r s_wrk_max s_ingest s_delivery s_ingest_swap s_delivery_swap s_events s_delivered s_retried \
  s_sink <"$work/swaps/figures"
read -r b_rps b_p99 _ _ < <(wrk_figures "$work/baseline/wrk")
read -r s_rps s_p99 _ _ < <(wrk_figures "$work/swaps/wrk")

echo
echo "hot reload under load: $connections connections, $duration per run, $workers workers," \
  "$(nproc) cores, $(wc -l <"$work/swaps/swaps") swaps"
swap_times() {  # swap_times LABEL FILE : mean and max of $2 - $1 over FILE's lines
  awk -v l="$1" '{ t = $2 - $1; s += t; if (t > m) m = t } END {
    if (NR) printf "%s: mean %.0f ms, max %d ms (%d swaps)\n", l, s / NR, m, NR }' "$2"
}
swap_times "swap seen (rename to new version in GET /v1/plugins)" "$work/swaps/swaps"
swap_times "swap made (host log: rescan start to publish)" "$work/swaps/host_swaps"
printf '%-34s %12s %12s %8s\n' "" "baseline" "swaps" "ratio"
row() {  # row LABEL BASELINE SWAPS
  awk -v l="$1" -v b="$2" -v s="$3" 'BEGIN {
    r = b > 0 ? sprintf("%.2f", s / b) : "-"; printf "%-34s %12s %12s %8s\n", l, b, s, r }'
}
row "ingest events/s" "$b_rps" "$s_rps"
row "ingest p99 ms (wrk)" "$b_p99" "$s_p99"
row "ingest max latency ms (wrk)" "$b_wrk_max" "$s_wrk_max"
row "longest ingest gap ms" "$b_ingest" "$s_ingest"
row "longest delivery gap ms" "$b_delivery" "$s_delivery"
row "longest ingest gap in a swap ms" "$b_ingest" "$s_ingest_swap"
row "longest delivery gap in a swap ms" "$b_delivery" "$s_delivery_swap"
echo "(the in-a-swap rows compare with the baseline's longest gap over its whole run)"
for run in baseline swaps; do
  read -r _ _ _ _ _ events delivered retried sink <"$work/$run/figures"
  echo "$run: $events events accepted, $delivered delivered, $sink requests at the sink," \
    "$retried deliveries attempted more than once"
  if [ "$events" != "$delivered" ] || [ "$events" != "$sink" ]; then
    echo "warning: $run: accepted, delivered and sink counts differ" >&2
  fi
done
grep -h -E 'refused|kept generation|error' "$work"/crmhost-*.log | head -5 >&2 || true
