//! Access control on the HTTP listener, from `--web-config-file` (`strata_auth` reads the
//! file and checks credentials; this module decides which routes need what).
//!
//! | route | without a web config | with users or tokens configured |
//! |---|---|---|
//! | `/-/healthy`, `/-/ready`, `/ping` | open | open (probes and load balancers carry no credentials) |
//! | `/api/v1/admin/*`, `/-/reload`, `/cluster/*` (between nodes) | open | a name in `admin_users`, else 403 |
//! | everything else, unknown paths too | open | any configured user or token, else 401 |
//!
//! A 401 carries `WWW-Authenticate: Basic realm="strata"` and no data; each refusal counts in
//! `strata_http_auth_failures_total{reason}`. Credentials come from the `Authorization`
//! header (Basic or Bearer) or, for InfluxDB 1.x clients, from the `u` and `p` parameters.
//! The web config's `http_server_config.headers` are added to every answer, refusals too.
//!
//! OTLP gRPC exports need the same credentials (`authorization` metadata) when users or
//! tokens are configured; that listener has no TLS of its own yet.
//!
//! The users, tokens and headers are reloaded with the rules (`SIGHUP`, `POST /-/reload`); a
//! file that no longer parses keeps the running policy. TLS settings follow their files
//! (`strata_auth::TlsReloader`: checked for every new connection, at most once a second, and
//! on reload); only turning TLS on or off needs a restart.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use strata_auth::{Authenticator, Credentials, Denied, Identity, TlsReloader, WebConfig};

use crate::config::ConfigError;
use crate::state::Shared;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteClass {
    /// Health probes: never authenticated.
    Open,
    /// Reads and writes: any configured user or token.
    User,
    /// Admin endpoints: a name in `admin_users`.
    Admin,
}

/// The class of a request path (see the module docs' table); a multi-tenant server's
/// `/tenant/<id>` prefix (or axum's `/tenant/{tenant}` template of it) does not change it.
pub(crate) fn route_class(path: &str) -> RouteClass {
    let path = crate::tenancy::without_tenant_prefix(path);
    match path {
        "/-/healthy" | "/-/ready" | "/ping" => RouteClass::Open,
        "/-/reload" => RouteClass::Admin,
        p if p.starts_with("/api/v1/admin/") || p.starts_with("/cluster/") => RouteClass::Admin,
        _ => RouteClass::User,
    }
}

/// The policy in force: who may ask, and the headers every answer carries.
#[derive(Debug, Default)]
struct Policy {
    /// `None`: no users or tokens configured, every route open.
    authenticator: Option<Arc<Authenticator>>,
    headers: HeaderMap,
}

impl Policy {
    fn new(config: Option<&WebConfig>) -> Result<Policy, String> {
        let Some(config) = config else { return Ok(Policy::default()) };
        let mut headers = HeaderMap::new();
        for (name, value) in &config.http_server_config.headers {
            let name = HeaderName::try_from(name.as_str()).map_err(|e| format!("header {name:?}: {e}"))?;
            let value =
                HeaderValue::try_from(value.as_str()).map_err(|e| format!("header {name}'s value: {e}"))?;
            headers.insert(name, value);
        }
        let authenticator = config.auth_enabled().then(|| Arc::new(Authenticator::new(config)));
        Ok(Policy { authenticator, headers })
    }
}

/// The server's access policy, swapped whole on reload.
#[derive(Debug)]
pub(crate) struct Access {
    file: Option<PathBuf>,
    policy: RwLock<Arc<Policy>>,
    /// The TLS config when the file turns TLS on.
    tls: Option<Arc<TlsReloader>>,
}

impl Access {
    /// The policy of `file` (none: everything open). Runs bcrypt once: call it off the event loop.
    pub(crate) fn load(file: Option<PathBuf>) -> Result<Access, ConfigError> {
        let config = Self::load_config(file.as_ref())?;
        let policy = Self::policy(config.as_ref())?;
        let tls = match (&file, &config) {
            (Some(path), Some(web)) if web.tls_enabled() => {
                Some(Arc::new(TlsReloader::open(path).map_err(|e| ConfigError(format!("web config: {e}")))?))
            }
            _ => None,
        };
        Ok(Access { file, policy: RwLock::new(Arc::new(policy)), tls })
    }

    /// Reads the file again; on an error the running policy (and TLS config) stays.
    pub(crate) fn reload(&self) -> Result<(), ConfigError> {
        let policy = Self::read(self.file.as_ref())?;
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
        match &self.tls {
            Some(tls) => tls.reload().map_err(|e| ConfigError(format!("web config: TLS: {e}"))),
            None => Ok(()),
        }
    }

    /// The TLS config, when the web config turned TLS on at start.
    pub(crate) fn tls(&self) -> Option<Arc<TlsReloader>> {
        self.tls.clone()
    }

    /// Whether requests need credentials.
    pub(crate) fn auth_enabled(&self) -> bool {
        self.current().authenticator.is_some()
    }

    fn read(file: Option<&PathBuf>) -> Result<Policy, ConfigError> {
        Self::policy(Self::load_config(file)?.as_ref())
    }

    fn load_config(file: Option<&PathBuf>) -> Result<Option<WebConfig>, ConfigError> {
        file.map(|path| WebConfig::load(path).map_err(|e| ConfigError(e.to_string()))).transpose()
    }

    fn policy(config: Option<&WebConfig>) -> Result<Policy, ConfigError> {
        Policy::new(config).map_err(|e| ConfigError(format!("web config: {e}")))
    }

    fn current(&self) -> Arc<Policy> {
        self.policy.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Authenticates a request of another listener (OTLP gRPC) by its `authorization` value:
/// `Ok(None)` when no users or tokens are configured; refusals are counted.
pub(crate) async fn authenticate_header(
    state: &Shared,
    header: Option<&str>,
) -> Result<Option<Identity>, Denied> {
    let Some(authenticator) = state.access.current().authenticator.clone() else { return Ok(None) };
    let credentials = header.map_or(Err(Denied::Missing), strata_auth::parse_authorization);
    let answer = authenticate(&authenticator, credentials).await;
    if let Err(denied) = &answer {
        state.metrics.auth_failure(denied.reason());
    }
    answer.map(Some)
}

/// The middleware: authenticates, checks the route's class, adds the configured headers.
pub(crate) async fn require_access(
    State(state): State<Shared>,
    mut request: Request,
    next: Next,
) -> Response {
    let policy = state.access.current();
    // The route's template when axum matched one (what it serves), else the raw path.
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let class = route_class(path.as_deref().unwrap_or(request.uri().path()));
    let mut response = match (&policy.authenticator, class) {
        (None, _) | (_, RouteClass::Open) => next.run(request).await,
        (Some(authenticator), class) => match authenticate(authenticator, credentials(&request)).await {
            Ok(identity) if class == RouteClass::Admin && !identity.admin => {
                state.metrics.auth_failure("forbidden");
                forbidden(&identity)
            }
            Ok(identity) => {
                request.extensions_mut().insert(identity);
                next.run(request).await
            }
            Err(denied) => {
                state.metrics.auth_failure(denied.reason());
                unauthorized(&denied)
            }
        },
    };
    for (name, value) in &policy.headers {
        response.headers_mut().insert(name, value.clone());
    }
    response
}

/// Who the credentials are; bcrypt, when needed, runs on a blocking thread.
async fn authenticate(
    authenticator: &Arc<Authenticator>,
    credentials: Result<Credentials, Denied>,
) -> Result<Identity, Denied> {
    let credentials = credentials?;
    if let Some(answer) = authenticator.check_fast(&credentials) {
        return answer;
    }
    let authenticator = authenticator.clone();
    tokio::task::spawn_blocking(move || authenticator.check(&credentials))
        .await
        .unwrap_or(Err(Denied::Invalid))
}

/// The `Authorization` header, else InfluxDB's `u` and `p` parameters.
fn credentials(request: &Request) -> Result<Credentials, Denied> {
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| Denied::Malformed("Authorization header is not ASCII"))?;
        return strata_auth::parse_authorization(value);
    }
    let params =
        Query::<HashMap<String, String>>::try_from_uri(request.uri()).map(|q| q.0).unwrap_or_default();
    match (params.get("u"), params.get("p")) {
        (Some(user), Some(password)) => {
            Ok(Credentials::Basic { user: user.clone(), password: password.clone() })
        }
        _ => Err(Denied::Missing),
    }
}

fn unauthorized(denied: &Denied) -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, format!("Unauthorized: {denied}\n")).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"strata\""));
    response
}

fn forbidden(identity: &Identity) -> Response {
    let message = format!(
        "Forbidden: {:?} is not an admin (the admin endpoints need a name in the web config's admin_users)\n",
        identity.name
    );
    (StatusCode::FORBIDDEN, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_fall_into_the_documented_classes() {
        for (path, class) in [
            ("/-/healthy", RouteClass::Open),
            ("/-/ready", RouteClass::Open),
            ("/ping", RouteClass::Open),
            ("/-/reload", RouteClass::Admin),
            ("/api/v1/admin/tsdb/snapshot", RouteClass::Admin),
            ("/api/v1/admin/tsdb/delete_series", RouteClass::Admin),
            ("/api/v1/query", RouteClass::User),
            ("/metrics", RouteClass::User),
            ("/-/healthyish", RouteClass::User),
            ("/no/such/route", RouteClass::User),
        ] {
            assert_eq!(route_class(path), class, "{path}");
        }
    }
}
