#!/usr/bin/env bash
# Two builds of Strata under the same remote-write load, alternating, ROUNDS times each: for
# a change's before/after on this shared, noisy machine (compare within a round). Each run
# gets a fresh data dir; prints points/s, anonymous RSS after the load and the server's CPU
# seconds (user + system) per run.
#
#   scripts/bench-ab.sh BINARY_A BINARY_B [ROUNDS] [SERIES] [DURATION]   (defaults 3 1000000 25s)
#
# e.g. cp target/release/strata /tmp/strata-before; (change, cargo build --release);
#      scripts/bench-ab.sh /tmp/strata-before target/release/strata
set -euo pipefail
a="$1"; b="$2"; rounds="${3:-3}"; series="${4:-1000000}"; duration="${5:-25s}"
work="${WORK:-/tmp/bench-ab}"
pid=""
trap '[[ -z $pid ]] || kill "$pid" 2>/dev/null || true' EXIT
for round in $(seq 1 "$rounds"); do
  for binary in "$a" "$b"; do
    rm -rf "$work/data"; mkdir -p "$work"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$binary" server --listen "127.0.0.1:$port" --data-dir "$work/data" --fsync none --retention 0 \
      --log-level warn 2>"$work/server.log" &
    pid=$!
    for _ in $(seq 1 300); do curl -sf "127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.1; done
    # The load generator is always A's, so only the server differs.
    pps=$("$a" bench ingest --target "http://127.0.0.1:$port" --protocol remote-write --writers 8 \
      --duration "$duration" --series "$series" --batch 1000 --json 2>/dev/null |
      python3 -c 'import json,sys; print(round(json.load(sys.stdin)["points_per_second"]))')
    anon=$(awk '/RssAnon/ {printf "%d", $2/1024}' "/proc/$pid/status")
    cpu=$(awk '{printf "%.1f", ($14+$15)/100}' "/proc/$pid/stat")
    printf 'round %s  %-40s %10s points/s  anon %5s MB  cpu %6s s\n' "$round" "$binary" "$pps" "$anon" "$cpu"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=
  done
done
