//! `--memory-limit`: the server watches the memory the kernel cannot take back from it — its
//! anonymous and shared resident pages (`RssAnon` + `RssShmem`: the heap, stacks, buffers)
//! — once a second and sheds load in steps before the limit is reached, so it slows down
//! instead of being killed. Pages of mapped files (blocks, rollup segments) are left out:
//! they count in `VmRSS`, but the kernel drops them under pressure without harm, and a
//! server that had just answered a year-long query from mapped files read as nearly full
//! when the guard watched `VmRSS`.
//!
//! | pressure | entered at | left below | what the server does |
//! |---|---|---|---|
//! | normal | — | — | nothing |
//! | high | 85% of the limit | 80% | empties the ingest series caches; cuts the whole head into blocks (at most once a minute: its chunks leave memory); queries may read a tenth of `query-max-samples`, so the costliest fail with the sample-limit error |
//! | critical | 95% | 90% | all of high, and writes are refused with 503 + Retry-After (senders retry), queries with 503 |
//!
//! Nothing acknowledged is lost: a refused write was never acknowledged, and cutting the
//! head writes blocks before it drops anything. After a head cut, samples older than the
//! cut are refused as too old (as after any block cut).
//!
//! The default limit is 60% of the machine's memory or of the cgroup's `memory.max`,
//! whichever is smaller (VictoriaMetrics' `-memory.allowedPercent` default); `0` turns the
//! guard off. The level, the limit and the actions taken are in /metrics
//! (`strata_memory_*`) and /admin/status (`memory`).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the head may be cut for memory.
const FLUSH_EVERY: Duration = Duration::from_secs(60);

/// The pressure levels (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Pressure {
    Normal = 0,
    High = 1,
    Critical = 2,
}

impl Pressure {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Pressure::Normal => "normal",
            Pressure::High => "high",
            Pressure::Critical => "critical",
        }
    }

    fn from_u8(n: u8) -> Pressure {
        match n {
            0 => Pressure::Normal,
            1 => Pressure::High,
            _ => Pressure::Critical,
        }
    }

    /// The level after reading `rss` at level `self`, with the hysteresis of the table.
    pub(crate) fn next(self, rss: u64, limit: u64) -> Pressure {
        let percent = |p: u64| limit / 100 * p;
        match self {
            _ if rss >= percent(95) => Pressure::Critical,
            Pressure::Critical if rss >= percent(90) => Pressure::Critical,
            _ if rss >= percent(85) => Pressure::High,
            Pressure::Critical | Pressure::High if rss >= percent(80) => Pressure::High,
            _ => Pressure::Normal,
        }
    }
}

/// Percent of the limit from which every write reads resident memory itself.
const WATCH_FROM: u64 = 70;

/// What the guard did, for `strata_memory_pressure_actions_total{action}`.
pub(crate) const ACTIONS: [&str; 3] = ["caches_dropped", "head_cut", "writes_paused"];

/// See the module docs.
#[derive(Debug)]
pub(crate) struct MemoryGuard {
    /// Bytes; 0: off.
    limit: u64,
    level: AtomicU8,
    /// The latest resident-memory reading, bytes.
    last_rss: AtomicU64,
    actions: [AtomicU64; ACTIONS.len()],
    last_flush: Mutex<Option<Instant>>,
}

/// What the server should do after a check (the guard holds no server state itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Response {
    pub(crate) drop_caches: bool,
    pub(crate) cut_head: bool,
}

impl MemoryGuard {
    pub(crate) fn new(limit: u64) -> MemoryGuard {
        MemoryGuard {
            limit,
            level: AtomicU8::new(0),
            last_rss: AtomicU64::new(0),
            actions: Default::default(),
            last_flush: Mutex::new(None),
        }
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    pub(crate) fn level(&self) -> Pressure {
        Pressure::from_u8(self.level.load(Ordering::Relaxed))
    }

    pub(crate) fn action_counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ACTIONS.iter().zip(&self.actions).map(|(name, n)| (*name, n.load(Ordering::Relaxed)))
    }

    /// Takes a reading of `rss`; returns what to do now.
    pub(crate) fn observe(&self, rss: u64) -> Response {
        if self.limit == 0 {
            return Response::default();
        }
        self.last_rss.store(rss, Ordering::Relaxed);
        let before = self.level();
        let now = before.next(rss, self.limit);
        self.level.store(now as u8, Ordering::Relaxed);
        if now != before {
            tracing::warn!(
                rss,
                limit = self.limit,
                from = before.name(),
                to = now.name(),
                "memory pressure changed"
            );
        }
        if now == Pressure::Critical && before != Pressure::Critical {
            self.count("writes_paused");
        }
        if now < Pressure::High {
            return Response::default();
        }
        let mut last = self.last_flush.lock().unwrap_or_else(|e| e.into_inner());
        let cut_head = last.is_none_or(|at| at.elapsed() >= FLUSH_EVERY);
        if cut_head {
            *last = Some(Instant::now());
            self.count("head_cut");
        }
        let drop_caches = before < Pressure::High || cut_head;
        if drop_caches {
            self.count("caches_dropped");
        }
        Response { drop_caches, cut_head }
    }

    /// Whether writes are refused now. Under high pressure — and near it, once the last
    /// reading passed [`WATCH_FROM`] of the limit — each write reads RSS afresh instead of
    /// waiting for the next once-a-second reading: a burst of writes between two readings
    /// (four writers creating series) would otherwise overshoot the limit. Only the step to
    /// critical is taken here; the once-a-second reading takes the others and their actions.
    pub(crate) fn refusing_writes(&self) -> bool {
        let level = self.level();
        let near = self.last_rss.load(Ordering::Relaxed) >= self.limit / 100 * WATCH_FROM;
        if self.limit > 0 && (level == Pressure::High || (level == Pressure::Normal && near)) {
            if let Some(rss) = guarded_bytes() {
                self.last_rss.store(rss, Ordering::Relaxed);
                if level.next(rss, self.limit) == Pressure::Critical {
                    self.level.store(Pressure::Critical as u8, Ordering::Relaxed);
                    self.count("writes_paused");
                    tracing::warn!(rss, limit = self.limit, "memory pressure changed to critical");
                    return true;
                }
                return false;
            }
        }
        level == Pressure::Critical
    }

    /// The share of `query-max-samples` a query may read now (1 normally).
    pub(crate) fn query_samples_divisor(&self) -> usize {
        if self.level() >= Pressure::High {
            10
        } else {
            1
        }
    }

    fn count(&self, action: &str) {
        if let Some(i) = ACTIONS.iter().position(|a| *a == action) {
            self.actions[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The default limit: 60% of the smaller of the machine's memory and the cgroup's limit.
pub(crate) fn default_limit() -> u64 {
    let machine = meminfo_total().unwrap_or(0);
    let cgroup = cgroup_limit().unwrap_or(u64::MAX);
    machine.min(cgroup) / 100 * 60
}

/// `MemTotal` of /proc/meminfo, bytes.
fn meminfo_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 =
        text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// The cgroup's memory limit (v2 `memory.max`, else v1 `memory.limit_in_bytes`), if any.
fn cgroup_limit() -> Option<u64> {
    ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find_map(|text| text.trim().parse::<u64>().ok())
}

/// The process's resident memory (`VmRSS`, mapped files included), bytes: what status
/// pages report.
pub(crate) fn resident_bytes() -> Option<u64> {
    status_bytes(&["VmRSS:"])
}

/// What the guard watches: anonymous and shared resident memory, bytes (see the module
/// docs).
pub(crate) fn guarded_bytes() -> Option<u64> {
    status_bytes(&["RssAnon:", "RssShmem:"])
}

/// The sum of these `/proc/self/status` fields (each in kB).
fn status_bytes(fields: &[&str]) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mut total = 0;
    for field in fields {
        let value = status.lines().find_map(|l| l.strip_prefix(field))?;
        total += value.split_whitespace().next()?.parse::<u64>().ok()? * 1024;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rise_at_85_and_95_percent_and_fall_with_hysteresis() {
        use Pressure::*;
        let limit = 1000;
        let walk = [
            (700, Normal),
            (850, High),
            (820, High),
            (790, Normal),
            (960, Critical),
            (920, Critical),
            (890, High),
            (950, Critical),
            (100, Normal),
        ];
        let mut level = Normal;
        for (rss, expected) in walk {
            level = level.next(rss, limit);
            assert_eq!(level, expected, "at {rss}");
        }
    }

    #[test]
    fn the_guard_sheds_in_steps_and_cuts_the_head_at_most_once_a_minute() {
        // A limit far above this process's real RSS, which refusing_writes reads.
        let limit = 1u64 << 50;
        let at = |percent: u64| limit / 100 * percent;
        let guard = MemoryGuard::new(limit);
        assert_eq!(guard.observe(at(50)), Response::default());
        assert_eq!(guard.observe(at(90)), Response { drop_caches: true, cut_head: true });
        assert_eq!(guard.query_samples_divisor(), 10);
        assert!(!guard.refusing_writes());
        assert_eq!(
            guard.observe(at(90)),
            Response { drop_caches: false, cut_head: false },
            "within the minute"
        );
        guard.observe(at(99));
        assert!(guard.refusing_writes());
        guard.observe(at(10));
        assert!(!guard.refusing_writes());
        assert_eq!(guard.query_samples_divisor(), 1);
        let counts: Vec<_> = guard.action_counts().collect();
        assert_eq!(counts, vec![("caches_dropped", 1), ("head_cut", 1), ("writes_paused", 1)]);
        let off = MemoryGuard::new(0);
        assert_eq!(off.observe(u64::MAX), Response::default());
        assert!(!off.refusing_writes());
    }

    #[test]
    fn under_high_pressure_a_write_reads_rss_afresh() {
        // Limit just above the real RSS: at high pressure, the fresh reading is critical.
        let rss = guarded_bytes().unwrap();
        let guard = MemoryGuard::new(rss / 98 * 100);
        guard.level.store(Pressure::High as u8, Ordering::Relaxed);
        assert!(guard.refusing_writes());
        assert_eq!(guard.level(), Pressure::Critical);
    }

    #[test]
    fn the_default_limit_is_a_share_of_real_memory_and_rss_is_read() {
        let limit = default_limit();
        assert!(limit > 0 && limit < meminfo_total().unwrap());
        assert!(resident_bytes().unwrap() > 0);
    }

    /// Pages of a mapped file raise `VmRSS` but not what the guard watches.
    #[test]
    fn mapped_file_pages_are_not_guarded_memory() {
        // Beside the sources, not in /tmp: a file on tmpfs is shared memory, which the guard
        // rightly counts (the kernel cannot drop it).
        let mut file = tempfile::tempfile_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        std::io::Write::write_all(&mut file, &vec![7u8; 128 << 20]).unwrap();
        let (rss, guarded, shmem) =
            (resident_bytes().unwrap(), guarded_bytes().unwrap(), status_bytes(&["RssShmem:"]).unwrap());
        // SAFETY: a private temporary file nobody else changes while it is mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        let touched: u64 = map.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(touched, 7 * (128 << 20) / 4096);
        if status_bytes(&["RssShmem:"]).unwrap() > shmem + (64 << 20) {
            eprintln!("SKIPPED: the source tree is on tmpfs, so a mapped file there is shared memory");
            return;
        }
        let rss_grew = resident_bytes().unwrap().saturating_sub(rss);
        let guarded_grew = guarded_bytes().unwrap().saturating_sub(guarded);
        assert!(rss_grew >= 96 << 20, "VmRSS grew by {rss_grew}");
        // Other tests of this binary allocate meanwhile; a quarter of the file is far above that.
        assert!(guarded_grew < rss_grew / 4, "guarded memory grew by {guarded_grew} (VmRSS by {rss_grew})");
    }
}
