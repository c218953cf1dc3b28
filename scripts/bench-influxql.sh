#!/usr/bin/env bash
# InfluxQL: Strata against a real InfluxDB 1.6 on the same data (../shared/datasets/scrape-1s-A,
# its line protocol posted into database `bench` of each by post_batches.py), with ten
# Grafana-style queries over the last 15 minutes of the data (bench-influxql.py: 1 warm-up,
# RUNS timed runs each, taking turns, medians). Each query's answers must be equal (the
# script fails otherwise); the goal is Strata at most half of InfluxDB's time (ratio <= 0.5,
# reported, not gated: this machine is shared).
#
#   scripts/bench-influxql.sh [RUNS] [--json]        (default 10)
#
# Needs a release build (cargo build --release -p strata-cli), influxd (Debian influxdb),
# python3. Env: SHARED (../shared), CACHE (/tmp/peers/cache), ENGINE (block | tsm), DUMP (a dir
# for the answers of queries whose answers differ).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-10}"
json="${2:-}"
# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
mkdir -p "$cache"
stat() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$dataset.stats.json" "$1"; }
min_ms=$(stat min_ts_ms); max_ms=$(stat max_ts_ms)
pkl=$(batches lp)

influx_port=$((20000 + RANDOM % 20000))
start_server influxdb "$influx_port" "$work/influx"
influx_pid=$!
curl -sf -XPOST "http://127.0.0.1:$influx_port/query" --data-urlencode 'q=CREATE DATABASE bench' >/dev/null

strata_port=$((influx_port + 2))
STRATA_ARGS="--engine ${ENGINE:-block} --retention 0" start_server strata "$strata_port" "$work/strata"
strata_pid=$!

for server in "influxdb $influx_port $influx_pid" "strata $strata_port $strata_pid"; do
  read -r name port pid <<<"$server"
  echo "loading $name ..." >&2
  python3 "$bench/post_batches.py" --url "http://127.0.0.1:$port/write?db=bench&precision=ns" --pid "$pid" "$pkl" >&2
done

python3 scripts/bench-influxql.py --influx "http://127.0.0.1:$influx_port" --strata "http://127.0.0.1:$strata_port" \
  --start-ms "$min_ms" --end-ms "$max_ms" --runs "$runs" ${DUMP:+--dump "$DUMP"} | tee "$work/results" | { [[ $json == --json ]] && cat || cat >/dev/null; }

python3 - "$work/results" >&2 <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'query':22} {'series':>6} {'rows':>6} {'influxdb ms':>11} {'strata ms':>10} {'ratio':>6}  equal")
for r in rows:
    print(f"{r['query']:22} {r['series']:6} {r['rows']:6} {r['influxdb_ms']:11.2f} {r['strata_ms']:10.2f} "
          f"{r['ratio']:6.2f}  {'bytes' if r['bytes_equal'] else ('json' if r['equal'] else 'NO')}")
bad = [r['query'] for r in rows if not r['equal']]
slow = [r['query'] for r in rows if r['ratio'] is None or r['ratio'] > 0.5]
print(f"answers differ: {bad or 'none'}; above half of InfluxDB's time: {slow or 'none'}")
sys.exit(1 if bad else 0)
PY
