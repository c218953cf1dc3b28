#!/usr/bin/env python3
"""Cut series out of a dataset in the Prometheus text form (one sample per line,
`key value timestamp_ms`, e.g. ../shared/datasets/scrape-1s-A.prom.gz) into raw point
files for `strata compress`: little-endian (i64 timestamp_ms, f64 value), 16 bytes a point.

  extract_series.py DATASET --series 'go_goroutines{instance="127.0.0.1:9100",job="node"}' OUT.raw
  extract_series.py DATASET --all OUTDIR      # every series, one file each, plus index.tsv

NaN is written as Prometheus' NaN (0x7ff8000000000001), the bits its parser gives.
"""
import argparse
import gzip
import os
import struct
import sys

PROM_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]


def samples(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            try:
                key, value, ts = line.rstrip("\n").rsplit(" ", 2)
                v = float(value)
                yield key, int(ts), PROM_NAN if v != v else v
            except ValueError as e:
                sys.exit(f"{path}:{lineno}: cannot parse {line.strip()!r}: {e}")


def write_raw(path, points):
    points.sort(key=lambda p: p[0])
    with open(path, "wb") as f:
        f.write(b"".join(struct.pack("<qd", t, v) for t, v in points))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--series", help="the exact series key as written in the dataset")
    group.add_argument("--all", action="store_true", help="write every series into OUT (a directory)")
    ap.add_argument("out")
    args = ap.parse_args()
    if args.series:
        points = [(t, v) for key, t, v in samples(args.dataset) if key == args.series]
        if not points:
            sys.exit(f"no samples of {args.series} in {args.dataset}")
        write_raw(args.out, points)
        print(f"{len(points)} points of {args.series} -> {args.out}")
        return
    series = {}
    for key, t, v in samples(args.dataset):
        series.setdefault(key, []).append((t, v))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "index.tsv"), "w", encoding="utf-8") as index:
        for i, (key, points) in enumerate(sorted(series.items())):
            name = f"{i:05d}.raw"
            write_raw(os.path.join(args.out, name), points)
            index.write(f"{name}\t{len(points)}\t{key}\n")
    print(f"{len(series)} series, {sum(len(p) for p in series.values())} points -> {args.out}")


if __name__ == "__main__":
    main()
