#!/usr/bin/env bash
# Soak test (issue #25): `strata server` at half its measured maximum ingest (remote write,
# 100,000 series) plus a steady PromQL query load, for DURATION; RSS, write p99 and query p99
# sampled every 10 s and plotted. See scripts/soak.py for the details and the output files.
#
#   scripts/soak.sh DURATION [OUT_DIR] [--json]     (DURATION like 3600s, 60m, 1h; OUT_DIR soak-results)
#
# Needs a release build (cargo build --release) and python3 with matplotlib for the plot.
# Env: SERIES (100000), QPS (2), SERVER_ARGS (more flags for strata server, space-separated:
# SERVER_ARGS="--block-range=10m" reaches the steady state of block cuts within an hour;
# with the default 2h blocks the head only grows for the first 3h). CI runs a 1-minute
# version (.ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
duration="${1:?usage: scripts/soak.sh DURATION [OUT_DIR] [--json]}"
out="${2:-soak-results}"
json="${3:-}"
seconds=$(python3 -c "
import re,sys
m=re.fullmatch(r'(\d+)(s|m|h)?', sys.argv[1]) or sys.exit('DURATION: a number of seconds, or like 60m, 1h')
print(int(m[1]) * {'s':1,'m':60,'h':3600,None:1}[m[2]])" "$duration")
[[ -x target/release/strata ]] || { echo "build first: cargo build --release" >&2; exit 1; }
server_args=()
for a in ${SERVER_ARGS:-}; do server_args+=("--server-arg=$a"); done
exec python3 scripts/soak.py "$seconds" --out "$out" --series "${SERIES:-100000}" \
  --queries-per-second "${QPS:-2}" "${server_args[@]}" ${json:+--json}
