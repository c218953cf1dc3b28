#!/usr/bin/env python3
"""Times the dashboard bench's queries (crates/promql/benches/dashboard.rs) against a
Prometheus-API server holding the same block: median of --runs after one warm-up, in ms,
and the samples per second that figure means given the samples each query reads.
  bench-promql-peer.py --url http://127.0.0.1:PORT [--runs 10] [--json]"""
import argparse, json, statistics, time, urllib.parse, urllib.request

# Same queries and range as the criterion bench: 1 h at 15 s from 600 s.
QUERIES = [
    ('rate-1k-series', 'rate(http_requests_total[5m])'),
    ('sum-by-job-of-rate', 'sum by (job) (rate(http_requests_total[5m]))'),
    ('topk-5-of-rate', 'topk(5, rate(http_requests_total[5m]))'),
    ('histogram-quantile-100x100', 'histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m]))'),
    ('histogram-quantile-sum-by-le', 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))'),
    ('subquery-max-of-rate', 'max_over_time(rate(http_requests_total[1m])[10m:1m])'),
]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    out = []
    for name, q in QUERIES:
        p = {'query': q, 'start': '600', 'end': '4200', 'step': '15s'}
        url = a.url + '/api/v1/query_range?' + urllib.parse.urlencode(p)
        times = []
        for i in range(a.runs + 1):
            t0 = time.perf_counter()
            body = json.loads(urllib.request.urlopen(url, timeout=300).read())
            if body.get('status') != 'success':
                raise SystemExit(f'{name}: {body}')
            if i:
                times.append((time.perf_counter() - t0) * 1000)
        series = len(body['data']['result'])
        out.append({'name': name, 'median_ms': statistics.median(times), 'min_ms': min(times), 'series': series})
    if a.json:
        print(json.dumps(out))
    else:
        for r in out:
            print(f"{r['name']:32} {r['median_ms']:9.2f} ms (min {r['min_ms']:.2f}) {r['series']} series")

if __name__ == '__main__':
    main()
