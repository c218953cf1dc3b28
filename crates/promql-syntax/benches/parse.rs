//! Parse time of Strata's parser beside the `promql-parser` crate it replaced, on queries a
//! dashboard sends (and, with `STRATA_PROMQL_CONFORMANCE` set, every eval expression of
//! Prometheus' corpus both read). `cargo bench -p strata-promql-syntax --bench parse`.

use criterion::{criterion_group, criterion_main, Criterion};

const DASHBOARD: &[&str] = &[
    "sum by (job) (rate(http_requests_total{job=~\"api|web\", code!~\"5..\"}[5m]))",
    "histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))",
    "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[1m])))",
    "node_filesystem_avail_bytes{fstype!=\"tmpfs\"} / node_filesystem_size_bytes * 100 < 10",
    "max_over_time(rate(process_cpu_seconds_total[1m])[1h:1m]) > bool 0.5",
    "sum(rate(a[5m])) / on(job) group_left(team) sum by (job, team) (rate(b[5m]))",
    "topk(5, sum without (instance) (increase(errors_total[1h] offset 1d)))",
    "label_replace(up{job=\"x\"} == 0, \"host\", \"$1\", \"instance\", \"([^:]+):.*\")",
];

fn queries() -> Vec<String> {
    let mut out: Vec<String> = DASHBOARD.iter().map(|q| q.to_string()).collect();
    if let Some(dir) = std::env::var_os("STRATA_PROMQL_CONFORMANCE") {
        let index =
            std::fs::read_to_string(std::path::Path::new(&dir).join("eval-index.tsv")).unwrap_or_default();
        out.extend(
            index
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split('\t').nth(6))
                .filter(|q| strata_promql_syntax::parse(q).is_ok() && promql_parser::parser::parse(q).is_ok())
                .map(String::from),
        );
    }
    out
}

fn parse(c: &mut Criterion) {
    let queries = queries();
    let mut group = c.benchmark_group(format!("parse {} queries", queries.len()));
    group.bench_function("strata-promql-syntax", |b| {
        b.iter(|| queries.iter().filter(|q| strata_promql_syntax::parse(q).is_ok()).count())
    });
    group.bench_function("promql-parser", |b| {
        b.iter(|| queries.iter().filter(|q| promql_parser::parser::parse(q).is_ok()).count())
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
