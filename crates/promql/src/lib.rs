//! PromQL for Strata (ARCHITECTURE.md, decision 5): expressions parsed by the
//! `promql-parser` crate, evaluated by our own engine over a [`Queryable`], and checked
//! against Prometheus' own conformance scripts.
//!
//! - [`QueryEngine`]: instant and range queries with Prometheus 3 semantics (module `eval`
//!   describes the design), limits (timeout, samples loaded, cancellation) and annotations.
//! - [`Queryable`]: what the engine reads; every storage engine is one, and
//!   [`MemoryQueryable`] serves tests.
//! - `duration_expr` works out duration arithmetic (`[5m+30s]`, `offset step()`) before
//!   parsing, which the parser does not read; `extended_selectors` moves the `anchored` and
//!   `smoothed` modifiers into their selectors, where the parser has no place for them, and
//!   `info_selector` lets the parser read `info()`'s selector (both on `query_tokens`).
//! - `native_histogram`: arithmetic, quantiles and the test notation of native histograms.
//! - `testscript` reads Prometheus' `.test` script format; `runner` plays scripts against
//!   the engine and checks every eval as Prometheus' harness does.

mod byte_escapes;
pub mod duration_expr;
mod engine;
mod eval;
mod extended_selectors;
mod go_float;
mod info_selector;
pub mod native_histogram;
mod parse;
mod query_tokens;
mod queryable;
pub mod runner;
pub mod testscript;
mod value;

pub use byte_escapes::go_quote;
pub use duration_expr::QueryBounds;
pub use engine::{EngineOptions, QueryEngine, QueryError, QueryResult, Range, RoutedSegment};
pub use extended_selectors::RangeModifier;
pub use parse::{parse, parse_metric_selector, Expr, ParseError, MAX_NESTING, MAX_OPERATORS};
pub use queryable::{MemoryQueryable, Queryable, WithRollups};
pub use strata_model::format_float;
pub use value::{RangeSeries, Sample, Value};
