//! Admission limits on new series (the head asks before it creates one, under its creation
//! lock — `strata_storage::SeriesAdmission` — so a limit holds exactly under concurrent
//! writers): a global limit on active series, limits on the active series a selector
//! matches (`series_limits = [{ match = 'http_requests_total', max = 10000 }]`), and limits
//! on new series per hour and per day. Series the head removes (nothing left after a cut)
//! leave the active counts. Samples of existing series are always accepted; a
//! refused new series gets a reason naming the limit, is counted per limit, and is logged
//! at most once per limit every 10 seconds. A refusal stands until the limiter's
//! [`RefusalEpoch`] moves on (a removal, a reload, a new hour), so the ingest path may
//! remember it and tell the limiter of each repeat ([`Limiter::refused_again`]).

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use strata_model::{Labels, Matcher};

use crate::refusal_epoch::RefusalEpoch;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const LOG_EVERY_MS: i64 = 10_000;

/// A limit on the active series a selector matches.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesLimit {
    /// The selector as written (names the limit in refusals and metrics).
    pub selector: String,
    pub matchers: Vec<Matcher>,
    pub max: u64,
}

/// Every limit; none set admits everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub max_series: Option<u64>,
    pub series_limits: Vec<SeriesLimit>,
    pub max_new_series_per_hour: Option<u64>,
    pub max_new_series_per_day: Option<u64>,
}

/// The state of one limit, for the report and `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitState {
    /// `max-series`, the selector, `new-series-per-hour` or `new-series-per-day`.
    pub limit: String,
    pub max: u64,
    pub current: u64,
    pub rejected_total: u64,
    /// Refusals in the last 60 minutes.
    pub rejected_last_hour: u64,
}

/// Counts in one-minute buckets over the last hour.
#[derive(Debug, Clone)]
struct LastHour([(i64, u64); 60]);

impl Default for LastHour {
    fn default() -> Self {
        LastHour([(i64::MIN, 0); 60])
    }
}

impl LastHour {
    fn add(&mut self, now: i64, n: u64) {
        let minute = now.div_euclid(60_000);
        let slot = &mut self.0[minute.rem_euclid(60) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += n;
    }

    fn total(&self, now: i64) -> u64 {
        let minute = now.div_euclid(60_000);
        self.0.iter().filter(|(m, _)| minute.saturating_sub(*m) < 60).map(|(_, n)| n).sum()
    }
}

#[derive(Debug, Default)]
struct Counts {
    /// Active series per `series_limits` entry.
    matched: Vec<u64>,
    hour: (i64, u64),
    day: (i64, u64),
    head_series: u64,
}

/// Admission control with the limits above.
#[derive(Debug)]
pub struct Limiter {
    limits: RwLock<Arc<Limits>>,
    counts: Mutex<Counts>,
    rejected: Mutex<BTreeMap<String, u64>>,
    rejected_recently: Mutex<BTreeMap<String, LastHour>>,
    last_logged: Mutex<BTreeMap<String, i64>>,
    /// The limit each refusal text names (for [`Limiter::refused_again`]); emptied on reload.
    limit_of_reason: Mutex<HashMap<String, String>>,
    epoch: Arc<RefusalEpoch>,
    clock: fn() -> i64,
}

pub(crate) fn wall_clock() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Limiter {
    /// A limiter; `count` gives the active series some matchers select now (the head's).
    pub fn new(limits: Limits, count: &dyn Fn(&[Matcher]) -> u64) -> Limiter {
        Limiter::with_clock(limits, count, wall_clock)
    }

    /// [`Limiter::new`] with a clock (ms), for tests.
    pub fn with_clock(limits: Limits, count: &dyn Fn(&[Matcher]) -> u64, clock: fn() -> i64) -> Limiter {
        let limiter = Limiter {
            limits: RwLock::new(Arc::new(Limits::default())),
            counts: Mutex::new(Counts::default()),
            rejected: Mutex::new(BTreeMap::new()),
            rejected_recently: Mutex::new(BTreeMap::new()),
            last_logged: Mutex::new(BTreeMap::new()),
            limit_of_reason: Mutex::new(HashMap::new()),
            epoch: Arc::new(RefusalEpoch::with_clock(clock)),
            clock,
        };
        limiter.reload(limits, count);
        limiter
    }

    /// Replaces the limits (SIGHUP, `/-/reload`), counting what they select now.
    pub fn reload(&self, limits: Limits, count: &dyn Fn(&[Matcher]) -> u64) {
        let matched = limits.series_limits.iter().map(|l| count(&l.matchers)).collect();
        let head_series = count(&[]);
        if let Ok(mut c) = self.counts.lock() {
            c.matched = matched;
            c.head_series = head_series;
        }
        *self.limits.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(limits);
        if let Ok(mut m) = self.limit_of_reason.lock() {
            m.clear();
        }
        self.epoch.bump();
    }

    /// The span in which this limiter's refusals stand (see `refusal_epoch`).
    pub fn epoch(&self) -> Arc<RefusalEpoch> {
        self.epoch.clone()
    }

    /// `series` more refusals with this reason, remembered by the ingest path rather than
    /// decided again: counted and logged as the first was. A reason this limiter never gave
    /// (a tenant's reserved label, say) is not its to count.
    pub fn refused_again(&self, reason: &str, series: u64) {
        let limit = self.limit_of_reason.lock().ok().and_then(|m| m.get(reason).cloned());
        if let Some(limit) = limit {
            self.count_refusals(&limit, reason, series);
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Refusals so far, by limit.
    pub fn rejected(&self) -> BTreeMap<String, u64> {
        self.rejected.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Each limit with its current count and refusals.
    pub fn states(&self) -> Vec<LimitState> {
        let limits = self.limits();
        let rejected = self.rejected();
        let now = (self.clock)();
        let recent = self.rejected_recently.lock().map(|r| r.clone()).unwrap_or_default();
        let Ok(mut c) = self.counts.lock() else { return Vec::new() };
        roll(&mut c, now);
        let state = |limit: &str, max: u64, current: u64| LimitState {
            limit: limit.to_string(),
            max,
            current,
            rejected_total: rejected.get(limit).copied().unwrap_or(0),
            rejected_last_hour: recent.get(limit).map_or(0, |r| r.total(now)),
        };
        let mut out = Vec::new();
        if let Some(max) = limits.max_series {
            out.push(state("max-series", max, c.head_series));
        }
        for (l, n) in limits.series_limits.iter().zip(&c.matched) {
            out.push(state(&l.selector, l.max, *n));
        }
        if let Some(max) = limits.max_new_series_per_hour {
            out.push(state("new-series-per-hour", max, c.hour.1));
        }
        if let Some(max) = limits.max_new_series_per_day {
            out.push(state("new-series-per-day", max, c.day.1));
        }
        out
    }

    fn refuse(&self, limit: &str, reason: String) -> Result<(), String> {
        if let Ok(mut m) = self.limit_of_reason.lock() {
            if !m.contains_key(&reason) {
                m.insert(reason.clone(), limit.to_string());
            }
        }
        self.count_refusals(limit, &reason, 1);
        Err(reason)
    }

    fn count_refusals(&self, limit: &str, reason: &str, series: u64) {
        let now = (self.clock)();
        if let Ok(mut r) = self.rejected.lock() {
            *r.entry(limit.to_string()).or_default() += series;
        }
        if let Ok(mut r) = self.rejected_recently.lock() {
            r.entry(limit.to_string()).or_default().add(now, series);
        }
        let due = self.last_logged.lock().is_ok_and(|mut l| {
            let last = l.entry(limit.to_string()).or_insert(i64::MIN);
            let due = now.saturating_sub(*last) >= LOG_EVERY_MS;
            if due {
                *last = now;
            }
            due
        });
        if due {
            eprintln!("{}", log_line(limit, reason));
        }
    }
}

/// One log line (structured enough to grep; the server's tracing is not reachable here).
fn log_line(limit: &str, reason: &str) -> String {
    format!("WARN strata_cardinality: new series refused limit={limit:?} reason={reason:?} (logged at most every 10 s per limit)")
}

/// The active-series counts of the `series_limits` whose selector matches `labels`.
fn matched_counts<'c>(
    limits: &'c Limits,
    c: &'c mut Counts,
    labels: &'c Labels,
) -> impl Iterator<Item = &'c mut u64> {
    let selected =
        limits.series_limits.iter().map(move |l| l.matchers.iter().all(|m| m.matches_labels(labels)));
    c.matched.iter_mut().zip(selected).filter_map(|(n, hit)| hit.then_some(n))
}

/// Starts a new hour or day when the clock has moved into one.
fn roll(c: &mut Counts, now: i64) {
    let (hour, day) = (now.div_euclid(HOUR_MS), now.div_euclid(DAY_MS));
    if c.hour.0 != hour {
        c.hour = (hour, 0);
    }
    if c.day.0 != day {
        c.day = (day, 0);
    }
}

impl Limiter {
    /// See `strata_storage::SeriesAdmission::admit`.
    pub fn admit(&self, labels: &Labels, head_series: usize) -> Result<(), String> {
        strata_storage::SeriesAdmission::admit(self, labels, head_series)
    }

    /// See `strata_storage::SeriesAdmission::created`.
    pub fn created(&self, labels: &Labels, head_series: usize) {
        strata_storage::SeriesAdmission::created(self, labels, head_series)
    }
}

impl strata_storage::SeriesAdmission for Limiter {
    fn admit(&self, labels: &Labels, head_series: usize) -> Result<(), String> {
        let limits = self.limits();
        let Ok(mut c) = self.counts.lock() else { return Ok(()) };
        c.head_series = head_series as u64;
        if let Some(max) = limits.max_series {
            if head_series as u64 >= max {
                drop(c);
                return self.refuse(
                    "max-series",
                    format!("new series refused: the limit of {max} active series (max-series) is reached"),
                );
            }
        }
        for (l, n) in limits.series_limits.iter().zip(&c.matched) {
            if *n >= l.max && l.matchers.iter().all(|m| m.matches_labels(labels)) {
                let (selector, max) = (l.selector.clone(), l.max);
                drop(c);
                return self.refuse(&selector, format!("new series refused: the limit of {max} active series for {selector} (series-limits) is reached"));
            }
        }
        roll(&mut c, (self.clock)());
        for (name, max, used) in [
            ("new-series-per-hour", limits.max_new_series_per_hour, c.hour.1),
            ("new-series-per-day", limits.max_new_series_per_day, c.day.1),
        ] {
            if let Some(max) = max {
                if used >= max {
                    drop(c);
                    return self.refuse(
                        name,
                        format!("new series refused: the limit of {max} new series ({name}) is reached"),
                    );
                }
            }
        }
        Ok(())
    }

    fn created(&self, labels: &Labels, head_series: usize) {
        let limits = self.limits();
        let Ok(mut c) = self.counts.lock() else { return };
        for n in matched_counts(&limits, &mut c, labels) {
            *n += 1;
        }
        roll(&mut c, (self.clock)());
        c.hour.1 += 1;
        c.day.1 += 1;
        c.head_series = head_series as u64;
    }

    /// Series the head removed (nothing left in it after a cut) leave the active counts, so
    /// a limit on active series frees up as series go; new-series-per-hour/day counts are
    /// of creations and stay.
    fn removed(&self, removed: &[Labels], head_series: usize) {
        let limits = self.limits();
        let Ok(mut c) = self.counts.lock() else { return };
        for labels in removed {
            for n in matched_counts(&limits, &mut c, labels) {
                *n = n.saturating_sub(1);
            }
        }
        c.head_series = head_series as u64;
        drop(c);
        if !removed.is_empty() {
            self.epoch.bump();
        }
    }
}
