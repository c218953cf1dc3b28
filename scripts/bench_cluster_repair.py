#!/usr/bin/env python3
"""Re-replication's speed on this machine: a local 3-node cluster (rf 2, `strata cluster
init`, repair delay 1 s) takes SERIES series x SAMPLES samples of history through one node
(text format, timed: the cluster's ingest rate of this data), then a node is killed for
good and the survivors copy its share to each other (timed from the first pass's start to
the last's end: the re-replication rate). Both rates are of the same data on the same
processes, so their ratio says what a repair costs against writing the data once more.
Every sample is counted back through a survivor at the end.

usage: bench_cluster_repair.py [--series N] [--samples N] [--binary target/release/strata]

Prints one JSON line. Needs a release build and etcd (Debian etcd-server). Every process
shares this machine's cores.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from local_server import http, wait_until  # noqa: E402

STEP_MS = 15_000
LINES_PER_REQUEST = 50_000


def strata(binary, *args):
    done = subprocess.run([binary, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"strata {' '.join(args)}: {done.stderr.strip()[-400:]}")
    return done.stdout


def write_history(url, series, samples, end):
    """Posts every sample, oldest first, series by series within a time step."""
    lines = []
    started = time.time()
    for k in range(samples):
        t = end - (samples - 1 - k) * STEP_MS
        for s in range(series):
            lines.append(f'hist{{i="{s}"}} {s + k} {t}')
            if len(lines) == LINES_PER_REQUEST:
                post(url, lines)
                lines = []
    if lines:
        post(url, lines)
    return time.time() - started


def post(url, lines):
    status, text = http("POST", url + "/api/v1/import/prometheus", ("\n".join(lines) + "\n").encode(), timeout=120)
    if status != 204:
        raise RuntimeError(f"write refused: {status} {text[:300]}")


def repair_status(addr):
    status, text = http("GET", f"http://{addr}/api/v1/status/cluster", timeout=5)
    return json.loads(text)["data"]["repair"] if status == 200 else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=720)
    parser.add_argument("--binary", default="target/release/strata")
    args = parser.parse_args()
    if shutil.which("etcd") is None:
        sys.exit("etcd is missing (apt-get install etcd-server)")
    work = tempfile.mkdtemp(prefix="strata-bench-repair-")
    cluster_dir = os.path.join(work, "cluster")
    try:
        strata(args.binary, "cluster", "init", "--nodes", "3", "--replication", "2",
               "--repair-delay", "1s", "--dir", cluster_dir, "--json")
        nodes = json.load(open(os.path.join(cluster_dir, "cluster.json")))["nodes"]
        addrs = {n["id"]: n["addr"] for n in nodes}
        strata(args.binary, "cluster", "repair", "--wait", "--dir", cluster_dir)
        end = int(time.time() * 1000) - 60_000
        total = args.series * args.samples
        ingest_s = write_history(f"http://{addrs['node-1']}", args.series, args.samples, end)
        strata(args.binary, "cluster", "repair", "--wait", "--dir", cluster_dir)
        killed_at = time.time()
        strata(args.binary, "cluster", "kill", "node-2", "--dir", cluster_dir)
        survivors = ["node-1", "node-3"]

        def repaired():
            statuses = [repair_status(addrs[n]) for n in survivors]
            return all(s and s["state"] == "idle" and s["pass"].get("endedMs", 0) > killed_at * 1000
                       for s in statuses)
        wait_until(repaired, 3600, "re-replication after the kill")
        done_s = time.time() - killed_at
        statuses = [repair_status(addrs[n]) for n in survivors]
        sent = sum(s["pass"]["samplesSent"] for s in statuses)
        written = sum(s["pass"]["samplesWritten"] for s in statuses)
        pass_s = (max(s["pass"]["endedMs"] for s in statuses) - min(s["pass"]["startedMs"] for s in statuses)) / 1000
        query = urllib.parse.urlencode({
            "query": f"sum(count_over_time(hist[{(args.samples + 1) * STEP_MS // 1000}s]))",
            "time": f"{(end + 1000) / 1000:.3f}"})
        status, text = http("GET", f"http://{addrs['node-1']}/api/v1/query?{query}", timeout=120)
        counted = int(float(json.loads(text)["data"]["result"][0]["value"][1])) if status == 200 else None
        ingest_rate = total / ingest_s
        repair_rate = sent / pass_s if pass_s > 0 else None
        print(json.dumps({
            "series": args.series, "samples": total,
            "ingest_seconds": round(ingest_s, 2), "ingest_samples_per_s": round(ingest_rate),
            "repair_samples_sent": sent, "repair_samples_written": written,
            "repair_pass_seconds": round(pass_s, 2), "repair_samples_per_s": repair_rate and round(repair_rate),
            "repair_vs_ingest": repair_rate and round(repair_rate / ingest_rate, 2),
            "kill_to_repaired_seconds": round(done_s, 2),
            "counted_after": counted, "complete": counted == total,
        }))
        sys.exit(0 if counted == total else 1)
    finally:
        subprocess.run([args.binary, "cluster", "down", "--dir", cluster_dir], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
