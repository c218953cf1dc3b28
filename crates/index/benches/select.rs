//! Query latency of the index at 100,000 series of the synthetic population (the full
//! 1,000,000-series figures come from `strata index bench`, which also reports build time
//! and memory): equality intersections of 1–3 matchers, a negative matcher, and regexes.
//!
//! Run: `cargo bench -p strata-index --bench select`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use strata_index::population::Population;
use strata_index::SeriesIndex;
use strata_model::{MatchOp, Matcher};

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).expect("valid matcher")
}

fn bench(c: &mut Criterion) {
    let index = SeriesIndex::new();
    let mut population = Population::new(1);
    for _ in 0..100_000 {
        index.get_or_create(&population.next_labels()).expect("index has room");
    }
    let queries = [
        ("eq1", vec![m(MatchOp::Equal, "service", "service-5")]),
        ("eq2", vec![m(MatchOp::Equal, "service", "service-5"), m(MatchOp::Equal, "env", "prod")]),
        (
            "eq3",
            vec![
                m(MatchOp::Equal, "region", "region-0"),
                m(MatchOp::Equal, "env", "prod"),
                m(MatchOp::Equal, "service", "service-5"),
            ],
        ),
        ("neg", vec![m(MatchOp::Equal, "service", "service-5"), m(MatchOp::NotEqual, "env", "prod")]),
        ("regex-set", vec![m(MatchOp::RegexMatch, "status", "500|503"), m(MatchOp::Equal, "env", "prod")]),
        ("regex-prefix", vec![m(MatchOp::RegexMatch, "pod", "pod-12.*")]),
        ("regex-scan", vec![m(MatchOp::RegexMatch, "host", "host-1[0-9]+7")]),
    ];
    let mut group = c.benchmark_group("index-select-100k");
    for (name, matchers) in &queries {
        group.bench_function(*name, |b| b.iter(|| index.select(black_box(matchers)).len()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
