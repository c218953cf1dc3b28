//! The WAL end to end: round trips, damage of every kind, checkpoints.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use strata_model::Labels;

use crate::segment::{scan, write_fragments, PAGE_SIZE};
use crate::{
    checkpoint, list_segments, replay, segment_name, Record, RefSample, RefSeries, ReplayOptions, SyncPolicy,
    Wal, WalError, WalOptions,
};

fn options(policy: SyncPolicy, segment_size: u64) -> WalOptions {
    WalOptions { segment_size, policy, ..WalOptions::default() }
}

fn series(r: u64) -> Record {
    let labels = Labels::from_pairs([("__name__", "m".to_string()), ("i", r.to_string())]).unwrap();
    Record::Series(vec![RefSeries { series_ref: r, labels }])
}

fn samples(batch: u64, n: u64) -> Record {
    Record::Samples(
        (0..n)
            .map(|i| RefSample {
                series_ref: i % 7 + 1,
                t: (batch * n + i) as i64,
                v: (batch * 1000 + i) as f64,
            })
            .collect(),
    )
}

/// Records written in order: series 1..=7, then `batches` sample records.
fn workload(batches: u64, per_batch: u64) -> Vec<Record> {
    (1..=7).map(series).chain((0..batches).map(|b| samples(b, per_batch))).collect()
}

fn write_all(dir: &Path, records: &[Record], opts: WalOptions) {
    let wal = Wal::open(dir, opts).unwrap();
    for r in records {
        wal.append(std::slice::from_ref(r)).unwrap();
    }
}

fn read_all(dir: &Path, repair: bool) -> Result<Vec<Record>, WalError> {
    let mut out = Vec::new();
    replay(dir, ReplayOptions { repair }, |r| out.push(r))?;
    Ok(out)
}

fn assert_prefix(got: &[Record], written: &[Record]) {
    assert!(got.len() <= written.len(), "replayed more than written");
    assert_eq!(got, &written[..got.len()], "replay must give a prefix of what was written");
}

#[test]
fn round_trip_across_segments_for_every_policy() {
    for policy in [SyncPolicy::Sync, SyncPolicy::Batch, SyncPolicy::None] {
        let dir = tempfile::tempdir().unwrap();
        let written = workload(300, 50);
        write_all(dir.path(), &written, options(policy, PAGE_SIZE as u64));
        assert!(list_segments(dir.path()).unwrap().len() > 3, "small segments rotate");
        assert_eq!(read_all(dir.path(), false).unwrap(), written);
    }
}

#[test]
fn records_larger_than_a_page_are_fragmented() {
    let dir = tempfile::tempdir().unwrap();
    let written = vec![samples(0, 10_000), samples(1, 3), samples(2, 5_000)];
    write_all(dir.path(), &written, options(SyncPolicy::None, 1 << 20));
    assert_eq!(read_all(dir.path(), false).unwrap(), written);
}

#[test]
fn concurrent_appenders_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Arc::new(Wal::open(dir.path(), options(SyncPolicy::Batch, 1 << 20)).unwrap());
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for b in 0..50 {
                    wal.append(&[samples(t * 1000 + b, 20)]).unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let stats = wal.stats();
    assert_eq!(stats.appends, 400);
    assert!(stats.fsyncs < 400, "group commit shares fsyncs: {} for 400 appends", stats.fsyncs);
    // Every fsync of an append is timed: buckets are cumulative and end at most at the count.
    assert!(stats.fsync_buckets.windows(2).all(|w| w[0] <= w[1]), "{:?}", stats.fsync_buckets);
    assert!(stats.fsync_buckets[stats.fsync_buckets.len() - 1] <= stats.fsyncs);
    assert!(stats.fsyncs > 0 && stats.fsync_micros > 0);
    let got = read_all(dir.path(), false).unwrap();
    let mut batches: Vec<i64> = got
        .iter()
        .map(|r| match r {
            Record::Samples(s) => s[0].t / 20,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    batches.sort_unstable();
    batches.dedup();
    assert_eq!(batches.len(), 400, "every append exactly once");
}

#[test]
fn truncation_at_every_offset_keeps_every_record_before_it() {
    let written = workload(40, 30);
    let source = tempfile::tempdir().unwrap();
    write_all(source.path(), &written, options(SyncPolicy::None, 1 << 20));
    let segment = source.path().join(segment_name(0));
    let bytes = std::fs::read(&segment).unwrap();
    for cut in 0..=bytes.len() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_name(0)), &bytes[..cut]).unwrap();
        let got = read_all(dir.path(), false)
            .unwrap_or_else(|e| panic!("cut at {cut}: a torn tail must be repaired: {e}"));
        assert_prefix(&got, &written);
        // The whole record before the cut is there: only the record the cut went through is lost.
        let complete = scan(&bytes[..cut]).records.len();
        assert_eq!(got.len(), complete, "cut at {cut}");
    }
}

#[test]
fn torn_tail_is_truncated_and_reported_then_the_log_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let written = workload(20, 30);
    write_all(dir.path(), &written, options(SyncPolicy::None, 1 << 20));
    let path = dir.path().join(segment_name(0));
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 5).unwrap();
    let report = replay(dir.path(), ReplayOptions::default(), |_| {}).unwrap();
    assert!(report.bytes_dropped() > 0);
    assert!(report.segments[0].damage.as_deref().unwrap().starts_with("torn tail"));
    // Appending goes on in a new segment, and the log replays whole.
    write_all(dir.path(), &[samples(99, 3)], options(SyncPolicy::Sync, 1 << 20));
    let got = read_all(dir.path(), false).unwrap();
    assert_eq!(got.last(), Some(&samples(99, 3)));
    assert_eq!(&got[..got.len() - 1], &written[..written.len() - 1]);
}

#[test]
fn reopening_after_a_crash_truncates_the_torn_tail_first() {
    let dir = tempfile::tempdir().unwrap();
    let written = workload(10, 30);
    write_all(dir.path(), &written, options(SyncPolicy::None, 1 << 20));
    let path = dir.path().join(segment_name(0));
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 3).unwrap();
    // No replay in between: the torn tail must not become damage in the middle.
    write_all(dir.path(), &[samples(50, 2)], options(SyncPolicy::None, 1 << 20));
    let got = read_all(dir.path(), false).unwrap();
    assert_eq!(got.len(), written.len());
}

#[test]
fn damage_in_the_middle_stops_replay_unless_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let written = workload(600, 30);
    write_all(dir.path(), &written, options(SyncPolicy::None, 2 * PAGE_SIZE as u64));
    let segments = list_segments(dir.path()).unwrap();
    assert!(segments.len() >= 3, "{} segments", segments.len());
    // Zero the second page of the first segment.
    let first = &segments[0].1;
    let mut bytes = std::fs::read(first).unwrap();
    bytes[PAGE_SIZE..2 * PAGE_SIZE].fill(0);
    std::fs::write(first, &bytes).unwrap();
    match read_all(dir.path(), false) {
        Err(WalError::Corrupt { segment: 0, offset, .. }) => {
            assert_eq!(offset as usize, PAGE_SIZE, "the zeroed page")
        }
        other => panic!("expected corruption in segment 0, got {other:?}"),
    }
    let repaired = read_all(dir.path(), true).unwrap();
    assert_prefix(&repaired, &written);
    assert!(!repaired.is_empty());
    assert_eq!(list_segments(dir.path()).unwrap().len(), 1, "repair drops the segments after the damage");
    assert_eq!(read_all(dir.path(), false).unwrap(), repaired, "a repaired log replays cleanly");
}

#[test]
fn a_missing_middle_segment_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let written = workload(400, 30);
    write_all(dir.path(), &written, options(SyncPolicy::None, PAGE_SIZE as u64));
    let segments = list_segments(dir.path()).unwrap();
    let before: usize = scan(&std::fs::read(&segments[0].1).unwrap()).records.len();
    std::fs::remove_file(&segments[1].1).unwrap();
    let err = read_all(dir.path(), false).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    let repaired = read_all(dir.path(), true).unwrap();
    assert_eq!(repaired, written[..before].to_vec(), "everything before the gap is kept");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_record_sequences_round_trip(
        records in proptest::collection::vec(crate::record::tests::arb_record(), 0..40),
        pages in 1u64..4,
        per_append in 1usize..5,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), options(SyncPolicy::None, pages * PAGE_SIZE as u64)).unwrap();
        for group in records.chunks(per_append) {
            wal.append(group).unwrap();
        }
        drop(wal);
        let got = read_all(dir.path(), false).unwrap();
        let bits = crate::record::tests::bits;
        prop_assert_eq!(got.iter().map(bits).collect::<Vec<_>>(), records.iter().map(bits).collect::<Vec<_>>());
    }

    #[test]
    fn flipped_bytes_never_panic_and_keep_a_prefix(flips in proptest::collection::vec((any::<usize>(), 1u8..), 1..6), repair: bool) {
        let written = workload(60, 30);
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &written, options(SyncPolicy::None, 4 * PAGE_SIZE as u64));
        let segments = list_segments(dir.path()).unwrap();
        for &(at, x) in &flips {
            let (_, path) = &segments[at % segments.len()];
            let mut bytes = std::fs::read(path).unwrap();
            if bytes.is_empty() { continue; }
            let i = (at / segments.len()) % bytes.len();
            bytes[i] ^= x;
            std::fs::write(path, &bytes).unwrap();
        }
        match read_all(dir.path(), repair) {
            Ok(got) => assert_prefix(&got, &written),
            Err(e) => prop_assert!(!repair && matches!(e, WalError::Corrupt { .. }), "{}", e),
        }
    }

    #[test]
    fn arbitrary_segment_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_name(0)), &bytes).unwrap();
        let _ = read_all(dir.path(), false);
        let _ = read_all(dir.path(), true);
    }
}

#[test]
fn snappy_compressed_records_are_read() {
    // Prometheus 2.42 compresses records with snappy and sets bit 0x08 on each fragment.
    let mut payload = Vec::new();
    samples(3, 100).encode(&mut payload);
    let compressed = snap::raw::Encoder::new().compress_vec(&payload).unwrap();
    let mut bytes = Vec::new();
    let mut offset = 0;
    write_fragments(&mut bytes, &mut offset, &compressed);
    bytes[0] |= 0x08;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(segment_name(0)), &bytes).unwrap();
    assert_eq!(read_all(dir.path(), false).unwrap(), vec![samples(3, 100)]);
}

#[test]
fn checkpoint_keeps_what_matters_and_replays_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let written = workload(300, 30);
    let wal = Wal::open(dir.path(), options(SyncPolicy::None, 4 * PAGE_SIZE as u64)).unwrap();
    for r in &written {
        wal.append(std::slice::from_ref(r)).unwrap();
    }
    let closed = wal.cut_segment().unwrap();
    wal.append(&[samples(1000, 4)]).unwrap();
    drop(wal);

    // Keep series 1..=3 and samples from t = 4000 on.
    let report = checkpoint(dir.path(), closed, 4000, |r| r <= 3).unwrap();
    assert_eq!(report.deleted_segments.len() as u32, closed + 1);
    assert!(report.samples_dropped > 0);
    let got = read_all(dir.path(), false).unwrap();
    // The checkpoint keeps series 1..=3 from t = 4000 on; the segment after it is untouched.
    let in_checkpoint = written.iter().flat_map(|r| match r {
        Record::Samples(s) => s.clone(),
        _ => Vec::new(),
    });
    let mut want_samples: Vec<RefSample> =
        in_checkpoint.filter(|s| s.t >= 4000 && s.series_ref <= 3).collect();
    if let Record::Samples(tail) = samples(1000, 4) {
        want_samples.extend(tail);
    }
    let got_samples: Vec<RefSample> = got
        .iter()
        .flat_map(|r| match r {
            Record::Samples(s) => s.clone(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(got_samples.len(), want_samples.len());
    assert!(got_samples == want_samples, "checkpointed samples differ");
    let series: Vec<u64> = got
        .iter()
        .flat_map(|r| match r {
            Record::Series(s) => s.iter().map(|s| s.series_ref).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(series, [1, 2, 3]);

    // A crash mid-checkpoint leaves a .tmp directory: replay ignores it.
    std::fs::create_dir(dir.path().join(format!("checkpoint.{:08}.tmp", closed + 5))).unwrap();
    assert_eq!(read_all(dir.path(), false).unwrap(), got);
}

#[test]
fn an_io_error_is_returned_and_the_log_refuses_writes_until_it_can_repair_itself() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::Sync, PAGE_SIZE as u64)).unwrap();
    wal.append(&[samples(0, 10)]).unwrap();
    // The next segment's name is taken: rotating into it fails like a full disk would.
    std::fs::create_dir(dir.path().join(segment_name(1))).unwrap();
    let big = samples(1, 5_000);
    let err = wal.append(std::slice::from_ref(&big)).unwrap_err();
    assert!(matches!(err, WalError::Io { .. }), "{err}");
    let refused = wal.append(&[samples(2, 1)]).unwrap_err();
    assert!(matches!(refused, WalError::Failed(_)), "{refused}");
    assert!(refused.to_string().contains("creating segment"), "{refused}");
    // The name is free again (space returned): the log repairs itself and goes on.
    std::fs::remove_dir(dir.path().join(segment_name(1))).unwrap();
    wal.append(&[samples(3, 10)]).unwrap();
    drop(wal);
    // What was acknowledged is intact, before the failure and after it.
    assert_eq!(read_all(dir.path(), false).unwrap(), vec![samples(0, 10), samples(3, 10)]);
}

/// A failed write (a full disk) leaves part of a record; the next append truncates it away,
/// closes the segment and goes on in a new one — no restart needed — and replay reads every
/// acknowledged record and nothing of the failed one.
#[test]
fn after_a_torn_write_the_log_repairs_itself_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::Sync, 1 << 20)).unwrap();
    wal.append(&[series(1)]).unwrap();
    wal.append(&[samples(0, 10)]).unwrap();
    wal.inject_write_failures(1);
    let failed = wal.append(&[samples(1, 10)]).unwrap_err();
    assert!(failed.to_string().contains("injected failure"), "{failed}");
    // Space returns: the next append repairs the log and is acknowledged.
    wal.append(&[samples(2, 10)]).unwrap();
    wal.append(&[samples(3, 10)]).unwrap();
    // A repair that fails leaves the log failed, and the one after it works.
    wal.inject_write_failures(2);
    assert!(wal.append(&[samples(4, 10)]).is_err());
    assert!(wal.append(&[samples(5, 10)]).is_err(), "the repair's own write failed too");
    wal.append(&[samples(6, 10)]).unwrap();
    drop(wal);
    let mut batches = Vec::new();
    let report = replay(dir.path(), ReplayOptions::default(), |record| {
        if let Record::Samples(s) = record {
            batches.push(s[0].t / 10);
        }
    })
    .unwrap();
    assert_eq!(batches, vec![0, 2, 3, 6], "acknowledged records, in order, and none of the failed ones");
    assert_eq!(report.bytes_dropped(), 0, "no torn record was left to drop: {report:?}");
}

/// A failed write of a series record is not repaired: samples logged later would name a
/// series replay never learns. The log stays failed (until a restart replays it).
#[test]
fn a_lost_series_record_keeps_the_log_failed_until_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(SyncPolicy::Sync, 1 << 20)).unwrap();
    wal.append(&[series(1)]).unwrap();
    wal.inject_write_failures(1);
    assert!(wal.append(&[series(2), samples(0, 10)]).is_err());
    let refused = wal.append(&[samples(1, 10)]).unwrap_err();
    assert!(refused.to_string().contains("restart"), "{refused}");
    drop(wal);
    let wal = Wal::open(dir.path(), options(SyncPolicy::Sync, 1 << 20)).unwrap();
    wal.append(&[samples(2, 10)]).unwrap();
}
