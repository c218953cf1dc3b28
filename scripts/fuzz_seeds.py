#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (scripts/fuzz-all.sh), from real data: the datasets'
first lines, remote-write and OTLP bodies built from them, the PromQL and InfluxQL
conformance queries, Prometheus' rule-file fixtures, a real Prometheus block, and a WAL
segment written by `strata wal demo` (when target/release/strata exists).

usage: fuzz_seeds.py SHARED_DIR CORPUS_DIR
"""
import gzip
import itertools
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import prom_wire  # noqa: E402


def put(corpus: Path, target: str, name: str, data: bytes) -> None:
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data)


def first_lines(path: Path, n: int) -> list[bytes]:
    with gzip.open(path, "rb") as f:
        return [line for line in itertools.islice(f, n)]


def parse_prom_line(line: bytes):
    text = line.decode().strip()
    series, value, ts = text.rsplit(" ", 2)
    name, _, rest = series.partition("{")
    labels = {"__name__": name}
    for pair in rest.rstrip("}").split('",'):
        if "=" in pair:
            k, v = pair.split("=", 1)
            labels[k.strip(",")] = v.strip('"')
    return labels, int(ts), float(value)


def main() -> None:
    shared, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    datasets = shared / "datasets"
    prom = first_lines(datasets / "scrape-1s-A.prom.gz", 400)
    lp = first_lines(datasets / "scrape-1s-A.lp.gz", 400)
    for i in range(0, 400, 20):
        put(corpus, "text_formats", f"prom-{i}", b"".join(prom[i : i + 20]))
        put(corpus, "text_formats", f"lp-{i}", b"".join(lp[i : i + 20]))
        put(corpus, "write_bodies", f"lp-{i}", b"\x00" + b"".join(lp[i : i + 20]))
        put(corpus, "write_bodies", f"prom-{i}", b"\x01" + b"".join(prom[i : i + 20]))
        put(corpus, "write_bodies", f"rw1-{i}", b"\x02" + prom_wire.write_request([parse_prom_line(l) for l in prom[i : i + 20]]))
    otlp = {"resourceMetrics": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
            "scopeMetrics": [{"metrics": [{"name": "requests", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
            "dataPoints": [{"asInt": "3", "timeUnixNano": "1700000000000000000"}]}}]}]}]}
    put(corpus, "write_bodies", "otlp-json", b"\x05" + json.dumps(otlp).encode())

    queries = set()
    for test in (shared / "conformance" / "promql").glob("*.test"):
        for line in test.read_text().splitlines():
            parts = line.split(" ", 4)
            if line.startswith("eval ") and len(parts) == 5 and parts[2] == "at":
                queries.add(parts[4])
    for i, q in enumerate(sorted(queries)[:800]):
        put(corpus, "promql_eval", str(i), q.encode())
    for i, q in enumerate(sorted(queries)):
        put(corpus, "promql_parse", str(i), q.encode())

    influxql = json.loads((shared / "conformance" / "influxql" / "cases.json").read_text())
    commands = sorted({s["command"] for g in influxql["groups"] for s in g.get("steps", []) if s.get("op") == "query" and s.get("command")})
    for i, command in enumerate(commands[:800]):
        put(corpus, "influxql_parse", str(i), command.encode())

    rules = shared / "conformance" / "rules"
    for i, path in enumerate(sorted(itertools.chain(rules.rglob("*.yaml"), rules.rglob("*.yml")))):
        put(corpus, "rules_parse", str(i), path.read_bytes())

    block = shared / "conformance" / "tsdb-fixtures" / "index_format_v1"
    framed = b""
    for name in ["meta.json", "index", "chunks/000001"]:
        data = (block / name).read_bytes()
        framed += struct.pack("<I", len(data)) + data
    put(corpus, "block_read", "index_format_v1", framed + (block / "tombstones").read_bytes())

    strata = Path("target/release/strata")
    if strata.exists():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([str(strata), "wal", "demo", "--dir", tmp, "--points", "2000", "--writers", "1", "--batch", "100"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for segment in sorted((Path(tmp) / "wal").glob("0*")):
                data = segment.read_bytes()
                put(corpus, "wal_read", segment.name, data[:65536])
                put(corpus, "wal_read", segment.name + "-page2", data[32768:98304])
    else:
        print("no target/release/strata: the WAL corpus starts empty", file=sys.stderr)
    print(f"seeds written under {corpus}: " + ", ".join(f"{d.name} {len(os.listdir(d))}" for d in sorted(corpus.iterdir())), file=sys.stderr)


if __name__ == "__main__":
    main()
