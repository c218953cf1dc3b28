//! What a tier looks like from outside: its settings, how far it is rolled up, its lag and
//! its size — the rows of `strata rollup status` and `/api/v1/status/rollups`.

use serde::{Deserialize, Serialize};

use crate::store::RollupStore;
use crate::tier::format_duration;

/// One tier's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierStatus {
    /// Resolution, keep and span as durations (`1m`, `30d` or `forever`, `4h`).
    pub resolution: String,
    pub keep: String,
    pub span: String,
    /// Windows ending in `(from, watermark]` are complete (ms).
    pub from: Option<i64>,
    pub watermark: Option<i64>,
    /// Wall-clock time of the last run that moved the watermark (ms).
    pub last_run: Option<i64>,
    /// Wall clock minus the watermark, seconds.
    pub lag_seconds: Option<f64>,
    pub segments: usize,
    pub bytes: u64,
}

impl RollupStore {
    /// Every tier's status at wall-clock time `now` (ms), finest first.
    pub fn tier_statuses(&self, now: i64) -> Vec<TierStatus> {
        let (bytes, segments) = (self.disk_bytes(), self.segment_counts());
        self.tiers()
            .list()
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let s = self.tier_state(i);
                TierStatus {
                    resolution: t.name(),
                    keep: t.keep.map_or("forever".into(), format_duration),
                    span: format_duration(t.span),
                    from: s.from,
                    watermark: s.watermark,
                    last_run: s.last_run,
                    lag_seconds: s.watermark.map(|w| (now - w) as f64 / 1000.0),
                    segments: segments[i],
                    bytes: bytes[i],
                }
            })
            .collect()
    }
}
