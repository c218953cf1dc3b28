#!/usr/bin/env bash
# Ingest of the real dataset (../shared/datasets/scrape-1s-A), Strata against
# VictoriaMetrics, with the peers' own client (../shared/peers/bench/post_batches.py: 4
# keep-alive connections, 5,000-sample pre-built batches, series sharded by crc32), so the
# figures sit beside ../shared/peers/RESULTS-scrape-1s-A.md. Each server runs alone on a
# fresh data dir, taking turns, RUNS times; one JSON line per run and path (post_batches'
# object plus server, path and RSS after ingest in MiB), then on stderr a table of medians:
# samples/s, server CPU-seconds per million samples, RSS, and Strata's throughput ratio.
#
#   scripts/bench-dataset-peer.sh [RUNS]            (default 3)
#
# Needs a release build, Debian's victoria-metrics, python3 with cramjam (pip install cramjam).
# Env: SHARED (../shared), CACHE (/tmp/peers/cache: batches are built once), PATHS (rw prom lp).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
paths="${PATHS:-rw prom lp}"
# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
mkdir -p "$cache"

endpoint() { # path -> URL path (the same on both servers)
  case "$1" in
    rw) echo /api/v1/write ;;
    prom) echo /api/v1/import/prometheus ;;
    lp) echo "/write?db=bench&precision=ns" ;;
  esac
}

for run in $(seq 1 "$runs"); do
  for path in $paths; do
    pkl=$(batches "$path")
    for server in strata victoriametrics; do
      port=$((20000 + RANDOM % 20000))
      dir="$work/$server-$path-$run"
      start_server "$server" "$port" "$dir"
      pid=$!
      out=$(python3 "$bench/post_batches.py" --url "http://127.0.0.1:$port$(endpoint "$path")" --pid "$pid" "$pkl")
      rss=$(awk '/VmRSS/{printf "%d", $2/1024}' "/proc/$pid/status")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      echo "{\"server\":\"$server\",\"path\":\"$path\",\"run\":$run,\"rss_mib\":$rss,${out#\{}" | tee -a "$work/results"
      rm -rf "$dir"
    done
  done
done

python3 - "$work/results" >&2 <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
med = lambda xs: statistics.median(xs)
print(f"{'path':6} {'server':16} {'samples/s':>12} {'CPU-s/M':>8} {'RSS MiB':>8} {'errors':>6}")
by = {}
for r in rows:
    by.setdefault((r['path'], r['server']), []).append(r)
for (path, server), rs in by.items():
    rate = med([r['samples_per_s'] for r in rs])
    cpu = med([r['server_cpu_s'] / r['samples_acked'] * 1e6 for r in rs if r['samples_acked']] or [0])
    print(f"{path:6} {server:16} {rate:12,.0f} {cpu:8.2f} {med([r['rss_mib'] for r in rs]):8.0f} {sum(r['errors'] for r in rs):6}")
for path in dict.fromkeys(r['path'] for r in rows):
    s, v = by.get((path, 'strata')), by.get((path, 'victoriametrics'))
    if s and v:
        ratio = med([r['samples_per_s'] for r in s]) / med([r['samples_per_s'] for r in v])
        print(f"{path}: Strata / VictoriaMetrics = {ratio:.2f}x")
PY
