//! Blocks written and read back; damaged blocks; a block Prometheus wrote (index v1).

use proptest::prelude::*;
use strata_model::{Labels, MatchOp, Matcher};

use super::{write_block, BlockReader, BlockSeries};

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

fn arb_series() -> impl Strategy<Value = Vec<BlockSeries>> {
    let samples = (any::<i32>(), proptest::collection::vec((1i64..100_000, any::<u64>()), 1..400)).prop_map(
        |(start, steps)| {
            let mut t = i64::from(start);
            steps
                .into_iter()
                .map(|(step, v)| {
                    t += step;
                    (t, f64::from_bits(v))
                })
                .collect::<Vec<_>>()
        },
    );
    proptest::collection::vec((r"[a-z]{1,4}", r"\PC{1,5}", samples), 1..12).prop_map(|list| {
        let mut seen = std::collections::HashSet::new();
        list.into_iter()
            .filter_map(|(name, value, samples)| {
                let labels = Labels::from_pairs([("__name__", name), ("v", value)]).ok()?;
                seen.insert(labels.clone()).then_some(BlockSeries { labels, samples, histograms: Vec::new() })
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn written_blocks_read_back_bit_exact(series in arb_series()) {
        let dir = tempfile::tempdir().unwrap();
        let stats = write_block(dir.path(), series.clone()).unwrap();
        let block = BlockReader::open(&stats.dir).unwrap();
        prop_assert_eq!(block.meta(), &stats.meta);
        let mut got = block.select(&[], i64::MIN, i64::MAX).unwrap();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let mut want = series;
        want.sort_by(|a, b| a.labels.cmp(&b.labels));
        prop_assert_eq!(got.len(), want.len());
        for ((labels, samples), w) in got.iter().zip(&want) {
            prop_assert_eq!(labels, &w.labels);
            prop_assert_eq!(bits(samples), bits(&w.samples));
        }
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics(flips in proptest::collection::vec((any::<usize>(), 1u8..), 1..4), in_index: bool) {
        let dir = tempfile::tempdir().unwrap();
        let series: Vec<BlockSeries> = (0..5)
            .map(|s| BlockSeries {
                labels: Labels::from_pairs([("__name__", "m".to_string()), ("s", s.to_string())]).unwrap(),
                samples: (0..300).map(|i| (i * 1000, (i * s) as f64)).collect(),
                histograms: Vec::new(),
            })
            .collect();
        let stats = write_block(dir.path(), series.clone()).unwrap();
        let file = if in_index { stats.dir.join("index") } else { stats.dir.join("chunks/000001") };
        let mut bytes = std::fs::read(&file).unwrap();
        for &(at, x) in &flips {
            let i = at % bytes.len();
            bytes[i] ^= x;
        }
        std::fs::write(&file, &bytes).unwrap();
        // Nothing panics, and nothing wrong is returned: either a checksum catches the damage,
        // or it hit bytes this query does not read (another postings list, padding) and the
        // answer is exactly the original.
        let result = BlockReader::open(&stats.dir).and_then(|b| b.select(&[], i64::MIN, i64::MAX));
        if let Ok(mut got) = result {
            got.sort_by(|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(got.len(), series.len());
            for ((labels, samples), w) in got.iter().zip(&series) {
                prop_assert_eq!(labels, &w.labels);
                prop_assert_eq!(bits(samples), bits(&w.samples));
            }
        }
    }
}

#[test]
fn select_filters_by_matchers_and_decodes_only_overlapping_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<BlockSeries> = ["a", "b", "c"]
        .iter()
        .map(|job| BlockSeries {
            labels: Labels::from_pairs([("__name__", "up"), ("job", job)]).unwrap(),
            samples: (0..1000).map(|i| (i * 15_000, i as f64)).collect(),
            histograms: Vec::new(),
        })
        .collect();
    let stats = write_block(dir.path(), series).unwrap();
    let block = BlockReader::open(&stats.dir).unwrap();
    let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
    let got = block.select(&[m(MatchOp::Equal, "job", "b")], 150_000, 300_000).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.get("job"), Some("b"));
    assert_eq!(got[0].1.first(), Some(&(150_000, 10.0)));
    assert_eq!(got[0].1.len(), 11);
    let not_b = block.select(&[m(MatchOp::NotEqual, "job", "b")], 0, i64::MAX).unwrap();
    assert_eq!(not_b.len(), 2);
    assert_eq!(block.meta().stats.num_chunks, 3 * 5, "1000 samples cut into 5 chunks of ≤240");
    assert!(block.select(&[], i64::MAX - 1, i64::MAX).unwrap().is_empty(), "no chunk overlaps");
}

#[test]
fn reads_the_block_prometheus_wrote() {
    let Some(shared) = std::env::var_os("STRATA_SHARED_DIR") else {
        eprintln!("SKIPPED: STRATA_SHARED_DIR is not set; the Prometheus fixture block was not read");
        return;
    };
    let dir = std::path::Path::new(&shared).join("conformance/tsdb-fixtures/index_format_v1");
    let block = BlockReader::open(&dir).unwrap();
    assert_eq!(block.index_version(), 1);
    assert_eq!(block.meta().ulid, "01DXXFZDYD1MQW6079WK0K6EDQ");
    let all = block.select(&[], i64::MIN, i64::MAX).unwrap();
    assert_eq!(all.len(), 102, "102 series");
    assert_eq!(all.iter().map(|(_, s)| s.len()).sum::<usize>(), 102, "one sample each");
    assert!(all.iter().all(|(_, s)| [0, 1, 3].contains(&s[0].0) && [0.0, 2.0, 4.0].contains(&s[0].1)));
    let one = block.select(&[Matcher::equal("bar", "42")], i64::MIN, i64::MAX).unwrap();
    assert!(!one.is_empty() && one.iter().all(|(l, _)| l.get("bar") == Some("42")));
}
