//! Parsing what clients send into samples: the Prometheus text exposition format and
//! OpenMetrics (`exposition`), Prometheus' protobuf exposition (`protobuf_exposition`), and
//! InfluxDB line protocol (`line_protocol`). Parsers work a
//! line at a time and never panic; an error names the line and column and what was wrong.
//! Batching and back-pressure for the server come with it (ARCHITECTURE.md, crates/ingest).

mod error;
pub mod exposition;
pub mod line_protocol;
pub mod prompb;
pub mod protobuf_exposition;

pub use error::ParseError;

/// One parsed sample: series, value and, if the line had one, its timestamp in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    /// The series (metric name in `__name__`).
    pub labels: strata_model::Labels,
    /// The value.
    pub value: f64,
    /// Milliseconds since the epoch, if given.
    pub timestamp: Option<i64>,
}
