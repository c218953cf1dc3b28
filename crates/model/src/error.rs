//! Errors of the data model. Every variant names the offending input.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// What was wrong with a label set, a name, a matcher or a series key.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// A label name was the empty string.
    #[error("label name is empty (value {value:?})")]
    EmptyLabelName {
        /// The value that came with the empty name.
        value: String,
    },
    /// A label name broke the naming rules of the chosen validation scheme.
    #[error("invalid label name {name:?}: {reason}")]
    InvalidLabelName {
        /// The rejected name.
        name: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// A metric name broke the naming rules of the chosen validation scheme.
    #[error("invalid metric name {name:?}: {reason}")]
    InvalidMetricName {
        /// The rejected name.
        name: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// The same label name appeared twice in one label set.
    #[error("duplicate label name {name:?}")]
    DuplicateLabelName {
        /// The repeated name.
        name: String,
    },
    /// A regular expression in a matcher did not compile.
    #[error("invalid regular expression {pattern:?} for label {name:?}: {reason}")]
    InvalidRegex {
        /// The label the matcher applies to.
        name: String,
        /// The pattern as given.
        pattern: String,
        /// The regex engine's complaint.
        reason: String,
    },
    /// A textual series key could not be parsed.
    #[error("invalid series key {key:?} at byte {position}: {reason}")]
    InvalidSeriesKey {
        /// The key as given.
        key: String,
        /// Byte offset of the problem.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
}
