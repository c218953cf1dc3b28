#!/usr/bin/env bash
# Ingest of the same mixed load (floats, and native histograms on every HISTOGRAM_EVERY-th
# series) by remote write 1.0, remote write 2.0 and OTLP (HTTP, protobuf) into
# `strata server`: `strata bench ingest` per protocol, each on a fresh data
# dir, taking turns RUNS times; prints one JSON line per run and, at the end, each
# protocol's median points/s and server CPU-s per million points as ratios to remote
# write 1.0 measured in the same runs.
#
#   scripts/bench-otlp.sh [RUNS] [DURATION]      (defaults: 3 runs of 10s)
#
# Needs a release build (cargo build --release -p strata-cli). Env: WRITERS (4),
# BATCH (1000), SERIES (10000), HISTOGRAM_EVERY (10; 0 for floats only). A histogram counts
# as one point.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
duration="${2:-10s}"
writers="${WRITERS:-4}"
batch="${BATCH:-1000}"
series="${SERIES:-10000}"
histogram_every="${HISTOGRAM_EVERY:-10}"

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh

results="$work/results.jsonl"
for run in $(seq 1 "$runs"); do
  for protocol in remote-write remote-write2 otlp; do
    port=$((20000 + RANDOM % 20000))
    dir="$work/$protocol-$run"
    start_server strata "$port" "$dir"
    pid=$!
    out=$("$strata" bench ingest --target "http://127.0.0.1:$port" --protocol "$protocol" \
      --writers "$writers" --batch "$batch" --series "$series" --duration "$duration" \
      --histogram-every "$histogram_every" --json)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "{\"run\":$run,${out#\{}" | tee -a "$results"
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def median(protocol, key):
    values = [r[key] for r in rows if r["protocol"] == protocol and r.get(key) is not None]
    return statistics.median(values) if values else None
base_rate = median("remote-write", "points_per_second")
base_cpu = median("remote-write", "server_cpu_seconds_per_million_points")
errors = sum(r["errors"] for r in rows)
print(f"{'protocol':14} {'points/s':>12} {'vs rw1':>7} {'CPU-s/M':>8} {'vs rw1':>7}")
for protocol in ["remote-write", "remote-write2", "otlp"]:
    rate = median(protocol, "points_per_second")
    cpu = median(protocol, "server_cpu_seconds_per_million_points")
    cpu_ratio = f"{cpu / base_cpu:7.2f}" if cpu and base_cpu else "      -"
    cpu_text = f"{cpu:8.2f}" if cpu else "       -"
    print(f"{protocol:14} {rate:12.0f} {rate / base_rate:7.2f} {cpu_text} {cpu_ratio}")
if errors:
    sys.exit(f"{errors} request(s) failed: see the JSON lines above")
PY
