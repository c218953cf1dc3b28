#!/usr/bin/env bash
# The TSM engine against the block engine on the real dataset (../shared/datasets/scrape-1s-A),
# through `strata server`, with the peers' own clients, so the figures sit beside
# ../shared/peers/RESULTS-scrape-1s-A.md:
# - ingest: post_batches.py (4 keep-alive connections, 5,000-sample pre-built batches) by
#   line protocol and by remote write, each engine alone on a fresh data dir, taking turns;
# - bytes per point: after the ingest the server is asked to clean tombstones (for TSM: the
#   cache snapshotted, then a full compaction into one file), then *.tsm bytes / samples —
#   InfluxDB 1.6's own TSM files for this dataset take 1.307 bytes/point (RESULTS);
# - queries: query_bench.py's seven dashboard range queries (1 warm-up, 10 timed, median),
#   with each answer's digest, so the two engines' answers can be compared.
# One JSON line per run, engine and path; then on stderr a table of medians and the ratios.
#
#   scripts/bench-tsm.sh [RUNS]                  (default 3)
#
# Needs a release build, python3 with cramjam (pip install cramjam).
# Env: SHARED (../shared), CACHE (/tmp/peers/cache: batches built once), PATHS (lp rw).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
paths="${PATHS:-lp rw}"
# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
mkdir -p "$cache"
stat() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$dataset.stats.json" "$1"; }
min_ms=$(stat min_ts_ms); max_ms=$(stat max_ts_ms)

endpoint() { case "$1" in rw) echo /api/v1/write ;; lp) echo "/write?db=bench&precision=ns" ;; esac; }

for run in $(seq 1 "$runs"); do
  for path in $paths; do
    pkl=$(batches "$path")
    for engine in block tsm; do
      port=$((20000 + RANDOM % 20000))
      dir="$work/$engine-$path-$run"
      STRATA_ARGS="--engine $engine --retention 0" start_server strata "$port" "$dir"
      pid=$!
      ingest=$(python3 "$bench/post_batches.py" --url "http://127.0.0.1:$port$(endpoint "$path")" --pid "$pid" "$pkl")
      curl -sf -X POST "http://127.0.0.1:$port/api/v1/admin/tsdb/clean_tombstones" >/dev/null
      tsm_bytes=$(find "$dir" -name '*.tsm' -printf '%s\n' | awk '{s+=$1} END{printf "%d", s}')
      queries=$(python3 "$bench/query_bench.py" --url "http://127.0.0.1:$port" --start "$min_ms" --end "$max_ms")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      echo "{\"engine\":\"$engine\",\"path\":\"$path\",\"run\":$run,\"tsm_bytes\":$tsm_bytes,\"ingest\":$ingest,\"queries\":$queries}" | tee -a "$work/results"
      rm -rf "$dir"
    done
  done
done

python3 - "$work/results" >&2 <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
med = statistics.median
print(f"{'path':5} {'engine':6} {'samples/s':>12} {'CPU-s/M':>8} {'errors':>6} {'TSM B/point':>11}")
by = {}
for r in rows:
    by.setdefault((r['path'], r['engine']), []).append(r)
for (path, engine), rs in by.items():
    rate = med([r['ingest']['samples_per_s'] for r in rs])
    cpu = med([r['ingest']['server_cpu_s'] / r['ingest']['samples_acked'] * 1e6 for r in rs if r['ingest']['samples_acked']] or [0])
    bpp = med([r['tsm_bytes'] / r['ingest']['samples_acked'] for r in rs]) if engine == 'tsm' else float('nan')
    print(f"{path:5} {engine:6} {rate:12,.0f} {cpu:8.2f} {sum(r['ingest']['errors'] for r in rs):6} {bpp:11.3f}")
for path in dict.fromkeys(r['path'] for r in rows):
    b, t = by.get((path, 'block')), by.get((path, 'tsm'))
    if b and t:
        ratio = med([r['ingest']['samples_per_s'] for r in t]) / med([r['ingest']['samples_per_s'] for r in b])
        bpp = med([r['tsm_bytes'] / r['ingest']['samples_acked'] for r in t])
        print(f"{path}: ingest TSM / block = {ratio:.2f}x; TSM bytes/point {bpp:.3f} = {bpp / 1.307:.2f}x InfluxDB's 1.307")
print(f"{'query':28} {'block ms':>9} {'tsm ms':>9} {'tsm/block':>9}  same answer")
cell = {}
for r in rows:
    for q in r['queries']:
        cell.setdefault((q['name'], r['engine']), []).append(q)
for name in dict.fromkeys(q['name'] for r in rows for q in r['queries']):
    b, t = cell.get((name, 'block'), []), cell.get((name, 'tsm'), [])
    if b and t:
        mb, mt = med([q['median_ms'] for q in b]), med([q['median_ms'] for q in t])
        same = {q['digest'] for q in b} == {q['digest'] for q in t}
        print(f"{name:28} {mb:9.2f} {mt:9.2f} {mt / mb:9.2f}  {'yes' if same else 'NO'}")
PY
