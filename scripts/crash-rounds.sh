#!/usr/bin/env bash
# Crash rounds through the real server: concurrent writes on every ingest path, SIGKILL at
# random moments, restart on the same dir, ROUNDS times; then every acknowledged sample is
# read back (scripts/crash_rounds.py says exactly what is checked). The goal (issue #28) is
# 1,000 rounds with no loss: scripts/crash-rounds.sh 1000.
#
#   scripts/crash-rounds.sh ROUNDS [crash_rounds.py options]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:?usage: scripts/crash-rounds.sh ROUNDS [--keep DIR] [--seed N]}"
shift
python3 -c 'import cramjam' 2>/dev/null || python3 -m pip install -q cramjam
[ -x target/release/strata ] || cargo build --release -q -p strata-cli
exec python3 scripts/crash_rounds.py "$rounds" "$@"
