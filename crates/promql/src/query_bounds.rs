//! The query's own step and range, what duration expressions' `step()` and `range()` read.

/// The query's own step and range (ms; 0 for an instant query).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryBounds {
    /// The step of a range query.
    pub step_ms: i64,
    /// `end − start` of a range query.
    pub range_ms: i64,
}
