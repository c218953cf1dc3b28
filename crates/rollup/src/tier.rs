//! Tiers: the resolutions rollups are kept at, how long each is kept, and how much time one
//! segment file of a tier covers.
//!
//! Invariants a tier list keeps (checked by [`Tiers::new`]): resolutions ascend and each
//! divides the next, so a coarser window is exactly a run of finer ones and is built from
//! them; a segment's span is a whole number of windows. Windows and spans are aligned to
//! the epoch: window `k` of resolution `r` is `(k·r, (k+1)·r]`.

use crate::RollupError;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// One tier; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Window length, ms.
    pub resolution: i64,
    /// How long its windows are kept, ms (`None`: forever).
    pub keep: Option<i64>,
    /// Time one segment file covers, ms (a multiple of the resolution). A span is rolled up
    /// once all of it is settled, so it is also how far a tier lags behind its source.
    pub span: i64,
}

impl Tier {
    /// A tier with the default span for its resolution: 240 windows, at most a day, at least
    /// one window (1m → 4h, 1h → 1d, 1d → 1d). The span is also how far the tier lags behind
    /// its source, and the finer tier answers the lagging part of a query, so a short span
    /// keeps queries on the coarse tier.
    pub fn new(resolution: i64, keep: Option<i64>) -> Tier {
        let windows = (DAY / resolution).clamp(1, 240);
        Tier { resolution, keep, span: resolution * windows }
    }

    /// The directory name of the tier: its resolution as Prometheus writes durations.
    pub fn name(&self) -> String {
        format_duration(self.resolution)
    }

    /// The start of the span holding window end `t` … i.e. the span `(start, start + span]`
    /// that contains time `t`.
    pub fn span_start(&self, t: i64) -> i64 {
        t.saturating_sub(1).div_euclid(self.span).saturating_mul(self.span)
    }

    /// The end of the window holding time `t`.
    pub fn window_end(&self, t: i64) -> i64 {
        t.saturating_sub(1)
            .div_euclid(self.resolution)
            .saturating_mul(self.resolution)
            .saturating_add(self.resolution)
    }
}

/// The tiers of a rollup store, finest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiers(Vec<Tier>);

impl Tiers {
    /// Checks the invariants in the module docs.
    pub fn new(mut tiers: Vec<Tier>) -> Result<Tiers, RollupError> {
        tiers.sort_by_key(|t| t.resolution);
        for t in &tiers {
            if t.resolution < 1000 {
                return Err(RollupError::Config(format!(
                    "rollup resolution {} is under a second",
                    format_duration(t.resolution)
                )));
            }
            if t.span <= 0 || t.span % t.resolution != 0 {
                return Err(RollupError::Config(format!(
                    "rollup tier {}: span {} is not a whole number of windows",
                    t.name(),
                    format_duration(t.span)
                )));
            }
            if t.keep.is_some_and(|k| k < t.span) {
                return Err(RollupError::Config(format!(
                    "rollup tier {}: kept {} is shorter than one segment ({})",
                    t.name(),
                    format_duration(t.keep.unwrap_or(0)),
                    format_duration(t.span)
                )));
            }
        }
        for pair in tiers.windows(2) {
            if pair[1].resolution % pair[0].resolution != 0 || pair[0].resolution == pair[1].resolution {
                return Err(RollupError::Config(format!(
                    "rollup resolution {} is not a multiple of {}: a coarser tier is built from whole windows of the finer one",
                    pair[1].name(),
                    pair[0].name()
                )));
            }
        }
        Ok(Tiers(tiers))
    }

    /// The seed's tiers: 1m kept 30d, 1h kept 1y, 1d forever (raw is kept by the storage
    /// engine's retention, 7d in the seed).
    pub fn seed_default() -> Tiers {
        Tiers(vec![Tier::new(MINUTE, Some(30 * DAY)), Tier::new(HOUR, Some(365 * DAY)), Tier::new(DAY, None)])
    }

    /// The tiers, finest first.
    pub fn list(&self) -> &[Tier] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `ms` as Prometheus writes a duration, in its largest exact unit (`1m`, `90s`, `1d`).
pub fn format_duration(ms: i64) -> String {
    const UNITS: [(&str, i64); 6] =
        [("y", 365 * DAY), ("w", 7 * DAY), ("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", 1000)];
    for (unit, len) in UNITS {
        if ms != 0 && ms % len == 0 {
            return format!("{}{unit}", ms / len);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spans_and_names() {
        let t = Tiers::seed_default();
        let spans: Vec<String> = t.list().iter().map(|t| format_duration(t.span)).collect();
        assert_eq!(spans, ["4h", "1d", "1d"]);
        let names: Vec<String> = t.list().iter().map(Tier::name).collect();
        assert_eq!(names, ["1m", "1h", "1d"]);
    }

    #[test]
    fn windows_are_left_open_and_aligned() {
        let t = Tier::new(MINUTE, None);
        assert_eq!(t.window_end(60_000), 60_000, "a sample at the end belongs to the window it ends");
        assert_eq!(t.window_end(60_001), 120_000);
        assert_eq!(t.window_end(-1), 0);
        assert_eq!(t.span_start(4 * HOUR), 0);
        assert_eq!(t.span_start(4 * HOUR + 1), 4 * HOUR);
        // The extremes saturate instead of overflowing (a query may ask for any range).
        assert!(t.span_start(i64::MIN) <= i64::MIN + 4 * HOUR);
        assert!(t.window_end(i64::MAX) >= i64::MAX - MINUTE);
    }

    #[test]
    fn inconsistent_tiers_are_refused_by_name() {
        let err = Tiers::new(vec![Tier::new(MINUTE, None), Tier::new(90 * 1000, None)]).unwrap_err();
        assert!(err.to_string().contains("90s is not a multiple of 1m"), "{err}");
        let err = Tiers::new(vec![Tier { resolution: MINUTE, keep: None, span: 90_000 }]).unwrap_err();
        assert!(err.to_string().contains("span 90s"), "{err}");
        let err = Tiers::new(vec![Tier::new(HOUR, Some(HOUR))]).unwrap_err();
        assert!(err.to_string().contains("shorter than one segment"), "{err}");
    }
}
