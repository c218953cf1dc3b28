#!/usr/bin/env bash
# Ingest throughput, Strata against VictoriaMetrics, with the same generator and data:
# `strata bench ingest` for each protocol, each server alone on a fresh data dir, taking
# turns, RUNS times. Prints one JSON line per run (the generator's --json plus the server's
# name); summarise with jq or by eye.
#
#   scripts/bench-ingest-peer.sh [RUNS] [DURATION]      (defaults: 3 runs of 10s)
#
# Needs a release build (cargo build --release) and Debian's victoria-metrics (started as
# ../shared/peers/start-peers.sh does). Env: WRITERS (4), BATCH (5000), SERIES (10000),
# PROTOCOLS ("remote-write influx prometheus").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
duration="${2:-10s}"
writers="${WRITERS:-4}"
batch="${BATCH:-5000}"
series="${SERIES:-10000}"

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh

for run in $(seq 1 "$runs"); do
  for protocol in ${PROTOCOLS:-remote-write influx prometheus}; do
    for server in strata victoriametrics; do
      port=$((20000 + RANDOM % 20000))
      dir="$work/$server-$protocol-$run"
      start_server "$server" "$port" "$dir"
      pid=$!
      out=$("$strata" bench ingest --target "http://127.0.0.1:$port" --protocol "$protocol" \
        --writers "$writers" --batch "$batch" --series "$series" --duration "$duration" --json)
      kill "$pid"; wait "$pid" 2>/dev/null || true
      echo "{\"server\":\"$server\",\"run\":$run,${out#\{}"
    done
  done
done
