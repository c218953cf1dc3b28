#!/usr/bin/env python3
"""Series churn: every data hour a new set of series (a deployment's pods) replaces the
last, as in a Kubernetes cluster rolling its pods. Written by line protocol with advancing
timestamps into a server with a 1 h block range, so the head is cut as data time passes.
Prints, per data hour, the series created so far, the head's series, the series removed,
the server's RSS and its anonymous part (the mapped blocks left out), and the head's own
memory figure; then one JSON summary.

A head that keeps every series ever seen grows with the hours; one that removes series a
cut left empty stays at about two hours' worth.

    scripts/bench-series-churn.py [--series 10000] [--hours 12] [--binary target/release/strata] [--check]

`--check` (CI) fails unless the head ends with at most two hours' worth of series, the last
hour's series all answer a query, and the first hour's pods, written again (through the
series cache's refs of removed series), are all there.

Needs a release build (cargo build --release). WORK sets the scratch dir.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))
from local_server import free_port, fresh_work_dir, http, rss, wait_until  # noqa: E402

HOUR_MS = 3_600_000
STEP_MS = 120_000  # a sample every 2 minutes


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + ' '):
            return float(line.split()[1])
    return 0.0


def write_hour(base, hour, series, start_ms):
    """One data hour: `series` pods of this hour, a sample every STEP_MS each."""
    for t in range(start_ms + hour * HOUR_MS, start_ms + (hour + 1) * HOUR_MS, STEP_MS):
        lines = ''.join(f'churn,pod=h{hour}-{i} value={i} {t}\n' for i in range(series))
        status, text = http('POST', f'{base}/write?db=churn&precision=ms', lines.encode(), timeout=60)
        if status != 204:
            sys.exit(f'write of hour {hour} at {t} failed: {status} {text[:300]}')


def count_at(base, expr, at_ms):
    """The value of the PromQL `count(...)` expression at `at_ms`, or the answer as text."""
    query = urllib.parse.urlencode({'query': expr, 'time': f'{at_ms / 1000:.3f}'})
    status, text = http('GET', f'{base}/api/v1/query?{query}')
    result = json.loads(text)['data']['result'] if status == 200 else []
    return int(float(result[0]['value'][1])) if result else f'{status} {text[:200]}'


def check(base, summary, args, end_ms):
    """The head kept at most two hours' worth of series, and the newest hour is all there."""
    problems = []
    if summary['head_series_at_end'] > 2 * args.series:
        problems.append(f"head holds {summary['head_series_at_end']} series, over two hours' worth")
    if args.hours > 3 and summary['series_created'] - summary['head_series_at_end'] < args.series:
        problems.append('no series left the head')
    # At the end of the data (30 days ago), the newest hour's last samples are within lookback.
    newest = count_at(base, f'count(churn{{pod=~"h{args.hours - 1}-.*"}})', end_ms)
    if newest != args.series:
        problems.append(f'the last hour does not count {args.series} series: {newest}')
    # The first hour's pods come back: the server's series cache still holds refs of the
    # removed series, so these writes go through the head's redirect.
    lines = ''.join(f'churn,pod=h0-{i} value={i} {end_ms}\n' for i in range(args.series))
    status, text = http('POST', f'{base}/write?db=churn&precision=ms', lines.encode(), timeout=60)
    if status != 204:
        problems.append(f'writing the first hour\'s pods again: {status} {text[:200]}')
    returned = count_at(base, 'count(churn{pod=~"h0-.*"})', end_ms)
    if returned != args.series:
        problems.append(f'the returning pods do not count {args.series} series: {returned}')
    if problems:
        sys.exit('series churn check failed: ' + '; '.join(problems))
    print('series churn check: ok')


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--series', type=int, default=10_000, help='new series every data hour')
    parser.add_argument('--hours', type=int, default=12, help='data hours written')
    parser.add_argument('--binary', default=os.path.join(here, '..', 'target', 'release', 'strata'))
    parser.add_argument('--check', action='store_true', help='fail unless the head stayed bounded')
    args = parser.parse_args()
    work = fresh_work_dir(args.binary, '/tmp/bench-series-churn')
    port = free_port()
    base = f'http://127.0.0.1:{port}'
    server = subprocess.Popen(
        [args.binary, 'server', '--listen', f'127.0.0.1:{port}', '--data-dir', os.path.join(work, 'data'),
         '--fsync', 'none', '--retention', '0', '--block-range', '1h', '--log-level', 'warn'],
        stderr=open(os.path.join(work, 'server.log'), 'w'))
    try:
        wait_until(lambda: http('GET', f'{base}/-/ready')[0] == 200, 30, 'server ready')
        # Data time starts 30 days ago, aligned to an hour, so it is never in the future.
        start_ms = (int(time.time() * 1000) - 30 * 24 * HOUR_MS) // HOUR_MS * HOUR_MS
        rows = []
        started = time.time()
        for hour in range(args.hours):
            write_hour(base, hour, args.series, start_ms)
            # A cut runs in the background once the head spans 1.5 block ranges.
            time.sleep(1.5)
            _, text = http('GET', f'{base}/metrics')
            row = {
                'hour': hour + 1,
                'series_created': (hour + 1) * args.series,
                'head_series': int(metric(text, 'strata_head_series')),
                'head_series_removed': int(metric(text, 'strata_head_series_removed_total')),
                'rss_mb': round(rss(server.pid) / 2**20, 1),
                'anon_mb': round(rss(server.pid, 'RssAnon') / 2**20, 1),
                'head_memory_mb': round(metric(text, 'strata_head_memory_bytes') / 2**20, 1),
            }
            rows.append(row)
            print('hour {hour:3}  created {series_created:9,}  head {head_series:9,}  '
                  'removed {head_series_removed:9,}  rss {rss_mb:7.1f} MB  anon {anon_mb:7.1f} MB  '
                  'head {head_memory_mb:6.1f} MB'.format(**row), flush=True)
        summary = {
            'series_per_hour': args.series,
            'hours': args.hours,
            'seconds': round(time.time() - started, 1),
            'series_created': rows[-1]['series_created'],
            'head_series_at_end': rows[-1]['head_series'],
            'head_series_max': max(r['head_series'] for r in rows),
            'anon_mb_after_hour_3': rows[min(2, len(rows) - 1)]['anon_mb'],
            'anon_mb_at_end': rows[-1]['anon_mb'],
            'head_memory_mb_after_hour_3': rows[min(2, len(rows) - 1)]['head_memory_mb'],
            'head_memory_mb_at_end': rows[-1]['head_memory_mb'],
        }
        print(json.dumps(summary))
        if args.check:
            check(base, summary, args, start_ms + args.hours * HOUR_MS - STEP_MS)
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == '__main__':
    main()
