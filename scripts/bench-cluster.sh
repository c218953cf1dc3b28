#!/usr/bin/env bash
# Write throughput and query latency of a local 3-node cluster (replication factor 2, etcd
# on loopback: `strata cluster init`) against one node, same generator, same data, taking
# turns RUNS times. Every node of the cluster and the single node run on this machine, so
# the cluster's three processes share its cores with each other and the load generator:
# the ratio is replication's cost on one machine, not a cluster's capacity.
#
#   scripts/bench-cluster.sh [RUNS] [DURATION]        (defaults: 3 runs of 10s)
#
# Prints one JSON line per run and kind (`strata bench ingest --json` plus the query
# latencies), then a summary line: median points/s of each and their ratio, median p99
# write latency, median query latency. Env: WRITERS (4), BATCH (5000), SERIES (10000),
# NODES (3), RF (2). Needs a release build and etcd (Debian etcd-server).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
duration="${2:-10s}"
writers="${WRITERS:-4}"
batch="${BATCH:-5000}"
series="${SERIES:-10000}"
nodes="${NODES:-3}"
rf="${RF:-2}"
strata=target/release/strata
[ -x "$strata" ] || cargo build --release -q -p strata-cli
command -v etcd >/dev/null || { echo "etcd is missing (apt-get install etcd-server)" >&2; exit 1; }

work=$(mktemp -d)
single_pid=""
cleanup() {
  [ -f "$work/cluster/cluster.json" ] && "$strata" cluster down --dir "$work/cluster" >/dev/null 2>&1 || true
  [ -n "$single_pid" ] && kill "$single_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Median latency (ms) of the dashboard queries against $1, 20 times each, as JSON fields.
query_latency() {
  python3 - "$1" <<'EOF'
import json, statistics, sys, time, urllib.parse, urllib.request
base = sys.argv[1]
queries = ["sum(rate(bench_value[1m]))", "topk(5, bench_value)", "count(bench_value)",
           "max_over_time(bench_value{series=\"s42\"}[5m])"]
out = {}
for i, q in enumerate(queries):
    times = []
    for _ in range(20):
        url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": f"{time.time():.3f}"})
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as r:
            r.read()
        times.append((time.perf_counter() - started) * 1000)
    out[f"query{i}_ms_p50"] = round(statistics.median(times), 2)
print(json.dumps(out)[1:-1])
EOF
}

bench() { # kind url -> one JSON line
  local result latency
  result=$("$strata" bench ingest --target "$2" --protocol remote-write --writers "$writers" \
    --batch "$batch" --series "$series" --duration "$duration" --json 2>/dev/null)
  latency=$(query_latency "$2")
  echo "{\"kind\":\"$1\",\"run\":$run,${result:1:-1},$latency}" | tee -a "$work/results.jsonl"
}

for run in $(seq 1 "$runs"); do
  echo "run $run/$runs: cluster of $nodes, rf $rf" >&2
  "$strata" cluster init --nodes "$nodes" --replication "$rf" --dir "$work/cluster" --json >/dev/null
  first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][0]["addr"])' "$work/cluster/cluster.json")
  bench cluster "http://$first"
  "$strata" cluster down --dir "$work/cluster" >/dev/null
  rm -rf "$work/cluster"

  echo "run $run/$runs: one node" >&2
  port=$(free_port)
  "$strata" server --listen "127.0.0.1:$port" --data-dir "$work/single" --grpc-listen off 2>"$work/single.log" &
  single_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.1; done
  bench single "http://127.0.0.1:$port"
  kill "$single_pid"; wait "$single_pid" 2>/dev/null || true; single_pid=""
  rm -rf "$work/single"
done

python3 - "$work/results.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(kind, key):
    values = [r[key] for r in rows if r["kind"] == kind and key in r]
    return statistics.median(values) if values else None
summary = {"runs": len(rows) // 2}
for kind in ("cluster", "single"):
    for key in ("points_per_second", "p99_ms", "query0_ms_p50", "query1_ms_p50", "query2_ms_p50", "query3_ms_p50"):
        summary[f"{kind}_{key}"] = med(kind, key)
c, s = summary["cluster_points_per_second"], summary["single_points_per_second"]
summary["cluster_over_single_throughput"] = round(c / s, 3) if c and s else None
print(json.dumps(summary))
EOF
