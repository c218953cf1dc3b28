#!/usr/bin/env bash
# Query latency on the real dataset (../shared/datasets/scrape-1s-A), Strata against
# Prometheus 2.42 and VictoriaMetrics, with the peers' own client
# (../shared/peers/bench/query_bench.py: seven dashboard range queries over the whole
# dataset, 1 warm-up then 10 timed runs each, median), so the figures sit beside
# ../shared/peers/RESULTS-scrape-1s-A.md. Each server runs alone on a fresh data dir, is
# loaded by remote write (post_batches.py) and then queried; Strata and Prometheus answer
# from their heads, VictoriaMetrics after a force merge (as the peers' run does). RUNS
# times; one JSON line per server and run, then on stderr a table of medians and the
# ratio of the faster peer's time to Strata's (above 1: Strata is faster).
#
#   scripts/bench-query-peer.sh [RUNS]              (default 3)
#
# Needs a release build, Debian's prometheus and victoria-metrics, python3 with cramjam.
# Env: SHARED (../shared), CACHE (/tmp/peers/cache), SERVERS (strata prometheus victoriametrics).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
servers="${SERVERS:-strata prometheus victoriametrics}"
# shellcheck source=lib/servers.sh
source scripts/lib/servers.sh
mkdir -p "$cache"
[[ -f $cache/rw.pkl ]] || python3 "$bench/build_batches.py" --fmt rw "$dataset.prom.gz" "$cache/rw.pkl" >&2
stat() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$dataset.stats.json" "$1"; }
min_ms=$(stat min_ts_ms); max_ms=$(stat max_ts_ms); samples=$(stat samples)
month=$(date -u -d @$((min_ms / 1000)) +%Y_%m)

vm_settle() { # port: every row in a part, then one merged partition (as ../shared/peers does)
  local rows prev=-1 same=0
  for _ in $(seq 1 120); do
    rows=$(curl -s "http://127.0.0.1:$1/metrics" | awk '/^vm_rows\{type="storage\/(small|big)"/{s+=$2} END{printf "%d", s}')
    [[ $rows -ge $samples ]] && break
    if [[ $rows -eq $prev ]]; then same=$((same + 1)); [[ $same -ge 5 ]] && break; else same=0; fi
    prev=$rows; sleep 1
  done
  curl -s -o /dev/null "http://127.0.0.1:$1/internal/force_merge?partition_prefix=$month"
  for _ in $(seq 1 120); do
    [[ $(curl -s "http://127.0.0.1:$1/metrics" | awk '/^vm_active_merges/{s+=$2} END{printf "%d", s}') -eq 0 ]] && break
    sleep 1
  done
  sleep 2
}

for run in $(seq 1 "$runs"); do
  for server in $servers; do
    port=$((20000 + RANDOM % 20000))
    dir="$work/$server-$run"
    start_server "$server" "$port" "$dir"
    pid=$!
    python3 "$bench/post_batches.py" --url "http://127.0.0.1:$port/api/v1/write" "$cache/rw.pkl" >/dev/null
    vm_flag=()
    if [[ $server == victoriametrics ]]; then vm_settle "$port"; vm_flag=(--vm); fi
    out=$(python3 "$bench/query_bench.py" --url "http://127.0.0.1:$port" --start "$min_ms" --end "$max_ms" "${vm_flag[@]}")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "{\"server\":\"$server\",\"run\":$run,\"queries\":$out}" | tee -a "$work/results"
    rm -rf "$dir"
  done
done

python3 - "$work/results" >&2 <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
servers = list(dict.fromkeys(r['server'] for r in rows))
names = list(dict.fromkeys(q['name'] for r in rows for q in r['queries']))
cell = {}
for r in rows:
    for q in r['queries']:
        cell.setdefault((q['name'], r['server']), []).append(q)
print(f"{'query':28}" + "".join(f"{s:>17}" for s in servers) + "   peer/strata  same values")
for n in names:
    med = {s: statistics.median(q['median_ms'] for q in cell[(n, s)]) for s in servers if (n, s) in cell}
    peers = [med[s] for s in med if s != 'strata']
    ratio = f"{min(peers) / med['strata']:.2f}x" if peers and 'strata' in med else '-'
    digests = {s: {q['digest'] for q in cell[(n, s)]} for s in med}
    same = " ".join(f"{s}:{'yes' if digests[s] == digests.get('strata') else 'no'}" for s in med if s != 'strata')
    print(f"{n:28}" + "".join(f"{med.get(s, float('nan')):17.2f}" for s in servers) + f"   {ratio:>11}  {same}")
PY
