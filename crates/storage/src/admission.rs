//! Admission control for new series: a hook the head asks before it creates a series, under
//! the lock that serialises series creation, so a limit holds exactly under concurrent
//! writers (it may also be asked just before, without the lock: a refusal there stands,
//! since only a removal pass at a block cut makes room, and a write refused a moment before
//! one is as if it came a moment earlier; an admission is only taken under the lock).
//! Existing series are never asked about: their samples are always accepted. Series the
//! head removes (no samples left after a cut: `head/series_removal.rs`) are told to
//! [`SeriesAdmission::removed`], so active-series limits free up as series go.
//!
//! What is learnt from new series (tracking) is told per batch after the lock
//! ([`SeriesAdmission::learned`]): only a limit's own count is kept under it.
//!
//! The hook also hears of writes, sampled: every [`WRITE_SAMPLE_EVERY`]-th sample appended
//! names its series (outside every series lock), so write rates by series and metric can be
//! ranked at a cost per sample of one atomic add per batch.

use strata_model::Labels;

/// Decides whether a new series may be created.
pub trait SeriesAdmission: Send + Sync + std::fmt::Debug {
    /// Whether `labels` (not in the head) may become a series while the head holds
    /// `head_series` series; `Err` is the refusal's reason, naming the limit.
    fn admit(&self, labels: &Labels, head_series: usize) -> Result<(), String>;

    /// `labels` became a series (after `admit` said yes); the head now holds `head_series`.
    /// Called under the creation lock: keep it to what must be exact (a limit's count).
    fn created(&self, labels: &Labels, head_series: usize);

    /// The series one batch created, told once the creation lock is released (what is
    /// learnt from new series but need not be exact against concurrent writers: tracking),
    /// so appenders do not wait on it and it is paid once per batch, not per series; the
    /// head held `head_series` series just after. Ignored unless overridden.
    fn learned(&self, created: &[&Labels], head_series: usize) {
        let _ = (created, head_series);
    }

    /// These series left the head (a removal pass after a block cut, under the creation
    /// lock); it now holds `head_series`. Ignored unless overridden.
    fn removed(&self, removed: &[Labels], head_series: usize) {
        let _ = (removed, head_series);
    }

    /// Samples were appended: the series of one sample in every `weight` (see the module
    /// docs). Ignored unless overridden.
    fn written(&self, sampled: &[Labels], weight: u64) {
        let _ = (sampled, weight);
    }
}

/// One appended sample in this many is told to [`SeriesAdmission::written`].
pub const WRITE_SAMPLE_EVERY: u64 = 64;
