//! Tenants on one node (`strata server --multi-tenant`; docs/tenants.md).
//!
//! A tenant is named per request — the `X-Scope-OrgID` header (Mimir's and Cortex's
//! convention) or a `/tenant/<id>/` URL prefix — and its data lives beside every other
//! tenant's in the one storage engine, told apart by a reserved label, [`TENANT_LABEL`]
//! (`__tenant__`), as VictoriaMetrics' single node tells accounts apart by a key prefix.
//! One engine means one WAL, one head and one compaction for all tenants: a thousand small
//! tenants cost what their series cost, not a thousand engines.
//!
//! Isolation is kept in one place, [`TenantEngine`], the `Engine` a tenant's request is
//! given instead of the real one:
//! - every write is tagged with the tenant's label (a series that carries the label itself
//!   is refused: the name is reserved);
//! - every read — select, label names and values, delete — is confined by an equality
//!   matcher on the label, ANDed to whatever the request asked (a request matching
//!   `__tenant__` itself can only narrow its own tenant to nothing);
//! - the label is taken off everything read back, so a tenant never sees it; series are
//!   sorted again after (removing a label can change their order).
//!
//! Rollups are read through [`TenantRollups`], which does the same. Per-tenant series
//! limits and retention are the engine's selector-based limits and retention rules over the
//! label (the server turns a tenant's settings into them); [`RateLimiter`] adds an ingest
//! rate per tenant.
//!
//! - [`id`]: what a tenant id may be;
//! - [`label`]: tagging, confining, stripping;
//! - [`engine`]: the confined engine;
//! - [`rollups`]: the confined rollup tiers;
//! - [`rate`]: per-tenant ingest rate limits.

pub mod engine;
pub mod id;
pub mod label;
pub mod rate;
pub mod rollups;

pub use engine::{EngineView, TenantEngine};
pub use id::{TenantError, TenantId};
pub use label::TENANT_LABEL;
pub use rate::{Rate, RateLimiter};
pub use rollups::TenantRollups;
