//! Cardinality management (ARCHITECTURE.md: crates/cardinality): how many series there are
//! and who makes them, and limits on new ones.
//!
//! - `hll`: HyperLogLog distinct counts (precision 14, sparse first).
//! - `topk`: Space-Saving heavy hitters.
//! - `limits`: admission limits on new series (global, per selector, per hour and day).

pub mod hll;
pub mod limits;
pub mod topk;

pub use hll::HyperLogLog;
pub use limits::{LimitState, Limiter, Limits, SeriesLimit};
pub use topk::{HeavyHitter, SpaceSaving};
