//! Writing a time range of the head as a block, streamed: series by series in label order,
//! holding one series' samples at a time.
//!
//! Materializing the whole range first (every series' samples as `(i64, f64)` pairs, 16
//! bytes each) cost memory in proportion to the samples in the block, not to the series:
//! 100,000 series sampled every second make 720 million samples in a 2-hour block, 11.5 GB,
//! and the one-hour soak test (scripts/soak.sh) was OOM-killed at its first block cut. Now
//! the cut holds the labels of the series in the range plus one series' samples.

use std::path::Path;

use strata_model::Labels;

use super::{lock, Head};
use crate::block::{BlockBuilder, BlockStats};
use crate::StorageError;

impl Head {
    /// Writes the samples in `[from, to)` as a block under `parent`; `None` when there are
    /// none. The head is not changed.
    pub fn write_block(&self, parent: &Path, from: i64, to: i64) -> Result<Option<BlockStats>, StorageError> {
        let all = self.all_series();
        let last = to.saturating_sub(1);
        let mut members: Vec<(Labels, usize)> = Vec::new();
        for (i, (r, series)) in all.iter().enumerate() {
            if !lock(series).touches(from, last) {
                continue;
            }
            let labels = self.index.labels(*r).ok_or_else(|| {
                StorageError::Invalid(format!("head series {} has samples but no labels in the index", r.0))
            })?;
            members.push((labels, i));
        }
        members.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut builder: Option<BlockBuilder> = None;
        for (labels, i) in &members {
            let (samples, histograms) = {
                let m = lock(&all[*i].1);
                (m.samples_in(from, to)?, m.histograms_in(from, to)?)
            };
            if samples.is_empty() && histograms.is_empty() {
                continue;
            }
            let builder = match &mut builder {
                Some(b) => b,
                None => builder.insert(BlockBuilder::new(parent)?),
            };
            builder.add_series(labels, &samples, &histograms)?;
        }
        builder.map(|b| b.finish(Some((from, to)), None)).transpose()
    }
}
