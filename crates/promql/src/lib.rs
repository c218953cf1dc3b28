//! PromQL for Strata (ARCHITECTURE.md, decision 5): expressions parsed by the
//! `promql-parser` crate, evaluated by our own engine over a `Queryable`, and checked
//! against Prometheus' own conformance scripts.
//!
//! So far: `testscript`, the reader of Prometheus' `.test` script format (loads, clears,
//! evals with their expectations, the series value notation). The evaluator and the runner
//! that plays scripts against it come next (PromQL engine issue).

pub mod testscript;
