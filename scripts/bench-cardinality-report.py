#!/usr/bin/env python3
"""The cardinality report and explorers at SERIES head series: a release `strata server`
(fsync none) is filled by `strata bench ingest` (remote write, each series once or more),
then each request is timed and the server's RSS sampled every 10 ms while it runs: the
peak growth over the RSS just before is what the request cost the process.

  scripts/bench-cardinality-report.py [--series 1000000] [--runs 3] [--budget BYTES] [--json]

Needs a release build (cargo build --release). WORK sets the scratch dir."""
import argparse, json, os, subprocess, sys, threading, time, urllib.error, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, 'target', 'release', 'strata')
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'lib'))
from local_server import free_port, fresh_work_dir, rss  # noqa: E402

REQUESTS = [
    ('report (/api/v1/cardinality?topN=10)', '/api/v1/cardinality?topN=10'),
    ('prometheus status/tsdb limit=10', '/api/v1/status/tsdb?limit=10'),
    ('victoriametrics topN=10 match[] focusLabel=host',
     '/api/v1/status/tsdb?' + urllib.parse.urlencode({'topN': 10, 'match[]': '{__name__="bench_value"}', 'focusLabel': 'host'})),
    ('mimir label_names', '/api/v1/cardinality/label_names'),
    ('mimir label_values series', '/api/v1/cardinality/label_values?label_names[]=series&limit=20'),
    ('every pair (limit=100000000)', '/api/v1/status/tsdb?limit=100000000'),
]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=600) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def timed(url, pid):
    """(seconds, status, peak RSS growth in bytes, body) of one request."""
    base = rss(pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss(pid))
            time.sleep(0.01)

    t = threading.Thread(target=sample)
    t.start()
    t0 = time.perf_counter()
    status, body = get(url)
    seconds = time.perf_counter() - t0
    done.set()
    t.join()
    peak[0] = max(peak[0], rss(pid))
    return seconds, status, peak[0] - base, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--series', type=int, default=1_000_000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--budget', type=int, default=None, help='--explorer-memory-budget (bytes)')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    work = fresh_work_dir(STRATA, '/tmp/bench-cardinality-report')
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    args = [STRATA, 'server', '--listen', f'127.0.0.1:{port}', '--data-dir', os.path.join(work, 'data'),
            '--fsync', 'none', '--retention', '0', '--log-level', 'warn']
    if a.budget:
        args += ['--explorer-memory-budget', str(a.budget)]
    server = subprocess.Popen(args, stderr=open(os.path.join(work, 'server.log'), 'w'))
    try:
        for _ in range(300):
            try:
                if get(url + '/-/ready')[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        fill_start = time.time()
        seconds = max(20, a.series // 150_000)
        filled = 0
        while filled < a.series and time.time() - fill_start < 1800:
            subprocess.run([STRATA, 'bench', 'ingest', '--target', url, '--protocol', 'remote-write',
                            '--writers', '4', '--duration', f'{seconds}s', '--series', str(a.series),
                            '--batch', '5000', '--json'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
            status = json.loads(get(url + '/api/v1/status/tsdb?limit=1')[1])
            filled = status['data']['headStats']['numSeries']
        fill_seconds = time.time() - fill_start
        results = []
        for name, path in REQUESTS:
            runs = [timed(url + path, server.pid) for _ in range(a.runs)]
            statuses = sorted({r[1] for r in runs})
            best = min(runs, key=lambda r: r[0])
            note = ''
            if statuses != [200]:
                note = json.loads(runs[0][3]).get('error', '')[:90]
            results.append({'request': name, 'status': statuses, 'best_seconds': best[0],
                            'median_seconds': sorted(r[0] for r in runs)[len(runs) // 2],
                            'peak_rss_growth_bytes': max(r[2] for r in runs), 'refusal': note})
        summary = {'series': filled, 'fill_seconds': fill_seconds, 'server_rss_bytes': rss(server.pid),
                   'budget_bytes': a.budget or 256 << 20, 'requests': results}
        if a.json:
            print(json.dumps(summary))
        else:
            print(f"{filled:,} head series (filled in {fill_seconds:.0f} s), server RSS "
                  f"{summary['server_rss_bytes'] / 2**20:,.0f} MiB, explorer budget {summary['budget_bytes'] / 2**20:,.0f} MiB")
            for r in results:
                print(f"  {r['request']:48} HTTP {','.join(map(str, r['status']))}  median {r['median_seconds']:7.3f} s"
                      f"  RSS +{r['peak_rss_growth_bytes'] / 2**20:7.1f} MiB  {r['refusal']}")
    finally:
        server.terminate()
        server.wait()


if __name__ == '__main__':
    main()
