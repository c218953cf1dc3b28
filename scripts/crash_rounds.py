#!/usr/bin/env python3
"""Crash rounds through the real server (issue #28).

A `strata server` takes concurrent writes on every ingest path — line protocol over HTTP,
the Prometheus text format, remote write 1.0 (snappy protobuf), OTLP/HTTP (JSON) and line
protocol over TCP — while a small block range, a short rollup interval and synthetic time
running far ahead of the wall clock keep head cuts, compactions, checkpoints, shard changes
and rollup jobs happening. At a random moment it is killed with SIGKILL and started again on
the same data dir, ROUNDS times. In about half the rounds the server is instead started with
one failpoint armed (STRATA_FAILPOINTS, crate strata-failpoint): it aborts itself at exactly
that point between two durable steps (a WAL write and its fsync, a block's fsync and its
rename, a compaction's new block and the deletion of its sources, …), which a random kill
rarely lands on. A server that exits without being killed or armed is a failure. Every write's fate is recorded: acknowledged (2xx),
refused (a definite 4xx for a body that was bad as a whole), or in doubt (the connection
died with the server). At the end everything is read back through /api/v1/query (`metric[<the whole run>]`):

- every acknowledged sample is present with its exact value;
- nothing from a refused request, and nothing never sent, is present;
- in-doubt and TCP samples (line protocol over TCP acknowledges nothing) may be present or
  not, but when present carry their exact value; no timestamp appears twice in a series.

Prints one JSON summary (rounds, samples acknowledged, recovery time p50/p99) and exits 1 on
any loss or corruption.

usage: crash_rounds.py ROUNDS [--binary target/release/strata] [--keep DIR]
"""

import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import cramjam

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import prom_wire  # noqa: E402

SPEEDUP = 300  # synthetic time runs 5 minutes a second: with 10-minute blocks a cut is due every few seconds
STEP_MS = 1_000  # at least this between a writer's batches
SERIES_PER_WRITER = 4
PATHS = ["lp", "text", "rw", "otlp", "tcp"]
FAILPOINT_SHARE = 0.5  # rounds whose server runs with a failpoint armed
ARMED_WAIT_S = 5.0  # how long an armed server is given to reach its point before a plain kill
# Failpoints (crates/failpoint) and the hit to abort on: the WAL's are reached on every
# write, the others a few times per block range (2 s of wall time here).
FAILPOINTS = {
    "wal.after_write": (1, 40),
    "wal.after_sync": (1, 40),
    "checkpoint.before_rename": (1, 2),
    "checkpoint.after_rename": (1, 2),
    "block.before_rename": (1, 3),
    "block.after_rename": (1, 3),
    "head_cut.before_checkpoint": (1, 2),
    "compaction.before_delete": (1, 1),
    "compaction.mid_delete": (1, 1),
    "rollup.before_rename": (1, 3),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def value(path, w, s, t):
    """The exact value a sample must have (a multiple of 1/4: exact in every format)."""
    return float((t // 1000 * 31 + s * 7 + w * 13 + PATHS.index(path)) % 1_000_003) + 0.25


# --- bodies ---------------------------------------------------------------------------


def remote_write_body(samples):
    return bytes(cramjam.snappy.compress_raw(prom_wire.write_request(samples)))


def otlp_body(w, samples):
    points = [
        {
            "asDouble": v,
            "timeUnixNano": str(t * 1_000_000),
            "attributes": [{"key": "w", "value": {"stringValue": str(w)}}, {"key": "s", "value": {"stringValue": str(s)}}],
        }
        for s, t, v in samples
    ]
    return json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "crash_otlp", "gauge": {"dataPoints": points}}]}]}]}).encode()


# --- the server -----------------------------------------------------------------------


class Server:
    def __init__(self, binary, data_dir, log_path):
        self.binary, self.data_dir, self.log_path = binary, data_dir, log_path
        self.port, self.tcp_port, self.grpc_port = free_port(), free_port(), free_port()
        self.proc = None

    def start(self, failpoint=None):
        """Starts the server (with `failpoint`, "name=count", armed) and returns how long it
        took to answer /-/ready (seconds)."""
        started = time.monotonic()
        log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.pop("STRATA_FAILPOINTS", None)
        if failpoint:
            env["STRATA_FAILPOINTS"] = failpoint
        self.proc = subprocess.Popen(
            [
                self.binary, "server",
                f"--listen=127.0.0.1:{self.port}",
                f"--influx-tcp-listen=127.0.0.1:{self.tcp_port}",
                f"--grpc-listen=127.0.0.1:{self.grpc_port}",
                f"--data-dir={self.data_dir}",
                "--retention=0",
                "--block-range=10m",
                "--rollup-interval=2s",
                "--tcp-flush-interval=100ms",
            ],
            stdout=subprocess.DEVNULL, stderr=log, env=env,
        )
        log.close()
        deadline = started + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}) while starting; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"the server was not ready in 120 s; see {self.log_path}")

    def exited_within(self, seconds):
        """Waits up to `seconds` for the server to exit by itself; returns its exit code or None."""
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --- writers --------------------------------------------------------------------------


class Ledger:
    """What each sample's fate was: sample key (path, w, s, t) -> 'acked' | 'doubt' | 'refused'."""

    def __init__(self):
        self.lock = threading.Lock()
        self.fate = {}
        self.refused_batches = 0
        self.acked = 0

    def record(self, keys, fate):
        with self.lock:
            for key in keys:
                self.fate[key] = fate
            if fate == "refused":
                self.refused_batches += 1
            if fate == "acked":
                self.acked += len(keys)


def post(url, body, content_type, extra_headers=None):
    """Returns 'acked', 'refused' (a 4xx that wrote nothing) or 'doubt' (no answer, a 5xx,
    a partial write, or OTLP's 200 with `partialSuccess`: maybe written, in part)."""
    headers = {"Content-Type": content_type, **(extra_headers or {})}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            answer = r.read()
            if not 200 <= r.status < 300:
                return "doubt"
            if content_type == "application/json" and b"rejectedDataPoints" in answer:
                partial = json.loads(answer).get("partialSuccess", {})
                if int(partial.get("rejectedDataPoints", 0) or 0) > 0:
                    return "doubt"
            return "acked"
    except urllib.error.HTTPError as e:
        if not 400 <= e.code < 500:
            return "doubt"
        # A partial write (some lines refused, say out of bounds as a head cut raced the
        # append) is a 400 that wrote the rest: refused only if it wrote nothing.
        answer = e.read().decode(errors="replace")
        if '"samples_written":0' in answer or "0 sample(s) written" in answer or "partial write" not in answer:
            return "refused"
        return "doubt"
    except (urllib.error.URLError, OSError, ConnectionError):
        return "doubt"


class Writer(threading.Thread):
    def __init__(self, path, w, server, ledger, start_ms, stop):
        super().__init__(daemon=True)
        self.path, self.w, self.server, self.ledger, self.stop = path, w, server, ledger, stop
        self.t = start_ms
        self.start_ms, self.started = start_ms, time.monotonic()
        self.batches = 0

    def clock(self):
        return self.start_ms + int((time.monotonic() - self.started) * SPEEDUP * 1000) // 1000 * 1000

    def run(self):
        while not self.stop.is_set():
            # All writers follow one synthetic clock, so none falls behind the head's window.
            self.t = max(self.t + STEP_MS, self.clock())
            batch = [(s, self.t, value(self.path, self.w, s, self.t)) for s in range(SERIES_PER_WRITER)]
            keys = [(self.path, self.w, s, t) for s, t, _ in batch]
            self.batches += 1
            if self.path != "tcp" and self.batches % 40 == 0:
                self.send_refused(batch)
            fate = self.send(batch)
            self.ledger.record(keys, fate)
            if fate == "doubt":
                time.sleep(0.05)  # the server is down; try again soon

    def base(self):
        return f"http://127.0.0.1:{self.server.port}"

    def send(self, batch):
        w = self.w
        if self.path == "lp":
            body = "".join(f"crash_lp,w={w},s={s} value={v} {t}\n" for s, t, v in batch).encode()
            return post(f"{self.base()}/api/v2/write?bucket=crash&precision=ms", body, "text/plain")
        if self.path == "text":
            body = "".join(f'crash_text{{w="{w}",s="{s}"}} {v} {t}\n' for s, t, v in batch).encode()
            return post(f"{self.base()}/api/v1/import/prometheus", body, "text/plain")
        if self.path == "rw":
            samples = [({"__name__": "crash_rw", "w": str(w), "s": str(s)}, t, v) for s, t, v in batch]
            return post(f"{self.base()}/api/v1/write", remote_write_body(samples), "application/x-protobuf",
                        {"Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0"})
        if self.path == "otlp":
            return post(f"{self.base()}/api/v1/otlp/v1/metrics", otlp_body(w, batch), "application/json")
        body = "".join(f"crash_tcp,w={w},s={s} value={v} {t * 1_000_000}\n" for s, t, v in batch).encode()
        try:
            with socket.create_connection(("127.0.0.1", self.server.tcp_port), timeout=5) as sock:
                sock.sendall(body)
        except OSError:
            pass
        return "doubt"  # TCP acknowledges nothing

    def send_refused(self, batch):
        """A body bad as a whole (corrupt compression), holding samples of `crash_refused`:
        it must be refused with a 4xx and none of it may ever be stored."""
        keys = [("refused", self.w * 10 + PATHS.index(self.path), s, t) for s, t, _ in batch]
        lines = "".join(f"crash_refused,w={self.w},s={s} value={v} {t}\n" for s, t, v in batch).encode()
        # Cut short: the gzip stream ends before its trailer.
        body = bytes(cramjam.gzip.compress(lines))[:-12]
        fate = post(f"{self.base()}/api/v2/write?bucket=crash&precision=ms", body, "text/plain", {"Content-Encoding": "gzip"})
        self.ledger.record(keys, "refused" if fate == "refused" else "doubt")


# --- reading back ---------------------------------------------------------------------


def read_back(server, metric, at_ms, span_ms):
    """Every stored sample of `metric` in the `span_ms` before `at_ms` (a range selector
    as long as the run's synthetic time, which runs far ahead of the clock)."""
    query = f"{metric}[{span_ms // 1000 + 60}s]"
    url = f"http://127.0.0.1:{server.port}/api/v1/query?" + urllib.parse.urlencode({"query": query, "time": f"{at_ms / 1000:.3f}"})
    with urllib.request.urlopen(url, timeout=300) as r:
        answer = json.load(r)
    if answer["status"] != "success":
        raise RuntimeError(f"{query}: {answer}")
    out = {}
    for series in answer["data"]["result"]:
        m = series["metric"]
        out[(int(m["w"]), int(m["s"]))] = [(round(float(t) * 1000), float(v)) for t, v in series["values"]]
    return out


def check(server, ledger, start_ms, end_ms):
    problems = []
    stored = {}
    for path in PATHS:
        for (w, s), samples in read_back(server, f"crash_{path}", end_ms, end_ms - start_ms).items():
            times = [t for t, _ in samples]
            if len(times) != len(set(times)):
                problems.append(f"crash_{path} w={w} s={s}: a timestamp stored twice")
            for t, v in samples:
                stored[(path, w, s, t)] = v
    refused_stored = read_back(server, "crash_refused", end_ms, end_ms - start_ms)
    if refused_stored:
        problems.append(f"samples of refused requests stored: {sum(len(v) for v in refused_stored.values())}")
    acked = doubt = lost = refused = 0
    for key, fate in ledger.fate.items():
        path, w, s, t = key
        if path == "refused":
            continue
        if fate == "acked":
            acked += 1
            if key not in stored:
                lost += 1
                if lost <= 10:
                    problems.append(f"acknowledged sample lost: crash_{path}{{w={w},s={s}}} @{t}")
        elif fate == "refused":
            refused += 1
        else:
            doubt += 1
    wrong = unexpected = 0
    for key, v in stored.items():
        path, w, s, t = key
        if key not in ledger.fate:
            unexpected += 1
            if unexpected <= 10:
                problems.append(f"a sample never sent is stored: crash_{path}{{w={w},s={s}}} @{t}")
        elif ledger.fate[key] == "refused":
            problems.append(f"a sample of a refused request is stored: crash_{path}{{w={w},s={s}}} @{t}")
        elif v != value(path, w, s, t):
            wrong += 1
            if wrong <= 10:
                problems.append(f"wrong value: crash_{path}{{w={w},s={s}}} @{t} = {v}, sent {value(path, w, s, t)}")
    return {"acked": acked, "in_doubt": doubt, "refused": refused, "stored": len(stored), "lost": lost, "wrong": wrong, "unexpected": unexpected}, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", type=int)
    parser.add_argument("--binary", default="target/release/strata")
    parser.add_argument("--writers", type=int, default=2, help="writers per ingest path")
    parser.add_argument("--keep", help="keep the data dir and log here")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = args.keep or tempfile.mkdtemp(prefix="strata-crash-")
    os.makedirs(work, exist_ok=True)
    data_dir, log_path = os.path.join(work, "data"), os.path.join(work, "server.log")
    server = Server(args.binary, data_dir, log_path)
    ledger = Ledger()
    start_ms = (int(time.time()) - 10 * 86400) * 1000
    stop = threading.Event()
    recoveries = []
    server.start()
    writers = [Writer(p, w, server, ledger, start_ms, stop) for p in PATHS for w in range(args.writers)]
    for writer in writers:
        writer.start()
    started = time.monotonic()
    armed = None
    fired, unreached, self_exits = {}, {}, []
    try:
        for round_no in range(1, args.rounds + 1):
            code = server.exited_within(ARMED_WAIT_S if armed else rng.uniform(0.2, 1.5))
            name = armed.split("=")[0] if armed else None
            if code is None:
                server.kill()
                if name:
                    unreached[name] = unreached.get(name, 0) + 1
            elif name and code == -signal.SIGABRT:
                fired[name] = fired.get(name, 0) + 1
            else:
                self_exits.append(f"round {round_no}: the server exited by itself (code {code}, failpoint {armed}); see {log_path}")
            armed = None
            if rng.random() < FAILPOINT_SHARE:
                name = rng.choice(sorted(FAILPOINTS))
                armed = f"{name}={rng.randint(*FAILPOINTS[name])}"
            try:
                recoveries.append(server.start(armed))
            except RuntimeError:
                if not armed or server.proc.returncode != -signal.SIGABRT:
                    raise
                # Reached while starting (a cut or checkpoint during recovery): start plain.
                fired[armed.split("=")[0]] = fired.get(armed.split("=")[0], 0) + 1
                armed = None
                recoveries.append(server.start())
            if round_no % 25 == 0:
                print(f"round {round_no}/{args.rounds}: {ledger.acked} samples acknowledged, "
                      f"last recovery {recoveries[-1] * 1000:.0f} ms", file=sys.stderr, flush=True)
        time.sleep(1.0)
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=15)
    # TCP lines still in the listener's batch are flushed before reading back.
    time.sleep(0.5)
    end_ms = max(w.t for w in writers) + STEP_MS
    try:
        if armed:
            # Read back from a plain incarnation: an armed one could abort mid-check.
            name = armed.split("=")[0]
            if server.exited_within(0) is None:
                server.kill()
                unreached[name] = unreached.get(name, 0) + 1
            else:
                fired[name] = fired.get(name, 0) + 1
            server.start()
        figures, problems = check(server, ledger, start_ms, end_ms)
    finally:
        server.stop()
    problems = self_exits + problems
    recoveries_ms = sorted(r * 1000 for r in recoveries)
    summary = {
        "rounds": args.rounds,
        "seed": seed,
        "seconds": round(time.monotonic() - started, 1),
        **figures,
        "refused_batches": ledger.refused_batches,
        "failpoints_reached": dict(sorted(fired.items())),
        "failpoints_not_reached": dict(sorted(unreached.items())),
        "recovery_ms_p50": round(statistics.median(recoveries_ms), 1) if recoveries_ms else None,
        "recovery_ms_p99": round(recoveries_ms[min(len(recoveries_ms) - 1, int(len(recoveries_ms) * 0.99))], 1) if recoveries_ms else None,
        "recovery_ms_max": round(recoveries_ms[-1], 1) if recoveries_ms else None,
        "problems": problems,
    }
    print(json.dumps(summary, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
