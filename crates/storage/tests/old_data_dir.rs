//! A data dir written by main before time shards existed (commit 1ca5c41: `strata tsdb demo`
//! cut four blocks, then `strata server` took 11 more samples into its WAL head and stopped
//! on SIGTERM) opens with today's engine and answers exactly what that version's
//! `strata tsdb dump` printed — kept in `fixtures/data-dir-1ca5c41.expected` — then carries
//! on: its blocks fall into shards, compaction keeps to them, and a reopen answers the same.

use std::path::Path;

use strata_storage::{BlockEngine, BlockEngineOptions, Engine};
use strata_testkit::{copy_dir, promtool_labels, value_bits};

fn fixture() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/data-dir-1ca5c41"))
}

/// (series, samples, FNV-1a 64 of the sorted `labels\ttimestamp\tbits` lines).
fn digest(engine: &BlockEngine) -> (usize, usize, u64) {
    let mut lines = Vec::new();
    let mut series = 0;
    for s in engine.select(&[], i64::MIN, i64::MAX).unwrap() {
        let samples = s.collect_samples().unwrap();
        series += usize::from(!samples.is_empty());
        let labels = promtool_labels(s.labels());
        lines.extend(samples.into_iter().map(|(t, v)| (labels.clone(), t, value_bits(v))));
    }
    lines.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (labels, t, bits) in &lines {
        for b in format!("{labels}\t{t}\t{bits:016x}\n").bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    (series, lines.len(), h)
}

fn expected() -> (usize, usize, u64) {
    let text = std::fs::read_to_string(fixture().with_extension("expected")).unwrap();
    let field = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_else(|| panic!("no {name}"))
    };
    (
        field("series ").parse().unwrap(),
        field("samples ").parse().unwrap(),
        u64::from_str_radix(field("fnv1a64 "), 16).unwrap(),
    )
}

#[test]
fn a_data_dir_from_before_shards_opens_and_answers_as_it_did() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(fixture(), dir.path());
    let options = || BlockEngineOptions { maintenance_every: None, ..BlockEngineOptions::default() };
    let engine = BlockEngine::open(dir.path(), options()).unwrap();
    assert!(engine.skipped_blocks().is_empty(), "{:?}", engine.skipped_blocks());
    assert_eq!(digest(&engine), expected(), "what main at 1ca5c41 dumped, sample for sample");
    let shards = engine.shards();
    assert!(!shards.is_empty());
    let blocks: usize = shards.iter().map(|s| s.blocks.len()).sum();
    assert_eq!(blocks, 4, "every old block belongs to a shard: {shards:?}");

    // It carries on: a new sample, compaction inside the windows, a reopen.
    let newest = engine
        .select(&[], i64::MIN, i64::MAX)
        .unwrap()
        .iter()
        .filter_map(|s| s.collect_samples().unwrap().last().map(|p| p.0))
        .max()
        .unwrap();
    let labels = strata_model::Labels::from_pairs([("__name__", "after_upgrade")]).unwrap();
    assert_eq!(engine.append(&[(labels, newest + 1000, 1.0)]).unwrap().accepted, 1);
    engine.compact().unwrap();
    let layout = engine.shard_layout();
    for b in engine.blocks() {
        let m = b.meta();
        assert_eq!(layout.window_of(m.min_time), layout.window_of(m.max_time - 1), "{m:?} crosses a shard");
    }
    drop(engine);
    let engine = BlockEngine::open(dir.path(), options()).unwrap();
    let (series, samples, _) = digest(&engine);
    assert_eq!((series, samples), (expected().0 + 1, expected().1 + 1));
}
