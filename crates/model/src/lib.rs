//! Strata's data model, shared by every other crate.
//!
//! A time series is identified by its [`Labels`]: a set of `name=value` pairs kept sorted
//! by name, so that `{host=a,region=b}` and `{region=b,host=a}` are one series. The metric
//! name is the `__name__` label (ARCHITECTURE.md, decision 2). A series holds [`Sample`]s:
//! `i64` milliseconds since the Unix epoch and an `f64` value (decision 1).
//!
//! [`Matcher`] selects series by label with Prometheus' semantics, and
//! [`Labels::stable_hash`] gives every series a 64-bit hash that is the same in every
//! process and on every machine (the cluster's hash ring depends on that).

pub mod calendar;
mod error;
pub mod gofmt;
pub mod gojson;
mod hash;
pub mod histogram;
pub mod kahan;
mod labels;
mod matcher;
mod name;
mod regex_cache;
mod sample;
mod series_key;
pub mod size;

pub use error::{ModelError, Result};
pub use hash::SeriesHash;
pub use histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramError, HistogramValue, Span};
pub use labels::{Label, Labels, METRIC_NAME_LABEL};
pub use matcher::{MatchOp, Matcher};
pub use name::{
    is_legacy_label_name, is_legacy_metric_name, validate_label_name, validate_metric_name, NameValidation,
};
/// A compiled regex for a full pattern (the caller anchors it), from the process-wide cache.
pub use regex_cache::compiled as compiled_regex;
pub use sample::{format_float, is_stale_marker, Sample, Timestamp, STALE_NAN_BITS};
