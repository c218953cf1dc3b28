//! The TSM engine against a model (a BTreeMap of points): random writes (overwrites and
//! out-of-order included), deletes, snapshots, compactions and reopens; after every step the
//! engine returns exactly the model's points, each once.

use std::collections::BTreeMap;

use proptest::prelude::*;
use strata_model::{Labels, Matcher};
use strata_storage::Engine;
use strata_tsm::{TsmEngine, TsmOptions};

#[derive(Debug, Clone)]
enum Op {
    /// `n` points of series `s` from `start` every `step` ms, values from `seed`.
    Write {
        s: usize,
        start: i64,
        step: i64,
        n: usize,
        seed: u32,
    },
    Delete {
        s: Option<usize>,
        mint: i64,
        maxt: i64,
    },
    Snapshot,
    Compact {
        full: bool,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..4, -5_000i64..20_000, 1i64..40, 1usize..1500, any::<u32>())
            .prop_map(|(s, start, step, n, seed)| Op::Write { s, start, step, n, seed }),
        1 => (prop::option::of(0usize..4), -5_000i64..30_000, 0i64..8_000)
            .prop_map(|(s, mint, len)| Op::Delete { s, mint, maxt: mint + len }),
        2 => Just(Op::Snapshot),
        2 => any::<bool>().prop_map(|full| Op::Compact { full }),
        1 => Just(Op::Reopen),
    ]
}

fn labels(s: usize) -> Labels {
    Labels::with_metric_name("model_metric", [("series", format!("s{s}").as_str()), ("job", "model")])
        .unwrap()
}

type Model = BTreeMap<(String, i64), u64>;

fn options() -> TsmOptions {
    TsmOptions { background: false, sync_wal: false, ..TsmOptions::default() }
}

fn engine_points(engine: &TsmEngine) -> Model {
    let mut out = Model::new();
    for series in engine.select(&[], i64::MIN / 2_000_000, i64::MAX / 2_000_000).unwrap() {
        let name = series.labels().get("series").unwrap().to_string();
        let samples = series.collect_samples().unwrap();
        assert!(samples.windows(2).all(|w| w[0].0 < w[1].0), "each timestamp once, in order");
        for (t, v) in samples {
            out.insert((name.clone(), t), v.to_bits());
        }
    }
    out
}

/// Applies `op`; `slot` holds the engine (emptied while a reopen waits for the old one's lock).
fn apply(slot: &mut Option<TsmEngine>, dir: &std::path::Path, model: &mut Model, op: &Op) {
    if let Op::Reopen = op {
        drop(slot.take());
        *slot = Some(TsmEngine::open(dir, options()).unwrap());
        return;
    }
    let Some(engine) = slot.as_mut() else { unreachable!("the engine is open between steps") };
    match *op {
        Op::Write { s, start, step, n, seed } => {
            let batch: Vec<(Labels, i64, f64)> = (0..n as i64)
                .map(|i| (labels(s), start + i * step, f64::from(seed.wrapping_add(i as u32) % 1000) / 8.0))
                .collect();
            let r = engine.append(&batch).unwrap();
            assert!(r.rejected.is_empty(), "{:?}", r.rejected);
            for (_, t, v) in batch {
                model.insert((format!("s{s}"), t), v.to_bits());
            }
        }
        Op::Delete { s, mint, maxt } => {
            let matchers: Vec<Matcher> = match s {
                Some(s) => vec![Matcher::equal("series", format!("s{s}"))],
                None => vec![Matcher::equal("job", "model")],
            };
            engine.delete(&matchers, mint, maxt).unwrap();
            model.retain(|(name, t), _| {
                !((s.is_none() || Some(name.as_str()) == s.map(|s| format!("s{s}")).as_deref())
                    && (mint..=maxt).contains(t))
            });
        }
        Op::Snapshot => {
            engine.snapshot_cache().unwrap();
        }
        Op::Compact { full } => {
            engine.compact_once(full).unwrap();
        }
        Op::Reopen => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn the_engine_matches_the_model(ops in prop::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = Some(TsmEngine::open(dir.path(), options()).unwrap());
        let mut model = Model::new();
        for (step, op) in ops.iter().enumerate() {
            apply(&mut engine, dir.path(), &mut model, op);
            let got = engine_points(engine.as_ref().unwrap());
            prop_assert!(got == model, "after step {} ({:?}): engine has {} points, model {}", step, op, got.len(), model.len());
        }
        // And once more from disk alone, after everything compacted.
        let engine = engine.unwrap();
        while engine.compact_once(true).unwrap().is_some() {}
        drop(engine);
        let engine = TsmEngine::open(dir.path(), options()).unwrap();
        prop_assert!(engine_points(&engine) == model);
    }
}
