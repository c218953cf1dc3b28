#!/usr/bin/env bash
# Ingest with cardinality tracking on and off: SERIES distinct series by remote write
# (`strata bench ingest`), RUNS alternating runs of DURATION each, a fresh data dir every
# run (so the series are all new: the tracker works per new series). Prints one line per
# run: tracking on/off and samples per second. Compare runs of the same round; this
# machine is shared and noisy.
#
#   scripts/bench-cardinality.sh [SERIES] [RUNS] [DURATION]   (defaults 1000000 2 30s)
#
# Needs a release build (cargo build --release). WORK sets the scratch dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
series="${1:-1000000}"; runs="${2:-2}"; duration="${3:-30s}"
work="${WORK:-/tmp/bench-cardinality}"
strata="$PWD/target/release/strata"
[[ -x $strata ]] || { echo "build first: cargo build --release" >&2; exit 1; }
mkdir -p "$work"
pid=""
trap '[[ -z $pid ]] || kill "$pid" 2>/dev/null || true' EXIT
for round in $(seq 1 "$runs"); do
  for tracking in true false; do
    rm -rf "$work/data"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$strata" server --listen "127.0.0.1:$port" --data-dir "$work/data" --fsync none --retention 0 \
      --cardinality-tracking "$tracking" --log-level warn 2>"$work/server.log" &
    pid=$!
    for _ in $(seq 1 300); do curl -sf "127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.1; done
    "$strata" bench ingest --target "http://127.0.0.1:$port" --protocol remote-write --writers 8 \
      --duration "$duration" --series "$series" --batch 1000 --json 2>/dev/null |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print("round %s tracking %-5s %s samples/s" % (sys.argv[1], sys.argv[2], format(round(d["points_per_second"]), ",")))' "$round" "$tracking"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=
  done
done
