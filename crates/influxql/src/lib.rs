//! InfluxQL, so that InfluxDB 1.x users keep their dashboards: Grafana's InfluxDB data
//! source, the `influx` CLI and the client libraries query `/query` with it.
//!
//! The flow of a query:
//!
//! 1. [`parser::parse_query`] turns the text (several statements separated by `;`, bound
//!    parameters substituted) into [`ast::Statement`]s; a parse error reads as InfluxDB's.
//! 2. [`execute::execute`] runs each statement against a [`namespace::Store`] — the storage
//!    [`strata_storage::Engine`] plus the [`catalog::Catalog`] — and gives one
//!    [`result::StatementResult`] per statement.
//! 3. [`result::write_results`] writes InfluxDB 1.x's JSON.
//!
//! InfluxDB's data model is read back from Strata's labelled series as `namespace`
//! documents: databases and retention policies are labels, a (measurement, field) pair is a
//! metric whose pair the catalog remembers. Strata stores floats in milliseconds, so
//! integer fields come back as numbers, string fields not at all, and sub-millisecond
//! timestamps truncated (docs/influxql.md lists what is and is not supported).

pub mod ast;
mod cardinality;
pub mod catalog;
pub mod chunk;
pub mod condition;
pub mod continuous;
pub mod execute;
pub mod functions;
pub mod go_sort;
pub mod lexer;
pub mod msgpack;
pub mod namespace;
pub mod parser;
pub mod print;
pub mod result;
pub mod select;
pub mod stats;
pub mod time;
pub mod zone;

pub use catalog::{Catalog, CatalogError, FieldPair, Subscription};
pub use execute::execute;
pub use namespace::Store;
pub use parser::{parse_query, Params, ParseError};
pub use result::{write_results, StatementResult};
pub use select::Request;
