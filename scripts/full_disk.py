#!/usr/bin/env python3
"""A full disk under a running server (issue #28), on a real filesystem that runs out.

A small tmpfs is mounted (root needed), a `strata server` keeps its data dir on it, and a
filler file leaves about a megabyte free. Line-protocol writes then go in until the disk is
full. Checked:

- writes past the full disk are refused (5xx) with a message naming the error
  ("No space left on device"), and none of them is acknowledged;
- the server stays up: /-/healthy answers and queries run while the disk is full;
- when space returns (the filler deleted) writes are accepted again without a restart;
- after kill -9 and a restart, every acknowledged sample is there with its exact value.

Prints one JSON summary and exits 1 on any failure.

usage: full_disk.py [--binary target/release/strata] [--size-mb 24]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from local_server import free_port  # noqa: E402

SERIES = 50
POINTS = 10  # timestamps per series per batch


def value(s, t):
    return ((s * 7919 + t) % 100_003) / 8


class Server:
    def __init__(self, binary, data_dir, log_path):
        self.binary, self.data_dir, self.log_path = binary, data_dir, log_path
        self.port, self.grpc_port = free_port(), free_port()
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            # A free port for OTLP gRPC too: its default (9091) may be taken on this machine.
            [self.binary, "server", f"--listen=127.0.0.1:{self.port}", f"--grpc-listen=127.0.0.1:{self.grpc_port}",
             f"--data-dir={self.data_dir}", "--retention=0"],
            stdout=subprocess.DEVNULL, stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}) while starting; see {self.log_path}")
            if self.get("/-/ready")[0] == 200:
                return
            time.sleep(0.05)
        raise RuntimeError("the server was not ready in 60 s")

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except (urllib.error.URLError, OSError) as e:
            return None, str(e)

    def write(self, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v2/write?bucket=fulldisk&precision=ms", data=body.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, ""
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

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
                self.proc.wait()


class Load:
    """Batches of SERIES × POINTS samples at rising timestamps; remembers what was acknowledged."""

    def __init__(self, server, start_ms):
        self.server, self.t = server, start_ms
        self.acked = {}

    def batch(self):
        lines, samples = [], []
        for k in range(POINTS):
            t = self.t + k
            for s in range(SERIES):
                lines.append(f"fulldisk,s={s} value={value(s, t)!r} {t}")
                samples.append((s, t))
        self.t += POINTS
        status, text = self.server.write("\n".join(lines) + "\n")
        if status is not None and 200 <= status < 300:
            for s, t in samples:
                self.acked[(s, t)] = value(s, t)
        return status, text


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(mount, leave):
    """Writes a filler file leaving about `leave` bytes free; returns its path."""
    path = os.path.join(mount, "filler")
    with open(path, "wb") as f:
        chunk = b"\0" * (1 << 20)
        while free_bytes(mount) > leave + len(chunk):
            f.write(chunk)
            f.flush()
        f.write(b"\0" * max(0, free_bytes(mount) - leave))
        os.fsync(f.fileno())
    return path


def read_back(server, start_ms, end_ms):
    span_s = max(1, (end_ms - start_ms) // 1000 + 2)
    query = urllib.parse.urlencode({"query": f"fulldisk[{span_s}s]", "time": f"{end_ms / 1000 + 1:.3f}"})
    status, text = server.get(f"/api/v1/query?{query}")
    if status != 200:
        raise RuntimeError(f"reading back: {status} {text[:300]}")
    stored = {}
    for series in json.loads(text)["data"]["result"]:
        s = int(series["metric"]["s"])
        for t, v in series["values"]:
            stored[(s, round(float(t) * 1000))] = float(v)
    return stored


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/release/strata")
    parser.add_argument("--size-mb", type=int, default=24)
    args = parser.parse_args()
    mount = tempfile.mkdtemp(prefix="strata-full-disk-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.size_mb}m", "strata-full-disk", mount],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        sys.exit(f"error: cannot mount a tmpfs at {mount} (root needed): {mounted.stderr.strip()}")
    log_path = os.path.join(tempfile.gettempdir(), f"strata-full-disk-{os.getpid()}.log")
    server = Server(args.binary, os.path.join(mount, "data"), log_path)
    problems, figures = [], {}
    try:
        server.start()
        start_ms = int(time.time() * 1000) - 3_600_000
        load = Load(server, start_ms)
        filler = fill(mount, leave=1 << 20)

        # Until the disk is full: ten refusals in a row.
        refusals, messages, batches = 0, [], 0
        while refusals < 10 and batches < 20_000:
            status, text = load.batch()
            batches += 1
            if status is not None and 200 <= status < 300:
                refusals = 0
            else:
                refusals += 1
                messages.append(f"{status} {text.strip()[:200]}")
        figures["acked_before_full"] = len(load.acked)
        figures["first_refusal"] = messages[0] if messages else None
        if refusals < 10:
            problems.append(f"the disk never filled in {batches} batches")
        if not any(m.startswith("5") for m in messages):
            problems.append(f"refusals were not 5xx: {messages[:3]}")
        if not any("No space left on device" in m for m in messages):
            problems.append(f"no refusal named the full disk: {messages[:3]}")

        # The server stays up and answers reads while full.
        if server.get("/-/healthy")[0] != 200:
            problems.append("/-/healthy did not answer 200 while the disk was full")
        q = urllib.parse.urlencode({"query": "count(count_over_time(fulldisk[2h]))", "time": f"{load.t / 1000:.3f}"})
        status, text = server.get(f"/api/v1/query?{q}")
        if status != 200:
            problems.append(f"a query failed while the disk was full: {status} {text[:200]}")

        # Space returns: writes resume without a restart.
        os.remove(filler)
        freed = time.monotonic()
        while True:
            status, text = load.batch()
            if status is not None and 200 <= status < 300:
                break
            if time.monotonic() - freed > 30:
                problems.append(f"writes were still refused 30 s after space returned: {status} {text[:200]}")
                break
            time.sleep(0.1)
        figures["resumed_after_ms"] = round((time.monotonic() - freed) * 1000)
        before = len(load.acked)
        for _ in range(50):
            status, text = load.batch()
            if not (status is not None and 200 <= status < 300):
                problems.append(f"a write after space returned was refused: {status} {text[:200]}")
                break
        figures["acked_after_space_returned"] = len(load.acked) - before

        # kill -9, restart: everything acknowledged is there.
        server.kill()
        server.start()
        stored = read_back(server, start_ms, load.t)
        lost = [k for k, v in load.acked.items() if stored.get(k) != v]
        figures["acked"] = len(load.acked)
        figures["stored"] = len(stored)
        figures["lost_or_wrong"] = len(lost)
        if lost:
            problems.append(f"{len(lost)} acknowledged samples lost or wrong, e.g. {sorted(lost)[:5]}")
    except Exception as e:  # noqa: BLE001 — any failure is the test's failure, reported below
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        server.stop()
        subprocess.run(["umount", mount], capture_output=True)
        os.rmdir(mount)
    print(json.dumps({**figures, "problems": problems, "log": log_path}, indent=2))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
