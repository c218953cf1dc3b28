#!/usr/bin/env python3
"""Randomized schedules against a real cluster: a real etcd and `strata server` nodes on
127.0.0.1 (replication factor 2, a 2 s lease, re-replication 1 s after a ring change),
driven through writes, SIGKILLs, restarts, joins, drains and losses (a node killed and
removed from the ring for good, once re-replication has restored every series' copies, so
its share must survive on the others) in an order drawn from a seeded generator. A checker
records what each write got: a 2xx is acknowledged (every sample must be read back with its exact value);
anything else is in doubt (its samples may or may not be there). At the end every killed
node is restarted and every acknowledged sample is read back through every node, nothing
read twice, nothing read that was never sent — after re-replication has finished.

usage: cluster_schedules.py SCHEDULES [--seed N] [--steps N] [--binary target/release/strata]

Prints one JSON line per schedule and a summary; exits 1 on any loss. A failing schedule
prints its seed: `--seed S --schedules 1` replays it (the kills' timing is real time, so a
replay takes the same steps, not necessarily the same interleaving).
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from local_server import free_port, http, wait_until  # noqa: E402

SERIES = 20
SAMPLES = 3  # per series per write


class Cluster:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.etcd_port, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{self.etcd_port}"
        log = open(os.path.join(work, "etcd.log"), "w")
        peer_url = f"http://127.0.0.1:{peer}"
        self.etcd = subprocess.Popen(
            ["etcd", "--data-dir", os.path.join(work, "etcd"), "--name", "s",
             "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
             "--initial-cluster", f"s={peer_url}"],
            stdout=subprocess.DEVNULL, stderr=log)
        wait_until(lambda: http("GET", f"{self.etcd_url}/health")[0] == 200, 30, "etcd healthy")
        self.nodes = {}  # id -> {"port", "proc" or None}

    def start(self, node_id):
        node = self.nodes.setdefault(node_id, {"port": free_port(), "proc": None, "lost": False})
        log = open(os.path.join(self.work, f"{node_id}.log"), "a")
        node["proc"] = subprocess.Popen(
            [self.binary, "server", f"--listen=127.0.0.1:{node['port']}",
             f"--data-dir={os.path.join(self.work, node_id)}", "--grpc-listen=off", "--rollups=off",
             f"--cluster-etcd={self.etcd_url}", f"--node-id={node_id}", "--replication-factor=2",
             "--cluster-lease-ttl=2s", "--cluster-repair-delay=1s"],
            stdout=subprocess.DEVNULL, stderr=log)
        wait_until(lambda: http("GET", self.url(node_id) + "/-/ready", timeout=1)[0] == 200, 60, f"{node_id} ready")

    def kill(self, node_id):
        proc = self.nodes[node_id]["proc"]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.nodes[node_id]["proc"] = None

    def url(self, node_id):
        return f"http://127.0.0.1:{self.nodes[node_id]['port']}"

    def live(self):
        return sorted(n for n, v in self.nodes.items() if v["proc"] is not None)

    def killed(self):
        return sorted(n for n, v in self.nodes.items() if v["proc"] is None and not v["lost"])

    def repaired(self, timeout=90):
        """Waits until every member's re-replication is idle; returns the failure, if any.
        First a pause, so that every node has seen the last ring change (it looks four
        times a second) and owes its pass."""
        time.sleep(1.5)
        done = subprocess.run([self.binary, "cluster", "repair", "--wait", "--timeout", str(timeout),
                               "--etcd", self.etcd_url], capture_output=True, text=True)
        return None if done.returncode == 0 else (done.stderr or done.stdout).strip()[-300:]

    def lose(self, node_id):
        """Kills a node and removes it from the ring: its data is gone for good."""
        self.kill(node_id)
        self.nodes[node_id]["lost"] = True
        return subprocess.run([self.binary, "cluster", "remove", node_id, "--etcd", self.etcd_url],
                              capture_output=True).returncode

    def stop(self):
        for node in self.nodes.values():
            if node["proc"] is not None:
                node["proc"].kill()
                node["proc"].wait()
        self.etcd.kill()
        self.etcd.wait()


def run_schedule(binary, seed, steps):
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="strata-schedule-")
    cluster = Cluster(binary, work)
    acked, doubt = {}, {}
    t = int(time.time() * 1000) - 3_600_000
    log, problems = [], []
    drained = set()
    try:
        for i in range(3):
            cluster.start(f"n{i}")
        for step in range(steps):
            live = cluster.live()
            choice = rng.choices(["write", "kill", "restart", "join", "drain", "wait", "lose"],
                                 [6, 2, 2, 1, 1, 1, 1])[0]
            if choice == "lose" and not cluster.killed() and len(live) >= 3:
                # Only with every copy restored: then a loss takes at most one copy of each.
                unfinished = cluster.repaired()
                if unfinished:
                    problems.append(f"re-replication before a loss did not finish: {unfinished}")
                victim = rng.choice(live)
                code = cluster.lose(victim)
                log.append(f"lose {victim} ({'removed' if code == 0 else 'remove failed'})")
            elif choice == "kill" and len(live) > 2:
                victim = rng.choice(live)
                cluster.kill(victim)
                log.append(f"kill {victim}")
            elif choice == "restart" and cluster.killed():
                node = rng.choice(cluster.killed())
                cluster.start(node)
                log.append(f"restart {node}")
            elif choice == "join" and len(cluster.nodes) < 5:
                node = f"n{len(cluster.nodes)}"
                cluster.start(node)
                log.append(f"join {node}")
            elif choice == "drain" and len([n for n in live if n not in drained]) > 3:
                node = rng.choice([n for n in live if n not in drained])
                code = subprocess.run([binary, "cluster", "drain", node, "--etcd", cluster.etcd_url],
                                      capture_output=True).returncode
                drained.add(node)
                log.append(f"drain {node} ({'ok' if code == 0 else 'failed'})")
            elif choice == "wait":
                pause = rng.uniform(0.5, 3.0)
                time.sleep(pause)
                log.append(f"wait {pause:.1f}s")
            else:
                through = rng.choice(live)
                lines, samples = [], []
                for k in range(SAMPLES):
                    t += 1000
                    for s in range(SERIES):
                        v = rng.randint(0, 1_000_000) / 8
                        lines.append(f'sched{{s="{s}"}} {v!r} {t}')
                        samples.append(((s, t), v))
                status, text = http("POST", cluster.url(through) + "/api/v1/import/prometheus",
                                    ("\n".join(lines) + "\n").encode())
                target = acked if status is not None and 200 <= status < 300 else doubt
                target.update(samples)
                log.append(f"write via {through}: {status}")
        for node in cluster.killed():
            cluster.start(node)
        # Every member back and seen active by every node.
        def all_active():
            for node in cluster.live():
                status, text = http("GET", cluster.url(node) + "/api/v1/status/cluster", timeout=2)
                if status != 200:
                    return False
                members = json.loads(text)["data"]["members"]
                if any(m["state"] == "failed" for m in members):
                    return False
            return True
        wait_until(all_active, 20, "every member active")
        unfinished = cluster.repaired()
        if unfinished:
            problems.append(f"re-replication at the end did not finish: {unfinished}")
        end_s = t / 1000 + 1
        for node in cluster.live():
            query = urllib.parse.urlencode({"query": "sched[2h]", "time": f"{end_s:.3f}"})
            status, text = http("GET", cluster.url(node) + "/api/v1/query?" + query)
            if status != 200:
                problems.append(f"query through {node}: {status} {text[:200]}")
                continue
            read = {}
            for row in json.loads(text)["data"]["result"]:
                s = int(row["metric"]["s"])
                for ts, v in row["values"]:
                    key = (s, round(float(ts) * 1000))
                    if key in read:
                        problems.append(f"{node}: {key} read twice")
                    read[key] = float(v)
            lost = [k for k, v in acked.items() if read.get(k) != v]
            unexpected = [k for k in read if k not in acked and k not in doubt]
            if lost:
                problems.append(f"{node}: {len(lost)} acknowledged samples lost or wrong, e.g. {lost[:3]}")
            if unexpected:
                problems.append(f"{node}: {len(unexpected)} samples never sent, e.g. {unexpected[:3]}")
    except Exception as e:  # a harness failure is a failed schedule, with its seed
        problems.append(f"harness: {e}")
    finally:
        cluster.stop()
        if problems:
            print(f"schedule {seed} kept at {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return {"seed": seed, "steps": log, "acked": len(acked), "in_doubt": len(doubt), "problems": problems}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("schedules", type=int)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--binary", default="target/release/strata")
    args = parser.parse_args()
    if shutil.which("etcd") is None:
        sys.exit("etcd is missing (apt-get install etcd-server)")
    base = args.seed if args.seed is not None else random.randrange(1, 1 << 30)
    started = time.time()
    results = []
    for i in range(args.schedules):
        result = run_schedule(args.binary, base + i, args.steps)
        results.append(result)
        print(json.dumps(result), flush=True)
    failed = [r["seed"] for r in results if r["problems"]]
    summary = {
        "schedules": len(results),
        "first_seed": base,
        "acked": sum(r["acked"] for r in results),
        "in_doubt": sum(r["in_doubt"] for r in results),
        "kills": sum(sum(s.startswith("kill") for s in r["steps"]) for r in results),
        "restarts": sum(sum(s.startswith("restart") for s in r["steps"]) for r in results),
        "joins": sum(sum(s.startswith("join") for s in r["steps"]) for r in results),
        "drains": sum(sum(s.startswith("drain") for s in r["steps"]) for r in results),
        "losses": sum(sum(s.startswith("lose") for s in r["steps"]) for r in results),
        "seconds": round(time.time() - started, 1),
        "failed_seeds": failed,
    }
    print(json.dumps(summary))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
