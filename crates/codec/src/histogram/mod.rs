//! Native histogram chunks: Prometheus' block encodings 2 (integer histograms) and 3
//! (float histograms), bit for bit, so blocks with histograms move between Strata and
//! Prometheus like float blocks do. Byte tables: docs/format/histogram-chunk.md.
//!
//! A chunk holds samples that share one bucket *layout* (schema, zero threshold, spans,
//! custom bounds), written once before the first sample. The encoders decide, per sample,
//! what Prometheus' appenders decide, in a simpler way:
//! - a sample whose buckets the layout already covers is appended, its missing buckets
//!   written as zero counts (an absent bucket *is* a zero count);
//! - a sample with new buckets widens the layout: the chunk is re-encoded with the merged
//!   spans ([`Appended::Recoded`]) — rare, since a series' buckets settle quickly;
//! - a sample that cannot share the chunk is refused with the header its new chunk gets
//!   ([`Appended::Cut`]): a counter reset (any count going down, an explicit reset hint)
//!   gives `CounterReset`; another schema, zero threshold or custom bounds, a switch
//!   between gauge and counter histograms, or a sample after a stale marker gives
//!   `Unknown` (or `Gauge`).
//!
//! Cutting for size is the caller's policy; these types only say when a cut is required.

mod float;
mod integer;
mod layout;
mod xor_field;

pub use float::{FloatHistogramChunkEncoder, FloatHistogramChunkIter};
pub use integer::{HistogramChunkEncoder, HistogramChunkIter};
pub use layout::{CounterResetHeader, Layout, HEADER_LEN};

/// What happened to a sample given to a histogram chunk encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Appended to the chunk as it was.
    InPlace,
    /// Appended after the chunk was re-encoded with wider spans (its bytes changed).
    Recoded,
    /// Not appended: the sample needs a new chunk, which gets this header.
    Cut(CounterResetHeader),
}

#[cfg(test)]
mod tests;
