#!/usr/bin/env bash
# Randomized cluster schedules (writes, SIGKILLs, restarts, joins, drains) against a real
# etcd and real nodes, every acknowledged sample read back at the end through every node:
#
#   scripts/cluster-schedules.sh SCHEDULES [--seed N] [--steps N]
#
# CI runs 20; a longer run is the same with a larger count. Needs etcd (etcd-server).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
schedules="${1:?usage: scripts/cluster-schedules.sh SCHEDULES [--seed N] [--steps N]}"
shift
[ -x target/release/strata ] || cargo build --release -q -p strata-cli
exec python3 scripts/cluster_schedules.py "$schedules" --binary target/release/strata "$@"
