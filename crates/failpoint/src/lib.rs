//! Failpoints: named places between two durable steps (a write and its fsync, an fsync and
//! a rename, a rename and a delete) where a crash is most likely to expose lost or doubled
//! data. Crash tests arm one by naming it in the environment:
//!
//! ```text
//! STRATA_FAILPOINTS=wal.after_write=3      # abort on the third time the WAL reaches it
//! STRATA_FAILPOINTS=compaction.before_delete=1,block.before_rename=2
//! ```
//!
//! When an armed point is reached its count-th time, the process prints one line to stderr
//! (`strata: failpoint <name> reached (hit <n>); aborting`) and aborts: no destructor runs,
//! nothing buffered in user space is flushed, what the kernel already has stays — the same
//! as `kill -9` at exactly that instruction. `scripts/crash_rounds.py` arms a random point
//! in a share of its rounds and checks that nothing acknowledged was lost.
//!
//! Why an environment variable and not a cargo feature: the crash rounds run the release
//! binary users run. Unarmed, [`hit`] costs one relaxed atomic load; the variable is read
//! once, at the first hit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

/// The environment variable that arms failpoints.
pub const ENV: &str = "STRATA_FAILPOINTS";

/// Every failpoint, by the durable steps it sits between. The names are stable: scripts
/// and docs/reliability.md use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// A WAL batch written to the segment, not yet fsynced (nothing acknowledged yet).
    WalAfterWrite,
    /// A WAL batch fsynced; its writers not yet told (the acknowledgement is about to go).
    WalAfterSync,
    /// A checkpoint written and fsynced under `.tmp`, not yet renamed.
    CheckpointBeforeRename,
    /// A checkpoint renamed into place; the segments it covers not yet deleted.
    CheckpointAfterRename,
    /// A block written and fsynced under `<ULID>.tmp`, not yet renamed.
    BlockBeforeRename,
    /// A block renamed into place (durable); the head still holds its samples.
    BlockAfterRename,
    /// A head cut wrote its blocks and dropped them from the head; the WAL not yet
    /// checkpointed (replay will see those samples again).
    HeadCutBeforeCheckpoint,
    /// A compaction's block is in place; its source blocks not yet deleted (the data is
    /// on disk twice).
    CompactionBeforeDelete,
    /// A compaction deleted one of its source blocks, not all.
    CompactionMidDelete,
    /// A rollup segment written under a scratch name, not yet renamed.
    RollupBeforeRename,
}

impl Point {
    /// All failpoints, for scripts choosing one at random and for docs.
    pub const ALL: [Point; 10] = [
        Point::WalAfterWrite,
        Point::WalAfterSync,
        Point::CheckpointBeforeRename,
        Point::CheckpointAfterRename,
        Point::BlockBeforeRename,
        Point::BlockAfterRename,
        Point::HeadCutBeforeCheckpoint,
        Point::CompactionBeforeDelete,
        Point::CompactionMidDelete,
        Point::RollupBeforeRename,
    ];

    /// The name used in `STRATA_FAILPOINTS`.
    pub fn name(self) -> &'static str {
        match self {
            Point::WalAfterWrite => "wal.after_write",
            Point::WalAfterSync => "wal.after_sync",
            Point::CheckpointBeforeRename => "checkpoint.before_rename",
            Point::CheckpointAfterRename => "checkpoint.after_rename",
            Point::BlockBeforeRename => "block.before_rename",
            Point::BlockAfterRename => "block.after_rename",
            Point::HeadCutBeforeCheckpoint => "head_cut.before_checkpoint",
            Point::CompactionBeforeDelete => "compaction.before_delete",
            Point::CompactionMidDelete => "compaction.mid_delete",
            Point::RollupBeforeRename => "rollup.before_rename",
        }
    }

    fn from_name(name: &str) -> Option<Point> {
        Point::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Armed points: the hit on which each aborts, and how often each was reached so far.
#[derive(Debug, Default)]
struct Armed {
    abort_on: HashMap<Point, u64>,
    hits: Mutex<HashMap<Point, u64>>,
}

/// 0 = not read yet, 1 = nothing armed, 2 = something armed.
static STATE: AtomicU8 = AtomicU8::new(0);
static ARMED: OnceLock<Armed> = OnceLock::new();

/// Marks a failpoint; aborts the process if it is armed and this is its count-th hit.
#[inline]
pub fn hit(point: Point) {
    if STATE.load(Ordering::Relaxed) == 1 {
        return;
    }
    hit_slow(point);
}

#[cold]
fn hit_slow(point: Point) {
    let armed = ARMED.get_or_init(|| {
        let armed = std::env::var(ENV).map(|spec| parse(&spec)).unwrap_or_else(|_| Ok(Armed::default()));
        let armed = armed.unwrap_or_else(|e| {
            // A typo must not silently test nothing: say so once and arm nothing.
            eprintln!("strata: {ENV} ignored: {e}");
            Armed::default()
        });
        STATE.store(if armed.abort_on.is_empty() { 1 } else { 2 }, Ordering::Relaxed);
        armed
    });
    let Some(&abort_on) = armed.abort_on.get(&point) else { return };
    let mut hits = armed.hits.lock().unwrap_or_else(|e| e.into_inner());
    let n = hits.entry(point).or_insert(0);
    *n += 1;
    if *n == abort_on {
        eprintln!("strata: failpoint {} reached (hit {n}); aborting", point.name());
        std::process::abort();
    }
}

/// Parses `name=count[,name=count…]`; an unknown name or a count that is not a positive
/// integer is an error naming it.
fn parse(spec: &str) -> Result<Armed, String> {
    let mut armed = Armed::default();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, count) = item.split_once('=').unwrap_or((item, "1"));
        let point = Point::from_name(name.trim()).ok_or_else(|| {
            let known: Vec<_> = Point::ALL.iter().map(|p| p.name()).collect();
            format!("unknown failpoint {name:?} (known: {})", known.join(", "))
        })?;
        let count: u64 = count
            .trim()
            .parse()
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| format!("failpoint {name}: count {count:?} is not a positive integer"))?;
        armed.abort_on.insert(point, count);
    }
    Ok(armed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in Point::ALL {
            assert_eq!(Point::from_name(p.name()), Some(p));
            assert!(seen.insert(p.name()), "{} twice", p.name());
        }
    }

    #[test]
    fn parses_counts_and_defaults_to_the_first_hit() {
        let armed = parse("wal.after_write=3, compaction.before_delete").unwrap();
        assert_eq!(armed.abort_on[&Point::WalAfterWrite], 3);
        assert_eq!(armed.abort_on[&Point::CompactionBeforeDelete], 1);
        assert_eq!(armed.abort_on.len(), 2);
        assert!(parse("").unwrap().abort_on.is_empty());
    }

    #[test]
    fn bad_specs_name_what_is_wrong() {
        let e = parse("wal.after_wirte=1").unwrap_err();
        assert!(e.contains("unknown failpoint \"wal.after_wirte\"") && e.contains("wal.after_write"), "{e}");
        let e = parse("wal.after_write=0").unwrap_err();
        assert!(e.contains("count \"0\""), "{e}");
        let e = parse("wal.after_write=x").unwrap_err();
        assert!(e.contains("count \"x\""), "{e}");
    }

    #[test]
    fn unarmed_hits_return() {
        // The test process has no STRATA_FAILPOINTS (or the suite would abort): every
        // point is reached many times and nothing happens.
        if std::env::var_os(ENV).is_none() {
            for _ in 0..3 {
                for p in Point::ALL {
                    hit(p);
                }
            }
            assert_eq!(STATE.load(Ordering::Relaxed), 1);
        }
    }
}
