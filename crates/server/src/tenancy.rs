//! Which tenant a request is for, and what the server keeps per tenant (`--multi-tenant`;
//! the isolation itself is `strata_tenant`'s, docs/tenants.md the user's view).
//!
//! A request names its tenant with the `X-Scope-OrgID` header or a `/tenant/<id>/` URL
//! prefix (both: they must agree). Routes are of three kinds:
//!
//! | routes | one tenant (default) | `--multi-tenant` |
//! |---|---|---|
//! | writes, queries, series, labels, remote read, InfluxQL, delete_series | the whole store | a tenant is required (401 without); the request sees only that tenant |
//! | `/-/healthy`, `/-/ready`, `/ping`, buildinfo | open | a tenant may be named or not |
//! | everything else (status, cardinality, rules, snapshots, `/metrics`) | as always | about every tenant: naming one is refused (400) rather than answered for all |
//!
//! With a web config, `tenant_users` confines a user or token to its tenants: naming another,
//! or asking a route about the whole server, is 403.
//!
//! Per tenant the server keeps its series caches (a cache maps a request's raw series bytes
//! to a series ref, so it must never be shared: the same bytes name another tenant's
//! series), its InfluxQL catalog, its ingest rate bucket and its counters.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::{OriginalUri, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use strata_tenant::{RateLimiter, TenantId};

use crate::config::ConfigError;
use crate::json;
use crate::series_cache::SeriesCaches;
use crate::state::Shared;

/// The header naming a request's tenant (Mimir's, Cortex's, Loki's).
pub(crate) const TENANT_HEADER: &str = "x-scope-orgid";

/// The URL prefix naming a request's tenant, for clients that cannot set headers.
pub(crate) const TENANT_PREFIX: &str = "/tenant/";

/// The tenant a request is for (`None`: the whole store), set by [`resolve_tenant`].
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestTenant(pub(crate) Option<TenantId>);

/// The tenant of a request that went through [`resolve_tenant`].
pub(crate) fn tenant_of(request: &Request) -> Option<TenantId> {
    request.extensions().get::<RequestTenant>().and_then(|t| t.0.clone())
}

/// What a route is about (see the module docs' table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteScope {
    /// One tenant's data.
    Tenant,
    /// Neither (health, build info).
    Any,
    /// Every tenant's data or the server itself.
    Server,
}

/// The scope of a path (without a `/tenant/<id>` prefix).
pub(crate) fn route_scope(path: &str) -> RouteScope {
    const TENANT_ROUTES: [&str; 14] = [
        "/write",
        "/api/v2/write",
        "/api/v1/import/prometheus",
        "/api/v1/write",
        "/api/v1/otlp/v1/metrics",
        "/v1/metrics",
        "/api/v1/read",
        "/api/v1/query",
        "/query",
        "/api/v1/query_range",
        "/api/v1/series",
        "/api/v1/labels",
        "/api/v1/metadata",
        "/api/v1/admin/tsdb/delete_series",
    ];
    match path {
        "/-/healthy" | "/-/ready" | "/ping" | "/api/v1/status/buildinfo" => RouteScope::Any,
        // The web UI's pages and files hold no data: any tenant, or none.
        p if p.starts_with("/assets/") || strata_web::PAGES.contains(&p) => RouteScope::Any,
        p if p.starts_with("/api/v1/label/") && p.ends_with("/values") => RouteScope::Tenant,
        p if TENANT_ROUTES.contains(&p) => RouteScope::Tenant,
        _ => RouteScope::Server,
    }
}

/// A path's `/tenant/<id>` prefix split off: the tenant as written, and the route.
fn split_tenant_prefix(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(TENANT_PREFIX)?;
    Some(rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..])))
}

/// `path` without a `/tenant/<id>` prefix (the route it names).
pub(crate) fn without_tenant_prefix(path: &str) -> &str {
    split_tenant_prefix(path).map_or(path, |(_, route)| route)
}

/// The tenant named in a path's `/tenant/<id>/` prefix, as written.
pub(crate) fn tenant_in_path(path: &str) -> Option<&str> {
    split_tenant_prefix(path).map(|(tenant, _)| tenant)
}

/// Middleware: decides the request's tenant (see the module docs) and refuses what the
/// scope of its route does not allow.
pub(crate) async fn resolve_tenant(
    State(state): State<Shared>,
    mut request: Request,
    next: Next,
) -> Response {
    if !state.tenants.enabled() {
        request.extensions_mut().insert(RequestTenant(None));
        return next.run(request).await;
    }
    let original =
        request.extensions().get::<OriginalUri>().map_or_else(|| request.uri().clone(), |u| u.0.clone());
    let from_path = tenant_in_path(original.path()).map(str::to_string);
    let from_header = match request.headers().get(TENANT_HEADER).map(|v| v.to_str()) {
        None => None,
        Some(Ok(text)) => Some(text.trim().to_string()),
        Some(Err(_)) => return refuse(StatusCode::BAD_REQUEST, "X-Scope-OrgID is not visible ASCII"),
    };
    let named = match (from_path, from_header) {
        (Some(p), Some(h)) if p != h => {
            let message = format!("the URL names tenant {p:?} and X-Scope-OrgID names {h:?}");
            return refuse(StatusCode::BAD_REQUEST, &message);
        }
        (p, h) => p.or(h),
    };
    let tenant = match named.as_deref().map(TenantId::parse) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return refuse(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    // A caller `tenant_users` confines may name only its tenants, and nothing about all.
    let scope = route_scope(request.uri().path());
    if let Some(identity) = request.extensions().get::<strata_auth::Identity>() {
        let allowed = match (&tenant, scope) {
            (Some(t), _) => identity.may_use_tenant(t.as_str()),
            (None, RouteScope::Server) => identity.tenants.is_none(),
            (None, _) => true,
        };
        if !allowed {
            let what =
                tenant.as_ref().map_or_else(|| "the whole server".to_string(), |t| format!("tenant {t:?}"));
            let message = format!("{:?} may not ask about {what} (tenant_users)", identity.name);
            return refuse(StatusCode::FORBIDDEN, &message);
        }
    }
    match (scope, &tenant) {
        (RouteScope::Tenant, None) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "no tenant: this server is multi-tenant; send X-Scope-OrgID or use /tenant/<id>/ in the URL",
            )
        }
        (RouteScope::Server, Some(t)) => {
            let message = format!(
                "{} is about every tenant, not tenant {t:?}: ask it without X-Scope-OrgID or /tenant/",
                request.uri().path()
            );
            return refuse(StatusCode::BAD_REQUEST, &message);
        }
        _ => {}
    }
    request.extensions_mut().insert(RequestTenant(tenant));
    next.run(request).await
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let kind = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        _ => "bad_data",
    };
    (status, [("content-type", "application/json")], json::error(kind, message)).into_response()
}

/// What the server keeps per tenant.
#[derive(Debug)]
pub(crate) struct Tenants {
    enabled: bool,
    /// Where tenants' InfluxQL catalogs live (`DATA/influxql/tenants/<id>`).
    catalog_dir: PathBuf,
    cache_capacity: usize,
    /// The limiter's: how long a tenant's remembered refusals stand.
    refusal_epoch: Arc<strata_cardinality::RefusalEpoch>,
    caches: RwLock<HashMap<TenantId, Arc<SeriesCaches>>>,
    catalogs: RwLock<HashMap<TenantId, Arc<strata_influxql::Catalog>>>,
    pub(crate) rates: RateLimiter,
    counters: Mutex<BTreeMap<TenantId, TenantCounters>>,
}

/// A tenant's counters for `/metrics` and `/admin/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TenantCounters {
    pub(crate) samples_written: u64,
    pub(crate) samples_rate_limited: u64,
    pub(crate) samples_refused: u64,
}

impl Tenants {
    pub(crate) fn new(
        enabled: bool,
        data_dir: &std::path::Path,
        cache_capacity: usize,
        refusal_epoch: Arc<strata_cardinality::RefusalEpoch>,
    ) -> Tenants {
        Tenants {
            enabled,
            catalog_dir: data_dir.join("influxql").join("tenants"),
            cache_capacity,
            refusal_epoch,
            caches: RwLock::default(),
            catalogs: RwLock::default(),
            rates: RateLimiter::new(),
            counters: Mutex::default(),
        }
    }

    /// Whether the server is multi-tenant.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// The tenant's series caches (made on its first write).
    pub(crate) fn caches(&self, tenant: &TenantId) -> Arc<SeriesCaches> {
        if let Some(c) = self.caches.read().unwrap_or_else(|e| e.into_inner()).get(tenant) {
            return c.clone();
        }
        let mut caches = self.caches.write().unwrap_or_else(|e| e.into_inner());
        caches
            .entry(tenant.clone())
            .or_insert_with(|| Arc::new(SeriesCaches::new(self.cache_capacity, self.refusal_epoch.clone())))
            .clone()
    }

    /// Empties every tenant's caches (memory pressure, deletes).
    pub(crate) fn clear_caches(&self) {
        for c in self.caches.read().unwrap_or_else(|e| e.into_inner()).values() {
            c.clear();
        }
    }

    /// Bytes the tenants' caches hold.
    pub(crate) fn cache_bytes(&self) -> usize {
        self.caches.read().unwrap_or_else(|e| e.into_inner()).values().map(|c| c.heap_bytes()).sum()
    }

    /// The tenant's InfluxQL catalog (opened on first use).
    pub(crate) fn catalog(&self, tenant: &TenantId) -> Result<Arc<strata_influxql::Catalog>, ConfigError> {
        if let Some(c) = self.catalogs.read().unwrap_or_else(|e| e.into_inner()).get(tenant) {
            return Ok(c.clone());
        }
        let mut catalogs = self.catalogs.write().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = catalogs.get(tenant) {
            return Ok(c.clone());
        }
        // Tenant ids are safe as directory names (no '/', never "." or "..").
        let catalog = strata_influxql::Catalog::open(&self.catalog_dir.join(tenant.as_str()))
            .map_err(|e| ConfigError(format!("tenant {tenant}: InfluxQL catalog: {e}")))?;
        Ok(catalogs.entry(tenant.clone()).or_insert(Arc::new(catalog)).clone())
    }

    /// Notes what a write of the tenant did.
    pub(crate) fn count(&self, tenant: &TenantId, update: impl FnOnce(&mut TenantCounters)) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        // The id is copied once, at the tenant's first write, not on every write.
        match counters.get_mut(tenant) {
            Some(c) => update(c),
            None => update(counters.entry(tenant.clone()).or_default()),
        }
    }

    /// Every tenant's counters, by id.
    pub(crate) fn counters(&self) -> BTreeMap<TenantId, TenantCounters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Figures of every tenant that has series in memory or has written since the start,
    /// by id (none when the server is not multi-tenant).
    pub(crate) fn figures(&self, index: &strata_index::SeriesIndex) -> Vec<TenantFigures> {
        if !self.enabled {
            return Vec::new();
        }
        let mut counters = self.counters();
        for id in index.label_values(strata_tenant::TENANT_LABEL, &[]) {
            if let Ok(t) = TenantId::parse(&id) {
                counters.entry(t).or_default();
            }
        }
        counters
            .into_iter()
            .map(|(tenant, counters)| TenantFigures {
                active_series: index.series_count(strata_tenant::TENANT_LABEL, tenant.as_str()),
                ingest_rate_limit: self.rates.limit(&tenant).map(|r| r.per_second),
                tenant,
                counters,
            })
            .collect()
    }
}

/// What `/metrics` and `/admin/status` tell of a tenant.
#[derive(Debug, Clone)]
pub(crate) struct TenantFigures {
    pub(crate) tenant: TenantId,
    /// Its series in memory (the head's; every series of the TSM engine).
    pub(crate) active_series: u64,
    pub(crate) counters: TenantCounters,
    /// Samples a second it may write, when limited.
    pub(crate) ingest_rate_limit: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_have_the_scope_the_table_says() {
        for p in
            ["/api/v1/query", "/api/v1/label/job/values", "/write", "/api/v1/read", "/query", "/v1/metrics"]
        {
            assert_eq!(route_scope(p), RouteScope::Tenant, "{p}");
        }
        for p in ["/-/healthy", "/ping", "/api/v1/status/buildinfo"] {
            assert_eq!(route_scope(p), RouteScope::Any, "{p}");
        }
        for p in ["/metrics", "/api/v1/status/tsdb", "/api/v1/rules", "/api/v1/admin/tsdb/snapshot", "/nope"]
        {
            assert_eq!(route_scope(p), RouteScope::Server, "{p}");
        }
        assert_eq!(tenant_in_path("/tenant/acme/api/v1/query"), Some("acme"));
        assert_eq!(
            without_tenant_prefix("/tenant/{tenant}/api/v1/admin/tsdb/snapshot"),
            "/api/v1/admin/tsdb/snapshot"
        );
        assert_eq!(without_tenant_prefix("/tenant/acme/-/healthy"), "/-/healthy");
        assert_eq!(without_tenant_prefix("/api/v1/query"), "/api/v1/query");
        assert_eq!(tenant_in_path("/api/v1/query"), None);
    }
}
