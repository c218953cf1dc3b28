#!/usr/bin/env bash
# Shard pruning: does a query's time grow with the shards it touches rather than with the
# data kept? Builds two data dirs with `strata tsdb demo` (synthetic series, 15 s apart,
# cut into 2 h blocks, then compacted into one block a day): DAYS days of SERIES series,
# and the last day alone. Then `strata shards query` reads the selector over the last day
# and over all DAYS days in the big dir, and over the last day in the small one, RUNS times
# each; prints one JSON line per query and run, then a table of medians on stderr:
#   last day, DAYS kept  vs  last day, 1 kept   — should be about equal (pruning works)
#   DAYS days, DAYS kept vs  last day, DAYS kept — should be about DAYS (linear in touched)
#
#   scripts/bench-shards.sh [RUNS] [DAYS] [SERIES]     (defaults 5, 30, 1000)
#
# Needs a release build (cargo build --release). WORK sets the scratch dir (/tmp/bench-shards).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-5}"; days="${2:-30}"; series="${3:-1000}"
work="${WORK:-/tmp/bench-shards}"
strata=target/release/strata
[[ -x $strata ]] || { echo "build first: cargo build --release" >&2; exit 1; }
selector='metric_0'
per_day=$((series * 86400 / 15))

build() { # dir days
  if [[ ! -f $1/.built ]]; then
    rm -rf "$1"
    echo "building $1: $2 day(s) of $series series" >&2
    "$strata" tsdb demo --dir "$1" --series "$series" --samples $(($2 * per_day)) --interval 15s --fsync none --json >/dev/null
    "$strata" tsdb compact --dir "$1" --json >/dev/null
    touch "$1/.built"
  fi
}
build "$work/kept-$days" "$days"
build "$work/kept-1" 1

last_ms() { "$strata" shards status --dir "$1" --retention 0 --json |
  python3 -c "import json,sys; print(max(s['end_ms'] for s in json.load(sys.stdin)['shards']))"; }

query() { # label dir start_ms end_ms
  for _ in $(seq 1 "$runs"); do
    "$strata" shards query --dir "$2" --retention 0 "$selector" --start "$(($3 / 1000))" --end "$(($4 / 1000))" --json |
      python3 -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'query': sys.argv[1], 'shards': len(r['shards_to_scan']), 'points': r['points'], 'ms': r['took_ms']}))" "$1"
  done
}

results=$(mktemp)
big_end=$(last_ms "$work/kept-$days"); small_end=$(last_ms "$work/kept-1")
{
  query "last day, $days kept" "$work/kept-$days" $((big_end - 86400000)) "$big_end"
  query "all $days days, $days kept" "$work/kept-$days" $((big_end - days * 86400000)) "$big_end"
  query "last day, 1 kept" "$work/kept-1" $((small_end - 86400000)) "$small_end"
} | tee "$results"
python3 - "$results" "$days" >&2 <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
days = sys.argv[2]
med = {}
for q in dict.fromkeys(r['query'] for r in rows):
    rs = [r for r in rows if r['query'] == q]
    med[q] = statistics.median(r['ms'] for r in rs)
    print(f"{q:<24} shards {rs[0]['shards']:>3}  points {rs[0]['points']:>10}  median {med[q]:9.2f} ms")
one_big, one_small, all_big = med[f"last day, {days} kept"], med["last day, 1 kept"], med[f"all {days} days, {days} kept"]
print(f"last day with {days} kept / with 1 kept: {one_big / one_small:.2f}  (1 = time does not grow with data kept)")
print(f"all {days} days / last day: {all_big / one_big:.1f}  (grows with the shards touched)")
PY
