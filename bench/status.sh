#!/usr/bin/env bash
# GET /v1/status on a large outbox (figures, not a test): bench/status_bench.cpp fills a store with
# ROWS deliveries (1,000,000) and times the figures the status endpoint reads against the same
# figures counted by a scan, in the same run.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target crmhost_status_bench
TMPDIR=$work "$build/bench/crmhost_status_bench"
