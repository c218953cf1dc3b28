//! Cardinality management (ARCHITECTURE.md: crates/cardinality): how many series there are
//! and who makes them, and limits on new ones.
//!
//! - `explorer`: counts over selected series in VictoriaMetrics' and Mimir's shapes.
//! - `forecast`: the series count N days ahead (least squares, linear or exponential).
//! - `hll`: HyperLogLog distinct counts (precision 14, sparse first).
//! - `topk`: Space-Saving heavy hitters.
//! - `limits`: admission limits on new series (global, per selector, per hour and day).
//! - `refusal_epoch`: how long a limit's refusal stands (what lets the ingest path remember it).
//! - `report`: the report (top contributors, label advice, limits, forecast) and its text.
//! - `tracker`: what new series tell: top metrics, distinct label values, churn, growth.
//! - `write_rate`: series and metrics by samples per second (sampled writes, top-k).

pub mod admission;
pub mod explorer;
pub mod forecast;
pub mod hll;
pub mod limits;
pub mod refusal_epoch;
pub mod report;
pub mod topk;
pub mod tracker;
pub mod write_rate;

pub use admission::Admission;
pub use forecast::{forecast, Forecast};
pub use hll::HyperLogLog;
pub use limits::{LimitState, Limiter, Limits, SeriesLimit};
pub use refusal_epoch::RefusalEpoch;
pub use topk::{HeavyHitter, SpaceSaving};
pub use tracker::{GrowthPoint, LabelCardinality, Tracker};
pub use write_rate::{WriteRate, WriteRates};
