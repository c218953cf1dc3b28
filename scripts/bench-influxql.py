#!/usr/bin/env python3
"""Ten Grafana-style InfluxQL queries against a real InfluxDB 1.6 and Strata holding the same
data (scrape-1s-A in database `bench`): each query once to warm up, then RUNS timed runs
per server, taking turns, each server over one keep-alive connection (as Grafana keeps
one); the median per server, the ratio Strata/InfluxDB, and whether the answers are
equal (parsed JSON, and byte for byte). One JSON object per query on stdout.

  bench-influxql.py --influx http://127.0.0.1:P --strata http://127.0.0.1:Q \
                    --start-ms S --end-ms E [--runs 10] [--dump DIR]
"""
import argparse, http.client, json, statistics, time, urllib.parse


def queries(start_ms, end_ms):
    # Grafana's "last 15 minutes" of the data, as its $timeFilter expands.
    t = f"time >= {end_ms - 15 * 60 * 1000}ms and time <= {end_ms}ms"
    return [
        ("show_tag_values_cpu", 'SHOW TAG VALUES FROM "node_cpu_seconds_total" WITH KEY = "cpu"'),
        ("show_tag_values_job", 'SHOW TAG VALUES WITH KEY = "job"'),
        ("mean_by_10s_instance", f'SELECT mean("value") FROM "go_memstats_alloc_bytes" WHERE {t} '
                                 'GROUP BY time(10s), "instance" fill(null)'),
        ("mean_idle_by_10s_cpu", f'SELECT mean("value") FROM "node_cpu_seconds_total" WHERE "mode" = \'idle\' '
                                 f'AND {t} GROUP BY time(10s), "cpu" fill(null)'),
        ("max_by_job", f'SELECT max("value") FROM "process_resident_memory_bytes" WHERE {t} GROUP BY "job"'),
        ("p95_by_instance", f'SELECT percentile("value", 95) FROM "go_gc_duration_seconds" WHERE {t} '
                            'GROUP BY "instance"'),
        ("rate_by_device", f'SELECT non_negative_derivative(max("value"), 1s) FROM "node_network_receive_bytes_total" '
                           f'WHERE {t} GROUP BY time(30s), "device" fill(null)'),
        ("derivative_by_job", f'SELECT derivative(mean("value"), 1s) FROM "process_cpu_seconds_total" WHERE {t} '
                              'GROUP BY time(1m), "job" fill(null)'),
        ("last_by_job_instance", f'SELECT last("value") FROM "up" WHERE {t} GROUP BY "job", "instance"'),
        ("count_by_1m", f'SELECT count("value") FROM "prometheus_http_requests_total" WHERE {t} '
                        'GROUP BY time(1m) fill(0)'),
    ]


class Client:
    """One keep-alive connection, as Grafana keeps one to its data source."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def get(self, q):
        path = "/query?" + urllib.parse.urlencode({"db": "bench", "epoch": "ms", "q": q})
        started = time.perf_counter()
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise SystemExit(f"{q}: HTTP {r.status}: {body[:300]!r}")
        return time.perf_counter() - started, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--influx", required=True)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--start-ms", type=int, required=True)
    ap.add_argument("--end-ms", type=int, required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--dump", help="write both answers of a query whose answers differ into this dir")
    a = ap.parse_args()
    servers = {"influxdb": Client(a.influx), "strata": Client(a.strata)}
    for name, q in queries(a.start_ms, a.end_ms):
        bodies = {s: c.get(q)[1] for s, c in servers.items()}  # warm-up
        times = {s: [] for s in servers}
        for _ in range(a.runs):
            for s, c in servers.items():
                times[s].append(c.get(q)[0])
        parsed = {s: json.loads(b) for s, b in bodies.items()}
        series = parsed["influxdb"]["results"][0].get("series", [])
        row = {
            "query": name,
            "influxql": q,
            "influxdb_ms": round(statistics.median(times["influxdb"]) * 1000, 3),
            "strata_ms": round(statistics.median(times["strata"]) * 1000, 3),
            "series": len(series),
            "rows": sum(len(s.get("values", [])) for s in series),
            "equal": parsed["influxdb"] == parsed["strata"],
            "bytes_equal": bodies["influxdb"].strip() == bodies["strata"].strip(),
        }
        if a.dump and not row["equal"]:
            for s, b in bodies.items():
                open(f"{a.dump}/{name}.{s}.json", "wb").write(b)
        row["ratio"] = round(row["strata_ms"] / row["influxdb_ms"], 3) if row["influxdb_ms"] else None
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
