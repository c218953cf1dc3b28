#!/usr/bin/env bash
# Rule evaluation against a real Prometheus 2.42 on the same rules and data: RULES rules
# (half recording, half alerting, groups of 100) every INTERVAL over SERIES counter series.
# Each system runs alone (one after the other, so they do not share the 2 cores), on the
# same data — generated afresh just before each run, so it ends at that run's start, and
# backfilled (`strata import`, `promtool tsdb create-blocks-from openmetrics`) — and
# evaluates ROUNDS rounds; each group's last evaluation duration is read from /metrics
# (`strata_rule_group_last_duration_seconds`, `prometheus_rule_group_last_duration_seconds`).
# Prints one JSON line per system, then the ratios Strata/Prometheus of the mean time of a
# round (all groups) and of the p99 of a group's evaluation; the goal is <= 0.5.
# The first round of each is left out (it warms caches and, in Prometheus, precedes the
# restore of alert state).
#
#   scripts/bench-rules.sh [RULES] [SERIES] [ROUNDS] [INTERVAL]   (defaults 1000 10000 8 15s)
#
# Needs a release build (cargo build --release), prometheus and promtool. WORK sets the
# scratch dir (/tmp/bench-rules); ONLY=strata skips Prometheus (to try a change quickly).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rules="${1:-1000}"; series="${2:-10000}"; rounds="${3:-8}"; interval="${4:-15s}"
work="${WORK:-/tmp/bench-rules}"
strata="$PWD/target/release/strata"
[[ -x $strata ]] || { echo "build first: cargo build --release" >&2; exit 1; }
interval_s=$(python3 -c "import re,sys; m=re.fullmatch(r'(\d+)(s|m)', sys.argv[1]); print(int(m[1]) * (60 if m[2]=='m' else 1))" "$interval")
timeout_s=$(( (rounds + 3) * interval_s + 60 ))

rm -rf "$work"; mkdir -p "$work"
echo "inputs: $series series, $rules rules every $interval" >&2
inputs() { python3 scripts/bench_rules/make_inputs.py "$work" "$series" "$rules" "$interval"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { for _ in $(seq 1 600); do curl -sf "$1/-/ready" >/dev/null && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }

count() { # url query
  curl -s "$1/api/v1/query" --data-urlencode "query=$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}

measure() { # name url prefix pid
  local json recorded alerts
  json=$(python3 scripts/bench_rules/durations.py "$2" "$3" "$((rounds + 1))" "$timeout_s")
  # The rules must have done their work: recorded series and alerts exist.
  recorded=$(count "$2" 'count({__name__=~"bench:rule.*"})')
  alerts=$(count "$2" 'count(ALERTS)')
  kill "$4"; wait "$4" 2>/dev/null || true
  if [[ $recorded == 0 ]]; then echo "$1 recorded nothing: see $work/$1.log" >&2; exit 1; fi
  python3 - "$1" "$json" "$recorded" "$alerts" <<'PY'
import json, sys
name, d, recorded, alerts = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
groups = sorted(d)
runs = min(len(v) for v in d.values()) if d else 0
round_totals = [sum(d[g][r] for g in groups) for r in range(1, runs)]
each = sorted(x for g in groups for x in d[g][1:])
p99 = each[min(len(each) - 1, int(0.99 * len(each)))] if each else 0
print(json.dumps({"system": name, "groups": len(groups), "rounds": len(round_totals),
                  "round_mean_s": sum(round_totals) / max(1, len(round_totals)), "group_p99_s": p99,
                  "recorded_series": recorded, "alert_series": alerts}))
PY
}

inputs
"$strata" import --format openmetrics --dir "$work/strata" "$work/data.om" --json >/dev/null
port=$(free_port)
"$strata" server --listen "127.0.0.1:$port" --data-dir "$work/strata" --rule-files "$work/rules.yml" \
  --retention 0 --log-level warn 2>"$work/strata.log" &
pids+=($!); wait_ready "http://127.0.0.1:$port"
strata_line=$(measure strata "http://127.0.0.1:$port" strata "${pids[-1]}")
echo "$strata_line"

if [[ ${ONLY:-} == strata ]]; then exit 0; fi
inputs
promtool tsdb create-blocks-from openmetrics "$work/data.om" "$work/prometheus" >/dev/null
port=$(free_port)
printf 'global:\n  evaluation_interval: %s\nrule_files: ["%s"]\n' "$interval" "$work/rules.yml" > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
  --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=10y 2>"$work/prometheus.log" &
pids+=($!); wait_ready "http://127.0.0.1:$port"
prom_line=$(measure prometheus "http://127.0.0.1:$port" prometheus "${pids[-1]}")
echo "$prom_line"

python3 - "$strata_line" "$prom_line" >&2 <<'PY'
import json, sys
s, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"round mean: strata {s['round_mean_s']*1000:.1f} ms, prometheus {p['round_mean_s']*1000:.1f} ms, ratio {s['round_mean_s']/p['round_mean_s']:.2f}")
print(f"group p99:  strata {s['group_p99_s']*1000:.1f} ms, prometheus {p['group_p99_s']*1000:.1f} ms, ratio {s['group_p99_s']/p['group_p99_s']:.2f}")
PY
