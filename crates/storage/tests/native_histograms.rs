//! Native histograms through the block engine: appended, read back, replayed from the
//! WAL after a reopen, cut into blocks, compacted and deleted — every sample kept exactly —
//! and a block of them written by Strata served by a real Prometheus 2.42 (Debian package
//! `prometheus`, `--enable-feature=native-histograms`; skipped loudly without it, except
//! under `CI=true`).

use std::collections::BTreeMap;

use strata_model::histogram::{
    bucket_indices, delta_counts, spans_for_indices, CounterResetHint, FloatHistogram, Histogram,
    HistogramValue,
};
use strata_model::{Labels, Matcher};
use strata_storage::block::{write_block, BlockSeries};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_testkit::{peer_binary, Prometheus};
use strata_wal::{SyncPolicy, WalOptions};

const HOUR: i64 = 3_600_000;

/// What a histogram means whatever its layout and kind: float bits of every field and the
/// non-zero buckets by index (chunks may add explicit zero buckets when they recode).
type Meaning = (i32, u64, u64, u64, u64, BTreeMap<i64, u64>, BTreeMap<i64, u64>);

fn meaning(h: &HistogramValue) -> Meaning {
    let f: FloatHistogram = h.to_float();
    let side = |spans, counts: &[f64]| -> BTreeMap<i64, u64> {
        bucket_indices(spans).zip(counts).filter(|(_, c)| **c != 0.0).map(|(i, c)| (i, c.to_bits())).collect()
    };
    (
        f.schema,
        f.zero_threshold.to_bits(),
        f.zero_count.to_bits(),
        f.count.to_bits(),
        f.sum.to_bits(),
        side(&f.positive_spans, &f.positive_buckets),
        side(&f.negative_spans, &f.negative_buckets),
    )
}

/// The counter histogram of minute `m`: buckets appear over time, a reset at minute 200.
fn counter(m: i64) -> HistogramValue {
    let n = if m >= 200 { (m - 200) as u64 } else { m as u64 };
    let mut buckets = vec![(-1i64, n), (0, 2 * n), (3, n / 2)];
    if n > 30 {
        buckets.push((7, n - 30));
    }
    let indices: Vec<i64> = buckets.iter().map(|b| b.0).collect();
    let counts: Vec<i64> = buckets.iter().map(|b| b.1 as i64).collect();
    HistogramValue::Integer(Histogram {
        schema: 2,
        zero_threshold: 2f64.powi(-128),
        zero_count: n,
        count: n + buckets.iter().map(|b| b.1).sum::<u64>(),
        sum: n as f64 * 0.7,
        positive_spans: spans_for_indices(&indices),
        positive_buckets: delta_counts(&counts),
        ..Default::default()
    })
}

/// A float gauge histogram of minute `m`, counts going up and down.
fn gauge(m: i64) -> HistogramValue {
    let a = (m % 7) as f64 * 0.5;
    let b = (m % 3) as f64 + 0.25;
    HistogramValue::Float(FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        schema: 0,
        count: a + b,
        sum: (a + b) * 1.5,
        positive_spans: spans_for_indices(&[1, 2]),
        positive_buckets: vec![a, b],
        ..Default::default()
    })
}

fn labels(name: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", "h")]).unwrap()
}

type Model = BTreeMap<Labels, (BTreeMap<i64, u64>, BTreeMap<i64, Meaning>)>;

fn everything(engine: &dyn Engine) -> Model {
    let mut out = Model::new();
    for s in engine.select(&[], i64::MIN, i64::MAX).unwrap() {
        let floats = s.collect_samples().unwrap().into_iter().map(|(t, v)| (t, v.to_bits())).collect();
        let histograms = s.collect_histograms().unwrap();
        assert!(histograms.windows(2).all(|w| w[0].0 < w[1].0), "time order, no duplicates");
        let histograms = histograms.iter().map(|(t, h)| (*t, meaning(h))).collect();
        out.insert(s.labels().clone(), (floats, histograms));
    }
    out
}

fn options() -> BlockEngineOptions {
    BlockEngineOptions {
        block_range: 2 * HOUR,
        wal: WalOptions { policy: SyncPolicy::None, ..WalOptions::default() },
        ..BlockEngineOptions::default()
    }
}

#[test]
fn histograms_survive_cuts_reopens_compaction_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = BlockEngine::open(dir.path(), options()).unwrap();
    let mut model = Model::new();
    for m in 0..7 * 60 {
        let t = m * 60_000;
        let batch = vec![(labels("latency"), t, counter(m)), (labels("queue"), t, gauge(m))];
        // The mixed series: floats for its first hour, histograms after.
        let mixed = labels("mixed");
        if m < 60 {
            assert_eq!(engine.append(&[(mixed.clone(), t, m as f64)]).unwrap().accepted, 1);
            model.entry(mixed).or_default().0.insert(t, (m as f64).to_bits());
        } else {
            let r = engine.append_histograms(&[(mixed.clone(), t, counter(m))]).unwrap();
            assert_eq!(r.accepted, 1, "{:?}", r.rejected);
            model.entry(mixed).or_default().1.insert(t, meaning(&counter(m)));
        }
        let result = engine.append_histograms(&batch).unwrap();
        assert_eq!(result.accepted, 2, "{:?}", result.rejected);
        for (l, t, h) in batch {
            model.entry(l).or_default().1.insert(t, meaning(&h));
        }
    }
    let blocks = engine.blocks();
    assert_eq!(blocks.len(), 2, "the head was cut twice");
    assert_eq!(everything(&engine), model, "head and blocks together");

    // Refusals: out of order, a conflicting copy, a malformed histogram; a resent copy is fine.
    let last = 7 * 60 * 60_000 - 60_000;
    let mut bad = counter(5);
    if let HistogramValue::Integer(h) = &mut bad {
        h.count += 1;
    }
    let refused = engine
        .append_histograms(&[
            (labels("latency"), last - 60_000, counter(1)),
            (labels("latency"), last, counter(3)),
            (labels("latency"), last, counter(7 * 60 - 1)),
            (labels("latency"), last + 1, bad),
            (labels("latency"), last + 2, counter(1)),
        ])
        .unwrap();
    let reasons: Vec<(usize, &str)> = refused.rejected.iter().map(|r| (r.index, r.reason.as_str())).collect();
    assert_eq!(refused.accepted, 2, "{reasons:?}");
    assert!(reasons[0].1.contains("out of order"), "{reasons:?}");
    assert!(reasons[1].1.contains("duplicate"), "{reasons:?}");
    assert!(reasons[2].1.contains("invalid native histogram"), "{reasons:?}");
    model.get_mut(&labels("latency")).unwrap().1.insert(last + 2, meaning(&counter(1)));
    assert_eq!(everything(&engine), model);

    drop(engine);
    let engine = BlockEngine::open(dir.path(), options()).unwrap();
    assert_eq!(everything(&engine), model, "blocks + checkpoint + WAL give back every histogram once");

    engine.flush().unwrap();
    engine.compact().unwrap();
    assert_eq!(everything(&engine), model, "after a flush and compaction");

    let deleted = engine.delete(&[Matcher::equal("__name__", "queue")], HOUR, 3 * HOUR).unwrap();
    assert_eq!(deleted, 1);
    model.get_mut(&labels("queue")).unwrap().1.retain(|t, _| !(HOUR..=3 * HOUR).contains(t));
    assert_eq!(everything(&engine), model, "deleted samples are gone, the rest kept");
    engine.compact().unwrap();
    drop(engine);
    let engine = BlockEngine::open(dir.path(), options()).unwrap();
    assert_eq!(everything(&engine), model, "and stay gone");
}

#[test]
fn prometheus_serves_the_histograms_of_a_strata_block() {
    let Some(binary) = peer_binary("prometheus", "prometheus") else { return };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let start = (now - 30 * 60_000) / 60_000 * 60_000;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("wal")).unwrap();
    let minutes = 0..25i64;
    let histograms: Vec<_> = minutes.clone().map(|m| (start + m * 60_000, counter(m * 3))).collect();
    let series = vec![BlockSeries { labels: labels("strata_latency"), samples: Vec::new(), histograms }];
    write_block(&data, series).unwrap();

    let server = Prometheus::start_with(&binary, &data, false, &["--enable-feature=native-histograms"]);
    for m in minutes {
        let t = start + m * 60_000;
        let answer = server.query("strata_latency", Some(t as f64 / 1000.0));
        let served = &answer["data"]["result"][0]["histogram"][1];
        let HistogramValue::Integer(want) = counter(m * 3) else { unreachable!() };
        let count: f64 = served["count"]
            .as_str()
            .unwrap_or_else(|| panic!("no histogram at {t}: {answer}"))
            .parse()
            .unwrap();
        let sum: f64 = served["sum"].as_str().unwrap().parse().unwrap();
        assert_eq!((count, sum), (want.count as f64, want.sum), "minute {m}: {answer}");
        // An empty histogram has no "buckets" at all.
        let mut buckets: Vec<f64> = served["buckets"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|b| b[3].as_str().unwrap().parse().unwrap())
            .collect();
        let mut expected: Vec<f64> = strata_model::histogram::absolute_counts(&want.positive_buckets)
            .into_iter()
            .chain([want.zero_count as i64])
            .filter(|c| *c != 0)
            .map(|c| c as f64)
            .collect();
        buckets.sort_by(f64::total_cmp);
        expected.sort_by(f64::total_cmp);
        assert_eq!(buckets, expected, "bucket counts at minute {m}");
    }
    server.stop();
}
