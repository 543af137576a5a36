#!/usr/bin/env bash
# CRM adapters benchmark (figures, not a test): bench/crm_bench.cpp runs each of salesforce,
# hubspot and dynamics365 against its fake (tests/fakes) through a crmhost of its own: look-up
# latency added over the fake's own (p50/p99), the look-up deadline's overrun, and end-to-end
# deliveries/s with its ratio to the webhook adapter's figure measured first in the same run.
# Needs the test tree (BUILD_TESTING on, the default): the fakes and the support library.
# Env: LOOKUPS (2000), DEADLINE_LOOKUPS (20), EVENTS (2000), CONNECTIONS (8), WORKERS (8),
# DRAIN_TIMEOUT (300 s), CRMS (salesforce,hubspot,dynamics365), SINK (receiver; epoll = the sink
# of e2e.sh), PACING (off; adapter = the adapters' published limits), DURABILITY, BUILD_DIR.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target crmhost_crm_bench

# lib.sh's CONNECTIONS default (32) is wrk's; this benchmark's posters default to 8. Temp dirs go
# under $work, which lib.sh removes on exit.
CONNECTIONS=${CONNECTIONS:-8} TMPDIR=$work "$build/bench/crmhost_crm_bench"
