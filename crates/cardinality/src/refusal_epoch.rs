//! How long a limit's refusal stands: until something could make room.
//!
//! A limit refuses a new series because a count is at its maximum. Counts of active series
//! only go down when the head removes series after a cut (`Limiter::removed`), and the
//! limits themselves only change on a reload; new-series-per-hour and per-day counts start
//! again when the hour (or day, which begins on an hour) turns. Between two such events
//! every series a limit refused would be refused again, so the ingest path may remember the
//! refusal by the request's raw bytes and skip decoding the labels and asking the head
//! (`strata_server`'s `refused_keys`): a cardinality explosion then costs a hash per
//! refused sample instead of a label decode, a head lookup and a limit check.
//!
//! A [`RefusalEpoch::stamp`] names the span between two such events: a counter the limiter
//! bumps on every removal and reload, and the current hour. A remembered refusal is good
//! only while the stamp it was made under is the stamp now, and it must be made under the
//! stamp read *before* the head was asked: a removal between the question and the answer
//! then leaves the refusal already out of date, never wrongly fresh.

use std::sync::atomic::{AtomicU64, Ordering};

const HOUR_MS: i64 = 3_600_000;

/// See the module docs.
#[derive(Debug)]
pub struct RefusalEpoch {
    events: AtomicU64,
    clock: fn() -> i64,
}

impl Default for RefusalEpoch {
    fn default() -> Self {
        RefusalEpoch::with_clock(crate::limits::wall_clock)
    }
}

impl RefusalEpoch {
    /// An epoch whose hours come from `clock` (ms): the limiter's own clock.
    pub fn with_clock(clock: fn() -> i64) -> Self {
        RefusalEpoch { events: AtomicU64::new(0), clock }
    }

    /// The span we are in: events so far in the high 32 bits, the hour in the low 32 (hours
    /// since 1970 fit in 32 bits for another 490,000 years).
    pub fn stamp(&self) -> u64 {
        let hour = (self.clock)().div_euclid(HOUR_MS) as u64 & 0xFFFF_FFFF;
        (self.events.load(Ordering::Acquire) << 32) | hour
    }

    /// Something made room (or may have): every refusal made before now is out of date.
    pub fn bump(&self) {
        self.events.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NOW: AtomicU64 = AtomicU64::new(0);

    fn clock() -> i64 {
        NOW.load(Ordering::Relaxed) as i64
    }

    #[test]
    fn the_stamp_changes_with_every_event_and_every_hour_and_only_then() {
        let epoch = RefusalEpoch::with_clock(clock);
        NOW.store(5 * HOUR_MS as u64, Ordering::Relaxed);
        let first = epoch.stamp();
        NOW.store(6 * HOUR_MS as u64 - 1, Ordering::Relaxed);
        assert_eq!(epoch.stamp(), first, "same hour, no event");
        epoch.bump();
        let bumped = epoch.stamp();
        assert_ne!(bumped, first);
        NOW.store(6 * HOUR_MS as u64, Ordering::Relaxed);
        assert_ne!(epoch.stamp(), bumped, "the hour turned");
    }
}
