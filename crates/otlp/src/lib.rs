//! OpenTelemetry metrics (OTLP) for Strata: what an OTLP exporter sends, as the Prometheus
//! series Prometheus 3's OTLP receiver would store for it.
//!
//! The crate is transport-free: [`body`] decodes OTLP/HTTP bodies (protobuf and JSON) and
//! encodes answers, [`translate`] turns an `ExportMetricsServiceRequest` into
//! [`Series`](translate::Series) (names by [`naming`], labels by [`attributes`]), and the
//! server wires both to `POST /api/v1/otlp/v1/metrics` and to the gRPC `MetricsService`.
//! The message types are `opentelemetry-proto`'s generated code (no `protoc` involved).
//!
//! Invariants: a request's data points are either translated or counted in
//! [`Translated::rejected`](translate::Translated) with a reason, never silently dropped
//! (exemplars, which Strata does not store, are counted apart); translation never panics
//! on any decoded message; names under an escaping strategy are valid classic Prometheus
//! names.

mod attributes;
pub mod body;
pub mod exponential;
pub mod naming;
pub mod translate;

pub use naming::NameStrategy;
pub use opentelemetry_proto::tonic::collector::metrics::v1 as collector;
pub use opentelemetry_proto::tonic::{common, metrics, resource};
pub use translate::{translate, Options, Series, Translated};
