#!/usr/bin/env bash
# Ingest throughput, Strata against VictoriaMetrics, with the same generator and data:
# `strata bench ingest` for each protocol, each server alone on a fresh data dir, taking
# turns, RUNS times. Prints one JSON line per run (the generator's --json plus the server's
# name and its resident memory after the load: rss_mb, anon_mb, and for Strata its head,
# index and series-cache figures); summarise with jq or by eye.
#
#   scripts/bench-ingest-peer.sh [RUNS] [DURATION]      (defaults: 3 runs of 10s)
#
# Needs a release build (cargo build --release) and Debian's victoria-metrics (started as
# ../shared/peers/start-peers.sh does). Env: WRITERS (4), BATCH (5000), SERIES (10000),
# PROTOCOLS ("remote-write influx prometheus"), RATE (points a second for both, to compare
# memory at equal ingest; default: as fast as each takes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
duration="${2:-10s}"
writers="${WRITERS:-4}"
batch="${BATCH:-5000}"
series="${SERIES:-10000}"

# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh

resident() { # pid name port -> JSON fields: the server's resident memory after the load
  # (VmRSS and its anonymous part, MiB) and, for Strata, its own accounting from /metrics
  sleep 2
  local rss anon extra=""
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")
  anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$1/status")
  if [[ $2 == strata ]]; then
    extra=$(curl -sf "http://127.0.0.1:$3/metrics" | awk '
      /^strata_head_memory_bytes / {h=$2} /^strata_head_index_memory_bytes / {i=$2}
      /^strata_series_cache_memory_bytes / {c=$2}
      END {printf ",\"head_mb\":%.0f,\"index_mb\":%.0f,\"series_cache_mb\":%.0f", h/1048576, i/1048576, c/1048576}')
  fi
  echo "\"rss_mb\":$((rss / 1024)),\"anon_mb\":$((anon / 1024))$extra"
}

for run in $(seq 1 "$runs"); do
  for protocol in ${PROTOCOLS:-remote-write influx prometheus}; do
    for server in strata victoriametrics; do
      port=$((20000 + RANDOM % 20000))
      dir="$work/$server-$protocol-$run"
      start_server "$server" "$port" "$dir"
      pid=$!
      out=$("$strata" bench ingest --target "http://127.0.0.1:$port" --protocol "$protocol" \
        --writers "$writers" --batch "$batch" --series "$series" --duration "$duration" \
        ${RATE:+--rate "$RATE"} --json)
      memory=$(resident "$pid" "$server" "$port")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      echo "{\"server\":\"$server\",\"run\":$run,$memory,${out#\{}"
    done
  done
done
