//! [`Wal`]: appending records durably, with group commit.
//!
//! `append` encodes its records, frames them into the current segment's pages and writes
//! them with one `write` under the state mutex (short: no fsync happens under it). It then
//! returns as the policy promises:
//! - `None`: at once (in the OS's buffers only; a machine crash can lose it — unsafe);
//! - `Sync`: after an fsync that covers its bytes. The first appender to need a sync
//!   becomes the leader: it fsyncs outside the lock while later appenders keep writing, and
//!   everyone whose bytes that fsync covered returns; the rest wait for the next one. So
//!   concurrent appenders share fsyncs (group commit);
//! - `Batch` (the default): like `Sync`, but before each fsync the leader waits for the
//!   appenders already on their way (inside `append`, not yet written) to write too, up to
//!   `batch_wait` (default 2 ms): a busy log does fewer, larger fsyncs, and a lone writer
//!   waits for nobody.
//!
//! Any write or fsync error is returned, and the log is then failed: after a failed write
//! the segment may end in a partial record, and after a failed fsync the kernel may have
//! dropped pages it reported dirty. The next append first repairs it — truncates the
//! segment back to its last whole record, pads, fsyncs and starts a new segment — and goes
//! on only if that works (so a full disk stops writes until space returns, then they
//! resume without a restart). Not when the failure may have lost a series record (the
//! failed append held one, or a failed fsync covered one): the head already holds that
//! series, later samples would name it, and replay would drop them — then the log stays
//! failed until a restart replays it. Nothing written before the failure and not yet covered by a
//! good fsync is ever acknowledged ([`WalError::Failed`] for its waiters), since that fsync
//! would prove nothing about the pages the failed one may have lost.
//!
//! Segments rotate when the next record would not fit; the old one is padded to a page
//! boundary and fsynced first, and the directory is fsynced when a segment is created. A
//! newly opened log always starts a new segment after the last existing one.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::record::Record;
use crate::segment::{framed_len, list_segments, page_padding, scan, segment_name, write_fragments};
use crate::{Result, WalError};

/// How durable an acknowledged append is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// fsync before returning; concurrent appenders share fsyncs.
    Sync,
    /// Like `Sync`, with a bounded wait for more appenders before each fsync.
    Batch,
    /// No fsync: only in the operating system's buffers. Unsafe on a machine crash.
    None,
}

/// Settings of a [`Wal`].
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// A segment is cut before it would exceed this size (at least one page).
    pub segment_size: u64,
    /// Durability of an acknowledged append.
    pub policy: SyncPolicy,
    /// With `Batch`: how long a sync leader waits for others to join.
    pub batch_wait: Duration,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: 128 << 20,
            policy: SyncPolicy::Batch,
            batch_wait: Duration::from_millis(2),
        }
    }
}

/// Figures about the log's work so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Appends acknowledged.
    pub appends: u64,
    /// fsyncs done.
    pub fsyncs: u64,
    /// Bytes written.
    pub bytes: u64,
    /// The segment being written.
    pub segment: u32,
    /// Time spent in fsyncs of appends, in microseconds.
    pub fsync_micros: u64,
    /// fsyncs of appends that took at most each of [`FSYNC_BUCKETS_SECONDS`] (cumulative,
    /// the buckets of a Prometheus histogram).
    pub fsync_buckets: [u64; FSYNC_BUCKETS_SECONDS.len()],
}

/// Upper bounds (seconds) of the fsync latency buckets in [`WalStats`].
pub const FSYNC_BUCKETS_SECONDS: [f64; 10] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

impl WalStats {
    fn record_fsync(&mut self, took: Duration) {
        self.fsyncs += 1;
        self.fsync_micros += took.as_micros() as u64;
        let seconds = took.as_secs_f64();
        for (count, bound) in self.fsync_buckets.iter_mut().zip(FSYNC_BUCKETS_SECONDS) {
            if seconds <= bound {
                *count += 1;
            }
        }
    }
}

#[derive(Debug)]
struct State {
    segment: u32,
    file: Arc<File>,
    /// Bytes in the current segment.
    size: u64,
    /// Bytes used in the current page.
    page_offset: usize,
    /// Sequence number of the last append written, and of the last one an fsync covered.
    written: u64,
    synced: u64,
    syncing: bool,
    failed: Option<String>,
    /// Appends with sequence numbers in `(abandoned_from, abandoned_through]` were written
    /// before a failure and not known to be durable: they are never acknowledged, whatever
    /// later fsyncs report.
    abandoned_from: u64,
    abandoned_through: u64,
    abandoned_reason: String,
    /// Writes still to fail (a failpoint for tests: each writes half its bytes, then fails).
    injected_failures: u32,
    /// A series record was written that no fsync has covered yet.
    series_unsynced: bool,
    /// A failure may have lost a series record: the head holds series the log may not, so
    /// the log stays failed until a restart replays it (no repair).
    series_lost: bool,
    stats: WalStats,
    buf: Vec<u8>,
}

/// The write-ahead log of one directory; see the module docs. Thread-safe.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    state: Mutex<State>,
    changed: Condvar,
    /// Appenders inside `append` that have not finished writing yet.
    in_flight: AtomicUsize,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WalError {
    let path = path.to_path_buf();
    move |source| WalError::Io { op, path, source }
}

/// A crash mid-write leaves the last segment ending in a partial record; writing on in a
/// new segment would turn that tail into damage in the middle, so cut it off first. Damage
/// with valid records after it is left alone for replay to report.
fn truncate_torn_tail(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(io("reading", path))?;
    let scanned = scan(&bytes);
    if let (Some(_), false) = (scanned.corruption, scanned.valid_after_corruption) {
        let file = OpenOptions::new().write(true).open(path).map_err(io("opening", path))?;
        file.set_len(scanned.valid_len).and_then(|()| file.sync_all()).map_err(io("truncating", path))?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("syncing directory", dir))
}

impl Wal {
    /// Opens the log in `dir` (created if missing) for appending, in a new segment.
    pub fn open(dir: &Path, options: WalOptions) -> Result<Wal> {
        std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
        let segments = list_segments(dir)?;
        if let Some((_, last)) = segments.last() {
            truncate_torn_tail(last)?;
        }
        let next = segments.last().map_or(0, |(n, _)| n + 1);
        let file = Self::create_segment(dir, next)?;
        let state = State {
            segment: next,
            file: Arc::new(file),
            size: 0,
            page_offset: 0,
            written: 0,
            synced: 0,
            syncing: false,
            failed: None,
            abandoned_from: 0,
            abandoned_through: 0,
            abandoned_reason: String::new(),
            injected_failures: 0,
            series_unsynced: false,
            series_lost: false,
            stats: WalStats { segment: next, ..WalStats::default() },
            buf: Vec::new(),
        };
        Ok(Wal {
            dir: dir.to_path_buf(),
            options,
            state: Mutex::new(state),
            changed: Condvar::new(),
            in_flight: AtomicUsize::new(0),
        })
    }

    fn create_segment(dir: &Path, n: u32) -> Result<File> {
        let path = dir.join(segment_name(n));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io("creating segment", &path))?;
        sync_dir(dir)?;
        Ok(file)
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic under the lock leaves at worst a partial write, which recovery handles.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `records`; returns once they are as durable as the policy promises.
    pub fn append(&self, records: &[Record]) -> Result<()> {
        self.append_waiting(records, true)
    }

    /// Appends `records` without waiting for them to be durable, whatever the policy; a
    /// later [`Wal::sync`] makes them so. For writers that acknowledge many small appends at
    /// once (the rule engine syncs once per group evaluation).
    pub fn append_unsynced(&self, records: &[Record]) -> Result<()> {
        self.append_waiting(records, false)
    }

    fn append_waiting(&self, records: &[Record], wait: bool) -> Result<()> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
        let written = match st.failed.clone() {
            Some(failure) => match self.repair(&mut st, &failure) {
                Ok(()) => self.write_locked(&mut st, records),
                Err(WalError::Failed(why)) => Err(WalError::Failed(why)),
                Err(_) => Err(WalError::Failed(failure)),
            },
            None => self.write_locked(&mut st, records),
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let seq = match written {
            Ok(seq) => seq,
            Err(e @ WalError::Failed(_)) => return Err(e),
            Err(e) => {
                st.failed = Some(e.to_string());
                st.series_lost |= records.iter().any(|r| matches!(r, Record::Series(_)));
                self.changed.notify_all();
                return Err(e);
            }
        };
        self.changed.notify_all();
        match self.options.policy {
            SyncPolicy::Sync | SyncPolicy::Batch if wait => self.wait_durable(st, seq),
            _ => {
                st.stats.appends += 1;
                Ok(())
            }
        }
    }

    /// After a failure: truncates the segment to its last whole record (a failed write may
    /// have left part of one), pads it, fsyncs it and starts a new segment; appends written
    /// before the failure and not yet durable are abandoned. The log stays failed if any
    /// step fails (the disk still full, say).
    fn repair(&self, st: &mut State, failure: &str) -> Result<()> {
        if st.series_lost {
            // Samples logged from now on could name a series whose record is gone.
            return Err(WalError::Failed(format!(
                "{failure}; a series record may be lost: restart to replay the log"
            )));
        }
        let path = self.dir.join(segment_name(st.segment));
        st.file.set_len(st.size).map_err(io("truncating", &path))?;
        st.page_offset = (st.size % crate::segment::PAGE_SIZE as u64) as usize;
        self.rotate(st)?;
        st.abandoned_from = st.synced;
        st.abandoned_through = st.written;
        st.abandoned_reason = failure.to_string();
        st.failed = None;
        Ok(())
    }

    fn write_locked(&self, st: &mut State, records: &[Record]) -> Result<u64> {
        /// Bytes of the write buffer kept between writes.
        const KEPT_BUFFER: usize = 256 << 10;
        let mut buf = std::mem::take(&mut st.buf);
        buf.clear();
        let mut payload = Vec::new();
        for record in records {
            payload.clear();
            record.encode(&mut payload);
            let need = framed_len(payload.len(), st.page_offset) as u64;
            if st.size + buf.len() as u64 + need > self.options.segment_size && st.size + buf.len() as u64 > 0
            {
                self.flush(st, &buf)?;
                buf.clear();
                self.rotate(st)?;
            }
            write_fragments(&mut buf, &mut st.page_offset, &payload);
        }
        self.flush(st, &buf)?;
        strata_failpoint::hit(strata_failpoint::Point::WalAfterWrite);
        st.series_unsynced |= records.iter().any(|r| matches!(r, Record::Series(_)));
        // Kept for the next write, but not at the size of the largest write ever (a replay's
        // or an import's series records can be megabytes; the head's memory accounting
        // would not see them).
        buf.shrink_to(KEPT_BUFFER);
        st.buf = buf;
        st.written += 1;
        Ok(st.written)
    }

    fn flush(&self, st: &mut State, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(segment_name(st.segment));
        if st.injected_failures > 0 {
            st.injected_failures -= 1;
            let _ = (&*st.file).write_all(&bytes[..bytes.len() / 2]);
            return Err(io("writing", &path)(std::io::Error::other("injected failure (a torn write)")));
        }
        (&*st.file).write_all(bytes).map_err(io("writing", &path))?;
        st.size += bytes.len() as u64;
        st.stats.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Pads and fsyncs the current segment, then starts the next.
    fn rotate(&self, st: &mut State) -> Result<()> {
        let pad = vec![0u8; page_padding(st.page_offset)];
        self.flush(st, &pad)?;
        let path = self.dir.join(segment_name(st.segment));
        st.file.sync_data().map_err(io("syncing", &path))?;
        st.stats.fsyncs += 1;
        // The number moves on only once the new segment exists: a failed create (a full
        // disk) must not leave a gap in the numbering for the repair to skip over.
        let next = st.segment + 1;
        st.file = Arc::new(Self::create_segment(&self.dir, next)?);
        st.segment = next;
        st.series_unsynced = false;
        st.size = 0;
        st.page_offset = 0;
        st.stats.segment = st.segment;
        Ok(())
    }

    fn wait_durable<'a>(&'a self, mut st: MutexGuard<'a, State>, seq: u64) -> Result<()> {
        loop {
            if seq > st.abandoned_from && seq <= st.abandoned_through {
                return Err(WalError::Failed(st.abandoned_reason.clone()));
            }
            if st.synced >= seq {
                st.stats.appends += 1;
                return Ok(());
            }
            if let Some(e) = &st.failed {
                return Err(WalError::Failed(e.clone()));
            }
            if st.syncing {
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.syncing = true;
            if self.options.policy == SyncPolicy::Batch {
                st = self.gather(st);
            }
            let (target, file, segment) = (st.written, Arc::clone(&st.file), st.segment);
            drop(st);
            let started = Instant::now();
            let result = file.sync_data();
            let took = started.elapsed();
            st = self.lock();
            st.syncing = false;
            match result {
                Ok(()) => {
                    strata_failpoint::hit(strata_failpoint::Point::WalAfterSync);
                    st.synced = st.synced.max(target);
                    st.stats.record_fsync(took);
                    if st.synced == st.written && st.segment == segment {
                        st.series_unsynced = false;
                    }
                }
                Err(e) => {
                    let path = self.dir.join(segment_name(segment));
                    st.failed = Some(format!("syncing {}: {e}", path.display()));
                    // The kernel may have dropped the unsynced pages, series records among them.
                    st.series_lost |= st.series_unsynced;
                }
            }
            self.changed.notify_all();
        }
    }

    /// Waits, up to `batch_wait`, while other appenders are on their way to write.
    fn gather<'a>(&self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let deadline = Instant::now() + self.options.batch_wait;
        while self.in_flight.load(Ordering::SeqCst) > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let (guard, timeout) =
                self.changed.wait_timeout(st, deadline - now).unwrap_or_else(|e| e.into_inner());
            st = guard;
            if timeout.timed_out() {
                break;
            }
        }
        st
    }

    /// Makes everything appended so far durable, whatever the policy.
    pub fn sync(&self) -> Result<()> {
        let st = self.lock();
        let (file, segment) = (Arc::clone(&st.file), st.segment);
        drop(st);
        file.sync_data().map_err(|source| WalError::Io {
            op: "syncing",
            path: self.dir.join(segment_name(segment)),
            source,
        })
    }

    /// Makes the next `n` writes fail after writing half their bytes, as a full disk or a
    /// failing device would (for tests of what follows a failure).
    #[doc(hidden)]
    pub fn inject_write_failures(&self, n: u32) {
        self.lock().injected_failures = n;
    }

    /// Figures so far.
    pub fn stats(&self) -> WalStats {
        self.lock().stats
    }

    /// Ends the current segment and starts a new one (e.g. before a checkpoint, so every
    /// earlier segment is closed); returns the number of the segment just closed.
    pub fn cut_segment(&self) -> Result<u32> {
        let mut st = self.lock();
        let closed = st.segment;
        self.rotate(&mut st)?;
        Ok(closed)
    }
}
