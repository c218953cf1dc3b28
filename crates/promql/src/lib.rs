//! PromQL for Strata (ARCHITECTURE.md, decision 5): expressions parsed by the
//! `promql-parser` crate, evaluated by our own engine over a `Queryable`, and checked
//! against Prometheus' own conformance scripts.
//!
//! So far: [`parse`] (the `promql-parser` crate), [`Queryable`], what the engine reads (every storage engine is one, and
//! [`MemoryQueryable`] for tests), and `testscript`, the reader of Prometheus' `.test`
//! script format (loads, clears, evals with their expectations, the series value notation)
//! with the loader that plays a script's loads into a store. The evaluator and the runner
//! that checks evals come next (PromQL engine issue).

mod parse;
mod queryable;
pub mod testscript;

pub use parse::{parse, Expr, ParseError};
pub use queryable::{MemoryQueryable, Queryable};
