#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ in turn for MINUTES each (coverage-guided libFuzzer via
# cargo-fuzz, sanitizer off so the stable toolchain builds it), seeded from the real
# datasets and conformance files, and prints one JSON line per target: runs, coverage,
# corpus size, CPU seconds used, and the crash file if it found one. Crashes are kept
# under fuzz/artifacts/.
#
#   scripts/fuzz-all.sh MINUTES [TARGET...]      (default: every target)
#
# The goal (issue #28) is an hour of one CPU per target with no crash. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); STRATA_SHARED_DIR (default ../shared) for the seeds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
minutes="${1:?usage: scripts/fuzz-all.sh MINUTES [TARGET...]}"
shift
shared="${STRATA_SHARED_DIR:-$(cd .. && pwd)/shared}"
command -v cargo-fuzz >/dev/null 2>&1 || { echo "error: cargo-fuzz is missing (cargo install cargo-fuzz)" >&2; exit 1; }
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^strata-fuzz$')
fi

python3 scripts/fuzz_seeds.py "$shared" fuzz/corpus >&2
cargo fuzz build -s none -O >&2

for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" fuzz/artifacts
  log="$(mktemp)"
  times="$(mktemp)"
  status=0
  # The CPU time the target got (user + system): on a shared machine it is less than the
  # wall-clock minutes asked for, and it is what the goal counts.
  TIMEFORMAT='%U %S'
  { time cargo fuzz run -s none -O "$target" "fuzz/corpus/$target" -- \
    -max_total_time=$((minutes * 60)) -print_final_stats=1 -close_fd_mask=3 -rss_limit_mb=4096 -timeout=10 \
    >"$log" 2>&1 || status=$?; } 2>"$times"
  cpu=$(awk '{printf "%.0f", $1 + $2}' "$times")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  crash=$(grep -oE 'fuzz/artifacts/[^ ]+/(crash|oom|timeout|leak|slow-unit)-[0-9a-f]+' "$log" | head -1 || true)
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  printf '{"target":"%s","minutes":%s,"cpu_seconds":%s,"runs":%s,"coverage":%s,"corpus":%s,"exit":%s,"crash":"%s"}\n' \
    "$target" "$minutes" "${cpu:-0}" "${runs:-0}" "${cov:-0}" "$corpus" "$status" "$crash"
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
  fi
  rm -f "$log" "$times"
done
