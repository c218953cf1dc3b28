"""Writes the rule benchmark's inputs: SERIES counter series (OpenMetrics, 15 s apart, the
20 minutes up to now; the values depend only on the seed, so two runs give the same data
shifted in time) and a rule file of RULES rules (half recording, half alerting) in groups
of 100.

    python3 make_inputs.py OUT_DIR SERIES RULES INTERVAL
"""
import os
import random
import sys
import time

out, series, rules, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(out, exist_ok=True)
instances = max(1, series // 100)
random.seed(7)
now = int(time.time())
start, end = now - 20 * 60, now
with open(os.path.join(out, "data.om"), "w") as f:
    f.write("# TYPE bench_requests counter\n")
    for i in range(series):
        job, inst, code = i % 10, (i // 10) % instances, i // (10 * instances)
        labels = f'job="j{job}",instance="i{inst}",code="c{code}"'
        value, rate = 0.0, random.uniform(0.1, 10.0)
        for t in range(start, end + 1, 15):
            value += rate * 15 * random.uniform(0.5, 1.5)
            f.write(f"bench_requests_total{{{labels}}} {value:.3f} {t}\n")
    f.write("# EOF\n")

recording = [
    "sum by (job) (rate(bench_requests_total{{instance=\"i{i}\"}}[5m]))",
    "sum by (code) (rate(bench_requests_total{{instance=\"i{i}\"}}[5m]))",
    "max by (job) (rate(bench_requests_total{{instance=\"i{i}\"}}[1m]))",
    "avg by (job, code) (increase(bench_requests_total{{instance=\"i{i}\"}}[5m]))",
    "count by (job) (bench_requests_total{{instance=\"i{i}\"}} > 1000)",
]
alerting = [
    "rate(bench_requests_total{{instance=\"i{i}\"}}[5m]) > 9",
    "sum by (job) (rate(bench_requests_total{{instance=\"i{i}\"}}[5m])) > 40",
    "increase(bench_requests_total{{instance=\"i{i}\", job=~\"j[0-4]\"}}[1m]) > 500",
    "max by (code) (rate(bench_requests_total{{instance=\"i{i}\"}}[1m])) > 12",
    "absent(bench_requests_total{{instance=\"i{i}\", job=\"j0\"}})",
]
with open(os.path.join(out, "rules.yml"), "w") as f:
    f.write("groups:\n")
    for n in range(rules):
        if n % 100 == 0:
            f.write(f"  - name: bench-{n // 100}\n    interval: {interval}\n    rules:\n")
        i = (n // 2) % instances
        variant = (n // 2 // instances) % 5
        if n % 2 == 0:
            f.write(f"      - record: bench:rule{n}\n        expr: '{recording[variant].format(i=i)}'\n")
        else:
            f.write(f"      - alert: Bench{n}\n        expr: '{alerting[variant].format(i=i)}'\n        for: 1m\n"
                    f"        labels: {{severity: page}}\n        annotations: {{summary: 'v={{{{ $value }}}}'}}\n")
