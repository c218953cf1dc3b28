#!/usr/bin/env python3
"""A network partition, not a dead process: three cluster nodes as hosts of their own (network
namespaces `sn0..sn2`, each with a veth on a bridge `sbr0`; etcd on the bridge's address in
the root namespace), replication factor 2, a 2 s lease. Node n2's link is cut: it is alive
but reaches neither etcd nor its peers. While it is cut off, writes through n2 (sent from
inside its own namespace) must never be acknowledged — a minority side acknowledging is
split brain — and writes through n0 must be acknowledged again once n2's lease has run out.
Then the link comes back: n2 registers again, and every acknowledged sample is read back
through every node, with its value, once.

usage: cluster_partition.py [--binary target/release/strata] [--cut-seconds 8]

Needs root (ip netns, veth, a bridge) and etcd. Prints one JSON report; exits 1 on a
problem. Cleans up its namespaces and links, also after a failure.
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

BRIDGE, HOST_IP, NET = "sbr0", "10.77.0.1", "10.77.0"
NODES = 3
PORT = 9090


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def node_ip(i):
    return f"{NET}.{10 + i}"


def setup_network():
    teardown_network()
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{HOST_IP}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for i in range(NODES):
        ns, outside = f"sn{i}", f"sv{i}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", outside, "master", BRIDGE)
        sh("ip", "link", "set", outside, "up")
        sh("ip", "-n", ns, "addr", "add", f"{node_ip(i)}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def teardown_network():
    for i in range(NODES):
        sh("ip", "netns", "del", f"sn{i}", check=False)
        sh("ip", "link", "del", f"sv{i}", check=False)
    sh("ip", "link", "del", BRIDGE, check=False)


def http_in(ns, url, body):
    """POST from inside namespace `ns` (the harness cannot reach a cut-off node)."""
    out = subprocess.run(["ip", "netns", "exec", ns, "curl", "-s", "-m", "20", "-o", "/dev/null",
                          "-w", "%{http_code}", "--data-binary", "@-", url],
                         input=body, capture_output=True)
    code = out.stdout.decode().strip()
    return int(code) if code.isdigit() and code != "000" else None


class Writer:
    """Batches of 20 series × 1 sample at rising timestamps; remembers what was acked."""

    def __init__(self):
        self.t = int(time.time() * 1000) - 1_800_000
        self.acked, self.doubt = {}, {}
        self.value = 0.0

    def body(self):
        self.t += 1000
        samples = []
        for s in range(20):
            self.value += 1.25
            samples.append(((s, self.t), self.value))
        text = "".join(f'part{{s="{s}"}} {v!r} {t}\n' for (s, t), v in samples)
        return text.encode(), samples

    def record(self, status, samples):
        ok = status is not None and 200 <= status < 300
        (self.acked if ok else self.doubt).update(samples)
        return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/strata")
    parser.add_argument("--cut-seconds", type=float, default=8.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    if shutil.which("etcd") is None:
        sys.exit("etcd is missing (apt-get install etcd-server)")
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="strata-partition-")
    procs, problems, report = [], [], {}
    try:
        setup_network()
        etcd_url = f"http://{HOST_IP}:23790"
        peer = f"http://{HOST_IP}:23800"
        procs.append(subprocess.Popen(
            ["etcd", "--data-dir", f"{work}/etcd", "--name", "p", "--listen-client-urls", etcd_url,
             "--advertise-client-urls", etcd_url, "--listen-peer-urls", peer,
             "--initial-advertise-peer-urls", peer, "--initial-cluster", f"p={peer}"],
            stdout=subprocess.DEVNULL, stderr=open(f"{work}/etcd.log", "w")))
        wait_until(lambda: http("GET", f"{etcd_url}/health")[0] == 200, 30, "etcd healthy")
        for i in range(NODES):
            procs.append(subprocess.Popen(
                ["ip", "netns", "exec", f"sn{i}", binary, "server", f"--listen={node_ip(i)}:{PORT}",
                 f"--data-dir={work}/n{i}", "--grpc-listen=off", "--rollups=off", f"--cluster-etcd={etcd_url}",
                 f"--node-id=n{i}", "--replication-factor=2", "--cluster-lease-ttl=2s",
                 "--cluster-request-timeout=2s"],
                stdout=subprocess.DEVNULL, stderr=open(f"{work}/n{i}.log", "w")))
        url = lambda i: f"http://{node_ip(i)}:{PORT}"
        for i in range(NODES):
            wait_until(lambda: http("GET", url(i) + "/-/ready", timeout=1)[0] == 200, 60, f"n{i} ready")

        def members_active():
            status, text = http("GET", url(0) + "/api/v1/status/cluster", timeout=2)
            return status == 200 and all(m["state"] == "active" for m in json.loads(text)["data"]["members"]) \
                and len(json.loads(text)["data"]["members"]) == NODES
        wait_until(members_active, 15, "every member active")

        writer = Writer()
        for _ in range(10):
            body, samples = writer.body()
            if not writer.record(http("POST", url(0) + "/api/v1/import/prometheus", body)[0], samples):
                problems.append("a write with every node up was refused")
        # Cut n2 off: its link to the bridge goes down.
        sh("ip", "link", "set", "sv2", "down")
        cut_at = time.time()
        minority_acks, majority = 0, {"acked": 0, "refused": 0, "first_ack_after_s": None}
        while time.time() - cut_at < args.cut_seconds:
            body, samples = writer.body()
            if writer.record(http_in("sn2", url(2) + "/api/v1/import/prometheus", body), samples):
                minority_acks += 1
            body, samples = writer.body()
            if writer.record(http("POST", url(0) + "/api/v1/import/prometheus", body)[0], samples):
                majority["acked"] += 1
                if majority["first_ack_after_s"] is None:
                    majority["first_ack_after_s"] = round(time.time() - cut_at, 2)
            else:
                majority["refused"] += 1
        if minority_acks:
            problems.append(f"split brain: {minority_acks} writes through the cut-off n2 were acknowledged")
        if majority["acked"] == 0:
            problems.append("the majority side never acknowledged a write while n2 was cut off")
        status, text = http("GET", url(0) + "/api/v1/status/cluster")
        n2_state = next(m["state"] for m in json.loads(text)["data"]["members"] if m["id"] == "n2")
        if n2_state != "failed":
            problems.append(f"n2 was not seen failed by n0 during the cut: {n2_state}")
        # Heal.
        sh("ip", "link", "set", "sv2", "up")
        healed_after = wait_until(members_active, 30, "n2 active again after the heal")
        for _ in range(5):
            body, samples = writer.body()
            writer.record(http("POST", url(2) + "/api/v1/import/prometheus", body)[0], samples)
        end_s = writer.t / 1000 + 1
        for i in range(NODES):
            query = urllib.parse.urlencode({"query": "part[1h]", "time": f"{end_s:.3f}"})
            status, text = http("GET", url(i) + "/api/v1/query?" + query)
            if status != 200:
                problems.append(f"query through n{i}: {status} {text[:200]}")
                continue
            read = {}
            for row in json.loads(text)["data"]["result"]:
                s = int(row["metric"]["s"])
                for ts, v in row["values"]:
                    read[(s, round(float(ts) * 1000))] = float(v)
            lost = [k for k, v in writer.acked.items() if read.get(k) != v]
            unexpected = [k for k in read if k not in writer.acked and k not in writer.doubt]
            if lost:
                problems.append(f"n{i}: {len(lost)} acknowledged samples lost, e.g. {lost[:3]}")
            if unexpected:
                problems.append(f"n{i}: {len(unexpected)} samples never sent")
        report = {
            "acked_samples": len(writer.acked),
            "in_doubt_samples": len(writer.doubt),
            "cut_seconds": args.cut_seconds,
            "minority_acks": minority_acks,
            "majority": majority,
            "n2_seen_as": n2_state,
            "rejoined_after_heal_s": round(healed_after, 2),
        }
    except Exception as e:
        problems.append(f"harness: {e}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        # `ip netns exec` may leave the server running when killed: end what runs in the namespaces.
        for i in range(NODES):
            pids = sh("ip", "netns", "pids", f"sn{i}", check=False).stdout.split()
            for pid in pids:
                sh("kill", "-9", pid, check=False)
        teardown_network()
    report["problems"] = problems
    report["dir"] = work
    print(json.dumps(report, indent=2))
    if not problems:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
