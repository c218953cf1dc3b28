#!/usr/bin/env python3
"""The cardinality report and explorers at SERIES head series: a release `strata server`
(fsync none) is filled by `strata bench ingest` (remote write, each series once or more),
then each request is timed and the server's RSS sampled every 10 ms while it runs: the
peak growth over the RSS just before is what the request cost the process.

With --peer, a real VictoriaMetrics (Debian's `victoria-metrics`) is then filled with the
same series by the same generator, alone on the machine, and asked the explorer requests it
has (`/api/v1/status/tsdb` with topN, match[] and focusLabel), measured the same way.

  scripts/bench-cardinality-report.py [--series 1000000] [--runs 3] [--budget BYTES] [--peer] [--json]

Needs a release build (cargo build --release). WORK sets the scratch dir."""
import argparse, json, os, subprocess, sys, threading, time, urllib.error, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, 'target', 'release', 'strata')
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'lib'))
from local_server import free_port, fresh_work_dir, rss  # noqa: E402

VM_FOCUS = urllib.parse.urlencode({'topN': 10, 'match[]': '{__name__="bench_value"}', 'focusLabel': 'host'})
# (name, Strata's path, VictoriaMetrics' path for the same question or None)
REQUESTS = [
    ('report (/api/v1/cardinality?topN=10)', '/api/v1/cardinality?topN=10', None),
    ('prometheus status/tsdb limit=10', '/api/v1/status/tsdb?limit=10', '/api/v1/status/tsdb?topN=10'),
    ('victoriametrics topN=10 match[] focusLabel=host', '/api/v1/status/tsdb?' + VM_FOCUS,
     '/api/v1/status/tsdb?' + VM_FOCUS),
    ('mimir label_names', '/api/v1/cardinality/label_names', None),
    ('mimir label_values series', '/api/v1/cardinality/label_values?label_names[]=series&limit=20', None),
    ('every pair (limit=100000000)', '/api/v1/status/tsdb?limit=100000000',
     '/api/v1/status/tsdb?topN=100000000'),
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


def wait_ready(url):
    for _ in range(300):
        try:
            if get(url)[0] in (200, 204):
                return
        except OSError:
            pass
        time.sleep(0.1)


def fill(url, series, count):
    """Writes `series` series by remote write until `count()` sees them (30 min at most)."""
    start = time.time()
    seconds = max(20, series // 150_000)
    filled = 0
    while filled < series and time.time() - start < 1800:
        subprocess.run([STRATA, 'bench', 'ingest', '--target', url, '--protocol', 'remote-write',
                        '--writers', '4', '--duration', f'{seconds}s', '--series', str(series),
                        '--batch', '5000', '--json'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        filled = count()
    return filled, time.time() - start


def measure(url, pid, requests, runs):
    results = []
    for name, path in requests:
        timings = [timed(url + path, pid) for _ in range(runs)]
        statuses = sorted({r[1] for r in timings})
        note = ''
        if statuses != [200]:
            note = json.loads(timings[0][3]).get('error', '')[:90]
        results.append({'request': name, 'status': statuses,
                        'best_seconds': min(r[0] for r in timings),
                        'median_seconds': sorted(r[0] for r in timings)[len(timings) // 2],
                        'peak_rss_growth_bytes': max(r[2] for r in timings), 'refusal': note})
    return results


def run_strata(work, a):
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    args = [STRATA, 'server', '--listen', f'127.0.0.1:{port}', '--data-dir', os.path.join(work, 'data'),
            '--fsync', 'none', '--retention', '0', '--log-level', 'warn']
    if a.budget:
        args += ['--explorer-memory-budget', str(a.budget)]
    server = subprocess.Popen(args, stderr=open(os.path.join(work, 'server.log'), 'w'))
    try:
        wait_ready(url + '/-/ready')
        count = lambda: json.loads(get(url + '/api/v1/status/tsdb?limit=1')[1])['data']['headStats']['numSeries']
        filled, fill_seconds = fill(url, a.series, count)
        results = measure(url, server.pid, [(n, p) for n, p, _ in REQUESTS], a.runs)
        return {'system': 'strata', 'series': filled, 'fill_seconds': fill_seconds,
                'server_rss_bytes': rss(server.pid), 'budget_bytes': a.budget or 256 << 20, 'requests': results}
    finally:
        server.terminate()
        server.wait()


def run_victoriametrics(work, a):
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    server = subprocess.Popen(['victoria-metrics', f'-storageDataPath={os.path.join(work, "vm")}',
                               f'-httpListenAddr=127.0.0.1:{port}', '-retentionPeriod=100y',
                               '-search.latencyOffset=0s', '-loggerLevel=WARN'],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, 'vm.log'), 'w'))
    try:
        wait_ready(url + '/health')
        count = lambda: json.loads(get(url + '/api/v1/series/count')[1])['data'][0]
        filled, fill_seconds = fill(url, a.series, count)
        requests = [(n, vm) for n, _, vm in REQUESTS if vm]
        results = measure(url, server.pid, requests, a.runs)
        return {'system': 'victoriametrics', 'series': filled, 'fill_seconds': fill_seconds,
                'server_rss_bytes': rss(server.pid), 'requests': results}
    finally:
        server.terminate()
        server.wait()


def print_run(run):
    print(f"{run['system']}: {run['series']:,} series (filled in {run['fill_seconds']:.0f} s), "
          f"RSS {run['server_rss_bytes'] / 2**20:,.0f} MiB")
    for r in run['requests']:
        print(f"  {r['request']:48} HTTP {','.join(map(str, r['status']))}  median {r['median_seconds']:7.3f} s"
              f"  RSS +{r['peak_rss_growth_bytes'] / 2**20:7.1f} MiB  {r['refusal']}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--series', type=int, default=1_000_000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--budget', type=int, default=None, help='--explorer-memory-budget (bytes)')
    ap.add_argument('--peer', action='store_true', help='also VictoriaMetrics, alone, same series')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    work = fresh_work_dir(STRATA, '/tmp/bench-cardinality-report')
    runs = [run_strata(work, a)]
    if a.peer:
        runs.append(run_victoriametrics(work, a))
    if a.json:
        print(json.dumps(runs if a.peer else runs[0]))
        return
    for run in runs:
        print_run(run)
    if a.peer:
        vm = {r['request']: r for r in runs[1]['requests']}
        print('Strata / VictoriaMetrics, median time:')
        for r in runs[0]['requests']:
            if r['request'] in vm and vm[r['request']]['status'] == [200] and r['status'] == [200]:
                print(f"  {r['request']:48} {r['median_seconds'] / vm[r['request']]['median_seconds']:.2f}")


if __name__ == '__main__':
    main()
