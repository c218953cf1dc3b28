#!/usr/bin/env python3
"""Soak test: Strata under a steady write and query load, sampled every 10 s.

1. Starts `strata server` on a fresh data dir (loopback, a free port).
2. Measures the maximum ingest rate (`strata bench ingest`, remote write, MAX_SECONDS).
3. Writes at half of it for DURATION (`strata bench ingest --rate … --report-every 10s`:
   one JSON line per 10 s with that interval's write latencies), while a query thread runs
   dashboard-style PromQL queries at a steady pace and times each one.
4. Every 10 s samples the server's RSS, and takes the interval's write and query p99.
5. Writes samples.csv, summary.json and soak.png (RSS, write p99, query p99 over time) to
   the output dir, and prints the summary.

Fails (exit 1) if a write or a query failed or the server died; RSS and latency are reported,
not gated (this machine is shared): look at the plot and the second-half RSS slope.
"""

import argparse
import csv
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

# Dashboard panels: one host's series (1,000 of the 100,000), a few hosts, one series, and
# one count over everything.
QUERIES = [
    'sum(rate(bench_value{host="host7"}[1m]))',
    'sum by (host) (rate(bench_value{host=~"host1[0-4]"}[5m]))',
    'topk(5, bench_value{host="host3"})',
    'bench_value{series="s42"}',
    'quantile(0.99, bench_value{host="host9"})',
    "count(bench_value)",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid, field="VmRSS:"):
    """A /proc/PID/status figure in bytes: VmRSS (all resident pages, mapped files'
    included) or RssAnon (the process's own memory: what runs it out of memory)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def p99(values):
    if not values:
        return 0.0
    values = sorted(values)
    return values[max(0, int(len(values) * 0.99 + 0.999999) - 1)]


def wait_ready(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"strata at {url} not ready in {seconds} s")


class QueryLoad(threading.Thread):
    """Runs QUERIES round-robin, PER_SECOND a second, recording (end time, ms, ok)."""

    def __init__(self, url, per_second):
        super().__init__(daemon=True)
        self.url, self.period = url, 1.0 / per_second
        self.results, self.lock, self.stop = [], threading.Lock(), threading.Event()
        self.first_error = None

    def run(self):
        i, next_at = 0, time.time()
        while not self.stop.is_set():
            query = QUERIES[i % len(QUERIES)]
            i += 1
            params = urllib.parse.urlencode({"query": query, "time": f"{time.time():.3f}"})
            started = time.time()
            ok = True
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/query?{params}", timeout=60) as r:
                    ok = json.load(r).get("status") == "success"
            except Exception as e:  # an HTTP error or a timeout is a failed query
                ok = False
                self.first_error = self.first_error or f"{query}: {e}"
            ms = (time.time() - started) * 1000
            with self.lock:
                self.results.append((time.time(), ms, ok))
            next_at += self.period
            time.sleep(max(0.0, next_at - time.time()))

    def take(self):
        with self.lock:
            taken, self.results = self.results, []
        return taken


def measure_max(strata, url, args):
    # Its own metric: the soak's series then start fresh (the same series would get samples
    # older than the ones written here, which are refused as out of order).
    out = subprocess.run(
        [strata, "bench", "ingest", "--target", url, "--protocol", "remote-write", "--metric", "soak_max_probe",
         "--writers", str(args.writers),
         "--batch", str(args.batch), "--series", str(args.series), "--duration", f"{args.max_seconds}s", "--json"],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["points_per_second"]


def plot(samples, path, summary):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing (pip install matplotlib): no plot", file=sys.stderr)
        return False
    minutes = [s["elapsed_s"] / 60 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    series = [("rss_mb", "RSS (MiB)"), ("write_p99_ms", "write p99 (ms)"), ("query_p99_ms", "query p99 (ms)")]
    for ax, (key, label) in zip(axes, series):
        ax.plot(minutes, [s[key] for s in samples], marker=".", linewidth=1, label=label.split(" (")[0])
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].plot(minutes, [s["anon_mb"] for s in samples], marker=".", linewidth=1, label="anonymous (heap)")
    axes[0].legend(fontsize=8)
    axes[-1].set_xlabel("minutes")
    fig.suptitle(
        f"Strata soak: {summary['write_rate']:.0f} points/s (50% of max {summary['max_rate']:.0f}), "
        f"{summary['queries_per_second']} queries/s, {summary['series']} series\n"
        f"RSS {summary['rss_mb_first']:.0f}→{summary['rss_mb_last']:.0f} MiB (max {summary['rss_mb_max']:.0f}), "
        f"second-half slope {summary['rss_slope_mb_per_hour']:+.0f} MiB/h; "
        f"write p99 median {summary['write_p99_ms_median']:.1f} ms, query p99 median {summary['query_p99_ms_median']:.1f} ms",
        fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def slope_per_hour(points):
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("duration_s", type=int)
    ap.add_argument("--strata", default="target/release/strata")
    ap.add_argument("--out", default="soak-results")
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--max-seconds", type=int, default=10)
    ap.add_argument("--queries-per-second", type=float, default=2)
    ap.add_argument("--sample-every", type=int, default=10)
    ap.add_argument("--server-arg", action="append", default=[],
                    help="one more flag for strata server (repeatable), e.g. --server-arg=--block-range=10m")
    ap.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="strata-soak-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(args.out, "server.log"), "w")
    server = subprocess.Popen(
        [args.strata, "server", "--listen", f"127.0.0.1:{port}", "--grpc-listen", "off", "--data-dir",
         os.path.join(work, "data"), "--log-level", "warn", *args.server_arg], stderr=log)
    try:
        wait_ready(url)
        max_rate = measure_max(args.strata, url, args)
        rate = max_rate / 2
        print(f"max ingest {max_rate:.0f} points/s; soaking at {rate:.0f} for {args.duration_s} s", file=sys.stderr)
        ingest = subprocess.Popen(
            [args.strata, "bench", "ingest", "--target", url, "--protocol", "remote-write", "--writers",
             str(args.writers), "--batch", str(args.batch), "--series", str(args.series), "--duration",
             f"{args.duration_s}s", "--rate", str(rate), "--report-every", f"{args.sample_every}s", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        intervals = []
        reader = threading.Thread(target=lambda: intervals.extend(json.loads(l) for l in ingest.stderr if l.startswith("{")),
                                  daemon=True)
        reader.start()
        queries = QueryLoad(url, args.queries_per_second)
        queries.start()
        samples, started, query_failures, query_count = [], time.time(), 0, 0
        while ingest.poll() is None:
            time.sleep(args.sample_every)
            if ingest.poll() is not None:
                break  # the last interval was reported already
            if server.poll() is not None:
                raise SystemExit(f"the server died (exit {server.returncode}); see {args.out}/server.log")
            taken = queries.take()
            query_count += len(taken)
            query_failures += sum(1 for _, _, ok in taken if not ok)
            write = intervals[-1] if intervals else {}
            samples.append({
                "elapsed_s": round(time.time() - started, 1),
                "rss_mb": (rss_bytes(server.pid) or 0) / 2**20,
                "anon_mb": (rss_bytes(server.pid, "RssAnon:") or 0) / 2**20,
                "write_p99_ms": write.get("p99_ms", 0.0),
                "write_points_per_second": write.get("points_per_second", 0.0),
                "write_errors": write.get("errors", 0),
                "query_p99_ms": p99([ms for _, ms, _ in taken]),
                "queries": len(taken),
                "query_errors": sum(1 for _, _, ok in taken if not ok),
            })
            print(json.dumps(samples[-1]), file=sys.stderr)
        queries.stop.set()
        report = json.loads(ingest.stdout.read() or "{}")
        reader.join(timeout=5)
        half = [s for s in samples if s["elapsed_s"] >= args.duration_s / 2]
        summary = {
            "duration_s": args.duration_s,
            "series": args.series,
            "server_args": args.server_arg,
            "max_rate": max_rate,
            "write_rate": rate,
            "written_points_per_second": report.get("points_per_second"),
            "write_errors": report.get("errors", 0),
            "first_write_error": report.get("first_error"),
            "queries_per_second": args.queries_per_second,
            "queries": query_count,
            "query_errors": query_failures,
            "first_query_error": queries.first_error,
            "rss_mb_first": samples[0]["rss_mb"] if samples else 0,
            "rss_mb_last": samples[-1]["rss_mb"] if samples else 0,
            "rss_mb_max": max((s["rss_mb"] for s in samples), default=0),
            "rss_slope_mb_per_hour": slope_per_hour([(s["elapsed_s"], s["rss_mb"]) for s in half]),
            "anon_mb_max": max((s["anon_mb"] for s in samples), default=0),
            "anon_mb_last": samples[-1]["anon_mb"] if samples else 0,
            "write_p99_ms_median": statistics.median([s["write_p99_ms"] for s in samples]) if samples else 0,
            "write_p99_ms_max": max((s["write_p99_ms"] for s in samples), default=0),
            "query_p99_ms_median": statistics.median([s["query_p99_ms"] for s in samples]) if samples else 0,
            "query_p99_ms_max": max((s["query_p99_ms"] for s in samples), default=0),
        }
        with open(os.path.join(args.out, "samples.csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(samples[0].keys()) if samples else ["elapsed_s"])
            writer.writeheader()
            writer.writerows(samples)
        summary["plot"] = os.path.join(args.out, "soak.png") if plot(samples, os.path.join(args.out, "soak.png"), summary) else None
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
        if args.json:
            print(json.dumps(summary))
        else:
            for k, v in summary.items():
                print(f"{k:28} {v:.1f}" if isinstance(v, float) else f"{k:28} {v}")
        failed = summary["write_errors"] or summary["query_errors"] or not samples
        return 1 if failed else 0
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
