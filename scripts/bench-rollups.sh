#!/usr/bin/env bash
# Rollups: long range queries with and without rollup tiers (docs/rollups.md). Runs
# `strata bench rollups`: SERIES series at 60 s over DAYS days written into blocks, rolled up
# with the seed's tiers (1m kept 30d, 1h kept 1y, 1d forever), then 30-day and DAYS-day
# avg_over_time / rate / quantile_over_time range queries (step 1h) timed with and without
# rollups, RUNS times each in turns (medians). Prints the report, then checks that every
# routed answer equals the raw one (quantiles within the sketch's 1%) and that rollups
# scanned fewer points.
#
#   scripts/bench-rollups.sh [SERIES] [DAYS] [RUNS]     (defaults 1000, 365, 3: the issue's
#                                                       525M samples; CI runs 200 60 1)
#
# Needs a release build (cargo build --release). WORK sets the scratch dir
# (/tmp/bench-rollups); a dir already filled for the same sizes is reused.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
series="${1:-1000}"; days="${2:-365}"; runs="${3:-3}"
work="${WORK:-/tmp/bench-rollups}"
strata=target/release/strata
[[ -x $strata ]] || { echo "build first: cargo build --release" >&2; exit 1; }
dir="$work/${series}x${days}d"
mkdir -p "$work"
report=$("$strata" bench rollups --dir "$dir" --series "$series" --days "$days" --runs "$runs" --json)
echo "$report"
python3 - "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"{r['series']} series, {r['raw_samples']:,} raw samples; rolled up in {r['rollup_seconds']:.1f} s; "
      f"rollup bytes per raw sample {r['rollup_bytes_per_raw_sample']:.3f} "
      f"({', '.join(f'{t} {b / 2**20:.1f} MiB' for t, b in r['tier_bytes'])})", file=sys.stderr)
print(f"{'query':<44} {'days':>5} {'points':>10} {'fewer':>7} {'ms with':>9} {'without':>9} {'faster':>7}  route", file=sys.stderr)
for q in r["queries"]:
    print(f"{q['query']:<44} {q['range_days']:>5} {q['points_with']:>10} {q['fewer_points']:>6.1f}x "
          f"{q['ms_with']:>9.1f} {q['ms_without']:>9.1f} {q['faster']:>6.1f}x  {q['route']}", file=sys.stderr)
bad = [q["query"] for q in r["queries"] if not q["same_answer"]]
assert not bad, f"routed answers differ from raw ones: {bad}"
assert all(q["points_with"] < q["points_without"] for q in r["queries"]), "rollups scanned no fewer points"
PY
