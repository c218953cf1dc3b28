//! InfluxDB's nanoseconds through the TSM engine (sharded, as the server runs it): points
//! written with `append_ns` read back by `select_ns` exactly as a model keeps them (the last
//! write of a nanosecond wins) through cache, snapshots, compactions, reopens and shard
//! windows; and a millisecond read (`select`, what PromQL uses) sees one point per
//! millisecond, the one of the latest nanosecond in it.

use std::collections::BTreeMap;

use proptest::prelude::*;
use strata_model::Labels;
use strata_storage::{Engine, NS_PER_MS};
use strata_tsm::{ShardedTsm, TsmOptions};

/// Shards of 10 ms, so that a few milliseconds of points cross windows.
const SHARD_MS: i64 = 10;

#[derive(Debug, Clone)]
enum Op {
    /// Points `(series, ns, value)`.
    Write(Vec<(usize, i64, f64)>),
    Compact,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let point = (0usize..3, -30 * NS_PER_MS..30 * NS_PER_MS, -1e6f64..1e6);
    prop_oneof![
        6 => prop::collection::vec(point, 1..40).prop_map(Op::Write),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn labels(s: usize) -> Labels {
    Labels::with_metric_name("ns_metric", [("series", format!("s{s}").as_str())]).unwrap()
}

fn open(dir: &std::path::Path) -> ShardedTsm {
    let options = TsmOptions { background: false, sync_wal: false, ..TsmOptions::default() };
    ShardedTsm::open(dir, options, SHARD_MS, None).unwrap()
}

type Model = BTreeMap<(String, i64), u64>;

fn read(engine: &ShardedTsm, nanoseconds: bool) -> Model {
    let (lo, hi) = (i64::MIN / 2, i64::MAX / 2);
    let series = if nanoseconds {
        engine.select_ns(&[], lo, hi).unwrap()
    } else {
        engine.select(&[], lo / NS_PER_MS, hi / NS_PER_MS).unwrap()
    };
    let mut out = Model::new();
    for s in series {
        let name = s.labels().get("series").unwrap().to_string();
        let samples = s.collect_samples().unwrap();
        assert!(samples.windows(2).all(|w| w[0].0 < w[1].0), "each time once, in order");
        out.extend(samples.into_iter().map(|(t, v)| ((name.clone(), t), v.to_bits())));
    }
    out
}

/// The model read in milliseconds: per series and millisecond, the value at its latest
/// nanosecond.
fn by_millisecond(model: &Model) -> Model {
    let mut out = Model::new();
    for ((name, t), v) in model {
        out.insert((name.clone(), t.div_euclid(NS_PER_MS)), *v); // ascending: the latest stays
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn nanosecond_points_read_back_as_written(ops in prop::collection::vec(op(), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = Some(open(dir.path()));
        let mut model = Model::new();
        for op in &ops {
            match op {
                Op::Write(points) => {
                    let batch: Vec<(Labels, i64, f64)> =
                        points.iter().map(|&(s, t, v)| (labels(s), t, v)).collect();
                    let result = engine.as_ref().unwrap().append_ns(&batch).unwrap();
                    prop_assert_eq!(result.accepted, batch.len());
                    for &(s, t, v) in points {
                        model.insert((format!("s{s}"), t), v.to_bits());
                    }
                }
                Op::Compact => engine.as_ref().unwrap().compact_fully().unwrap(),
                Op::Reopen => {
                    drop(engine.take());
                    engine = Some(open(dir.path()));
                }
            }
            let e = engine.as_ref().unwrap();
            prop_assert_eq!(read(e, true), model.clone());
            prop_assert_eq!(read(e, false), by_millisecond(&model));
        }
    }
}

#[test]
fn a_nanosecond_range_reads_only_its_points() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let batch: Vec<(Labels, i64, f64)> =
        (0..5).map(|i| (labels(0), 1_500_000 + i * 250_000, i as f64)).collect();
    engine.append_ns(&batch).unwrap();
    let series = engine.select_ns(&[], 1_750_000, 2_250_000).unwrap();
    let samples = series[0].collect_samples().unwrap();
    assert_eq!(samples, vec![(1_750_000, 1.0), (2_000_000, 2.0), (2_250_000, 3.0)]);
    // In milliseconds: ms 1 holds 1.5 and 1.75 ms (1.75 wins), ms 2 the rest (2.5 ms wins).
    let series = engine.select(&[], 0, 10).unwrap();
    assert_eq!(series[0].collect_samples().unwrap(), vec![(1, 1.0), (2, 4.0)]);
}
