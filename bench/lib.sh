# Shared by bench/*.sh (sourced): build, start/stop helpers and wrk output parsing.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}
connections=${CONNECTIONS:-32}
wrk_threads=${WRK_THREADS:-2}
duration=${DURATION:-10s}

bench_build() {
  "$root/scripts/install-deps" wrk
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target crmhost crmhost_adapter_webhook crmhost_bench_bare \
    crmhost_bench_sink
}

work=$(mktemp -d /tmp/crmhost-bench.XXXXXX)
bench_pids=()
bench_cleanup() {
  for pid in "${bench_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap bench_cleanup EXIT

# start NAME COMMAND... : runs COMMAND in the background with --ready-file $work/NAME.ready
# appended, logging to $work/NAME.log; sets $url (where it listens) and $pid.
start() {
  local name=$1
  shift
  rm -f "$work/$name.ready"  # left by an earlier start of the same name
  "$@" --ready-file "$work/$name.ready" >"$work/$name.log" 2>&1 &
  pid=$!
  bench_pids+=("$pid")
  for _ in $(seq 1 400); do
    if [ -s "$work/$name.ready" ]; then
      url=$(cat "$work/$name.ready")
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.05
  done
  echo "bench: $name did not start:" >&2
  cat "$work/$name.log" >&2
  return 1
}

stop() {  # stop PID
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# run_wrk URL OUTFILE : POSTs the sample event for $duration at $connections connections.
run_wrk() {
  wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$root/bench/post_event.lua" \
    "$1" >"$2"
}

# run_wrk_measured PID URL OUTFILE : run_wrk, then sets $rps $p99 $ok $bad (as wrk_figures prints
# them), $cpu_us (CPU time of process PID per answered request, in microseconds) and $idle_pct
# (share of the machine's CPU time left idle).
run_wrk_measured() {
  local hz t0 t1 s0 s1
  hz=$(getconf CLK_TCK)
  t0=$(awk '{print $14 + $15}' "/proc/$1/stat")
  s0=$(awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
  run_wrk "$2" "$3"
  t1=$(awk '{print $14 + $15}' "/proc/$1/stat")
  s1=$(awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
  read -r rps p99 ok bad < <(wrk_figures "$3")
  cpu_us=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')
  idle_pct=$(awk -v a="$s0" -v b="$s1" 'BEGIN {
    split(a, x, " "); split(b, y, " "); printf "%.1f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')
}

# wrk_figures FILE : prints "<2xx per second> <p99 in ms> <2xx count> <non-2xx count>".
wrk_figures() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000;
      return v
    }
    / requests in / { total = $1; secs = $4; sub(/s,?$/, "", secs) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    END { ok = total - bad; printf "%.0f %.2f %d %d\n", ok / secs, p99, ok, bad }
  ' "$1"
}

# write_sink_config FILE DATA_DIR PLUGIN_DIR SINK_URL : a crmhost config with one tenant ("bench",
# key env:CRMHOST_BENCH_KEY) whose webhook integration delivers to SINK_URL/hook; no ingest limit.
# Reads $workers and $DURABILITY (default full).
write_sink_config() {
  cat >"$1" <<YAML
listen: 127.0.0.1:0
data_dir: $2
durability: ${DURABILITY:-full}
plugin_dir: $3
workers: $workers
tenants:
  - id: bench
    api_keys: [ "env:CRMHOST_BENCH_KEY" ]
    ingest_rate: 1000000000
    integrations:
      - id: bench-sink
        adapter: webhook
        config: { url: "$4/hook", secret: "env:CRMHOST_BENCH_SECRET" }
YAML
}

new_key() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
new_whsec() { echo "whsec_$(head -c 24 /dev/urandom | base64 | tr -d '\n')"; }
