#!/usr/bin/env bash
# Ingest with cardinality tracking on and off: SERIES distinct series by remote write
# (`strata bench ingest`), RUNS alternating runs of DURATION each, a fresh data dir every
# run (so the series are all new: the tracker works per new series). Prints one line per
# run: tracking on/off, samples per second, and the server's CPU time per sample (user +
# system over the whole run, start-up included). Throughput moves with whatever else the
# two cores run (the load generator shares them); CPU per sample is the steadier figure
# of what tracking costs. Compare runs of the same round; this machine is shared and noisy.
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
    result=$("$strata" bench ingest --target "http://127.0.0.1:$port" --protocol remote-write --writers 8 \
      --duration "$duration" --series "$series" --batch 1000 --json 2>/dev/null)
    cpu=$(awk '{printf "%.2f", ($14+$15)/100}' "/proc/$pid/stat")
    python3 -c 'import json,sys; d=json.load(sys.stdin); r, t, cpu = sys.argv[1:]
print("round %s tracking %-5s %11s samples/s  server CPU %.3f us/sample" % (r, t, format(round(d["points_per_second"]), ","), float(cpu) * 1e6 / d["points"]))' \
      "$round" "$tracking" "$cpu" <<<"$result"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=
  done
done
