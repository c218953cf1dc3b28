//! PromQL for Strata (ARCHITECTURE.md, decision 5): expressions parsed by Strata's own
//! parser (crate `strata-promql-syntax`, Prometheus 3's grammar), evaluated by our own engine
//! over a [`Queryable`], and checked against Prometheus' own conformance scripts.
//!
//! - [`QueryEngine`]: instant and range queries with Prometheus 3 semantics (module `eval`
//!   describes the design), limits (timeout, samples loaded, cancellation) and annotations.
//! - [`Queryable`]: what the engine reads; every storage engine is one, and
//!   [`MemoryQueryable`] serves tests.
//! - [`QueryEngine::parse`] works out duration expressions (`[5m+30s]`, `offset step()`)
//!   for the query's step and range, and refuses the experimental constructs a server has
//!   not enabled.
//! - `native_histogram`: arithmetic, quantiles and the test notation of native histograms.
//! - `testscript` reads Prometheus' `.test` script format; `runner` plays scripts against
//!   the engine and checks every eval as Prometheus' harness does.

mod engine;
mod eval;
mod go_float;
mod go_quote;
pub mod native_histogram;
mod parse;
mod query_bounds;
mod queryable;
pub mod runner;
pub mod testscript;
mod value;

pub use engine::{EngineOptions, QueryEngine, QueryError, QueryResult, Range, RoutedSegment};
pub use go_quote::go_quote;
pub use parse::{parse, parse_metric_selector, Expr, ParseError, MAX_NESTING, MAX_OPERATORS};
pub use query_bounds::QueryBounds;
pub use queryable::{MemoryQueryable, Queryable, WithRollups};
pub use strata_model::format_float;
pub use strata_promql_syntax::ast;
pub use strata_promql_syntax::ast::RangeModifier;
pub use value::{RangeSeries, Sample, Value};
