"""Polls a server's /metrics for ROUNDS evaluations of every rule group and prints the
per-group evaluation durations it saw as JSON: {"group": [seconds, ...], ...}.

    python3 durations.py URL PREFIX ROUNDS TIMEOUT_S

PREFIX is `prometheus` or `strata` (metric names `<prefix>_rule_group_last_duration_seconds`
and `<prefix>_rule_group_last_evaluation_timestamp_seconds`).
"""
import json
import re
import sys
import time
import urllib.request

url, prefix, rounds, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
line = re.compile(r'^(\w+)\{rule_group="([^"]*)"\} (\S+)$')
seen, durations = {}, {}
deadline = time.time() + timeout
while time.time() < deadline:
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    last, took = {}, {}
    for l in text.splitlines():
        m = line.match(l)
        if not m:
            continue
        name, group, value = m.group(1), m.group(2), float(m.group(3))
        if name == f"{prefix}_rule_group_last_evaluation_timestamp_seconds":
            last[group] = value
        elif name == f"{prefix}_rule_group_last_duration_seconds":
            took[group] = value
    for group, t in last.items():
        if t > 0 and seen.get(group) != t:
            seen[group] = t
            durations.setdefault(group, []).append(took.get(group, 0.0))
    if durations and all(len(v) >= rounds for v in durations.values()) and len(durations) == len(last):
        break
    time.sleep(0.5)
print(json.dumps(durations))
