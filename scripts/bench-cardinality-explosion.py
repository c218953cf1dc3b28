#!/usr/bin/env python3
"""A cardinality explosion against a per-metric limit: `checkout_total` gains a `user_id`
label with EXPLOSION values written at full speed (remote write, `strata bench ingest
--metric checkout_total --series-label user_id`), while `series-limits` holds it to LIMIT
series. Beside it, ordinary load (`bench_value`, NORMAL series of its own per run, which
all exist after the run's first round) is measured twice: alone, then during the
explosion. The server's RSS is sampled every 0.5 s throughout.

What it prints: the ordinary load's samples/s alone and during (their ratio), the
explosion's refused samples, the head's series, and RSS at the start of the explosion, at
its end and at its largest. With --no-limit the same run without the limit shows what the
limit saves. Then, as a control, the ordinary load beside the same generator writing
10,000 series that all exist (what ordinary traffic of the same shape costs it), and the
explosion alone once every value has been refused: the server's CPU per sample sent.

  scripts/bench-cardinality-explosion.py [--explosion 1000000] [--limit 10000]
      [--normal 100000] [--seconds 30] [--no-limit] [--binary PATH] [--json]

Needs a release build (cargo build --release). WORK sets the scratch dir. Both loads share
this machine's cores with the server: the ratio includes the CPU the explosion's own
generator takes."""
import argparse, json, os, subprocess, sys, threading, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, 'target', 'release', 'strata')
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'lib'))
from local_server import free_port, fresh_work_dir, rss  # noqa: E402


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def bench(url, metric, label, series, seconds, writers):
    # The load generator is always this checkout's build; --binary picks only the server.
    out = subprocess.run([STRATA, 'bench', 'ingest', '--target', url, '--protocol', 'remote-write',
                          '--writers', str(writers), '--duration', f'{seconds}s', '--series', str(series),
                          '--batch', '1000', '--metric', metric, '--series-label', label, '--json'],
                         capture_output=True, text=True, check=False)
    return json.loads(out.stdout)


def cpu_seconds(pid):
    """The process's user + system CPU time so far."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--explosion', type=int, default=1_000_000)
    ap.add_argument('--limit', type=int, default=10_000)
    ap.add_argument('--normal', type=int, default=100_000)
    ap.add_argument('--seconds', type=int, default=30)
    ap.add_argument('--no-limit', action='store_true')
    ap.add_argument('--binary', default=STRATA, help='the server binary (to compare builds)')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    work = fresh_work_dir(STRATA, '/tmp/bench-cardinality-explosion')
    config = os.path.join(work, 'strata.toml')
    with open(config, 'w') as f:
        if not a.no_limit:
            f.write(f"series-limits = [{{ match = 'checkout_total', max = {a.limit} }}]\n")
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    server = subprocess.Popen([a.binary, 'server', '--config', config, '--listen', f'127.0.0.1:{port}',
                               '--data-dir', os.path.join(work, 'data'), '--fsync', 'none', '--retention', '0',
                               '--log-level', 'warn'], stderr=open(os.path.join(work, 'server.log'), 'w'))
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append((time.time(), rss(server.pid)))
            time.sleep(0.5)

    try:
        for _ in range(300):
            try:
                if get_json(url + '/-/ready') is not None:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        sampler = threading.Thread(target=sample)
        sampler.start()
        # The two measured runs write the same number of their own series (a run's clock
        # starts at now and runs ahead of it, so a second run on the same series would be
        # refused as out of order): each creates its series in its first round, then
        # appends to them.
        alone = bench(url, 'bench_value', 'series', a.normal, a.seconds, 2)

        def beside(metric, label, series, ordinary_label):
            """The ordinary load measured while another load runs at full speed."""
            other = {}
            t = threading.Thread(target=lambda: other.update(bench(url, metric, label, series, a.seconds + 4, 2)))
            t.start()
            time.sleep(2)  # the other load is at full speed (an explosion past its limit) by now
            during = bench(url, 'bench_value', ordinary_label, a.normal, a.seconds, 2)
            t.join()
            return during, other

        started = time.time()
        during, explosion = beside('checkout_total', 'user_id', a.explosion, 'other_series')
        ended = time.time()
        # The control: the same generator at full speed beside it, but on 10,000 series that
        # all exist after its first round. On two shared cores the ordinary load cannot be
        # "unaffected" by any full-speed neighbour; what a limit can promise is that an
        # explosion costs no more than ordinary traffic of the same shape.
        control, _ = beside('steady_total', 'instance', 10_000, 'third_series')
        # The explosion alone, every one of its series already refused once: the server's
        # CPU per refused sample, which the ordinary load's ratio cannot show on a machine
        # whose cores the generators share.
        cpu_before, rss_before = cpu_seconds(server.pid), rss(server.pid)
        alone_explosion = bench(url, 'checkout_total', 'user_id', a.explosion, 10, 2)
        rss_after = rss(server.pid)
        cpu_per_sample = (cpu_seconds(server.pid) - cpu_before) / max(1, alone_explosion['points'] + 1000 * alone_explosion['errors'])
        stop.set()
        sampler.join()
        window = [r for (ts, r) in samples if started <= ts <= ended]
        status = get_json(url + '/api/v1/status/tsdb?limit=3')
        refused = get_json(url + '/api/v1/cardinality?topN=3')['data']['limits']
        result = {
            'limit': None if a.no_limit else a.limit,
            'normal_alone_samples_per_second': alone['points_per_second'],
            'normal_during_samples_per_second': during['points_per_second'],
            'ratio_during_to_alone': during['points_per_second'] / alone['points_per_second'],
            'normal_beside_known_series_samples_per_second': control['points_per_second'],
            'ratio_during_to_beside_known_series': during['points_per_second'] / control['points_per_second'],
            'explosion_samples_acknowledged': explosion.get('points'),
            'explosion_batches_refused': explosion.get('errors'),
            'head_series': status['data']['headStats']['numSeries'],
            'explosion_alone_samples_per_second': alone_explosion['points_per_second'],
            'server_cpu_us_per_explosion_sample': cpu_per_sample * 1e6,
            'rss_explosion_alone_before_bytes': rss_before,
            'rss_explosion_alone_after_bytes': rss_after,
            'rss_start_bytes': window[0] if window else None,
            'rss_end_bytes': window[-1] if window else None,
            'rss_max_bytes': max(window) if window else None,
            'limits': refused,
        }
        if a.json:
            print(json.dumps(result))
        else:
            mib = lambda b: f'{b / 2**20:,.0f} MiB'
            print(f"limit: {result['limit']}; head series after: {result['head_series']:,}")
            print(f"ordinary load alone  {result['normal_alone_samples_per_second']:12,.0f} samples/s")
            print(f"ordinary load during {result['normal_during_samples_per_second']:12,.0f} samples/s"
                  f"  ({result['ratio_during_to_alone']:.2f}x)")
            print(f"ordinary load beside a known-series load {result['normal_beside_known_series_samples_per_second']:12,.0f} samples/s"
                  f"  (explosion / known: {result['ratio_during_to_beside_known_series']:.2f}x)")
            print(f"explosion: {result['explosion_samples_acknowledged']:,} samples written, "
                  f"{result['explosion_batches_refused']:,} batches partly refused")
            print(f"explosion alone: server CPU {result['server_cpu_us_per_explosion_sample']:.2f} µs per sample sent, "
                  f"RSS {mib(rss_before)} -> {mib(rss_after)}")
            print(f"server RSS during the explosion: start {mib(result['rss_start_bytes'])}, "
                  f"end {mib(result['rss_end_bytes'])}, largest {mib(result['rss_max_bytes'])}")
    finally:
        stop.set()
        server.terminate()
        server.wait()


if __name__ == '__main__':
    main()
