//! `--web-route-prefix`: the whole server (UI, APIs, probes) answered under a path prefix,
//! as Prometheus' `--web.route-prefix` does, for a reverse proxy that forwards
//! `https://host/strata/...` unchanged.
//!
//! The prefix is cut off before routing, so every route, and every check keyed on a route
//! (access classes, tenant scopes, request counters), sees the same paths with or without
//! it. A request outside the prefix is 404, but `/`, which is sent to the prefix.

use std::sync::Arc;

use axum::extract::{OriginalUri, Request};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;

/// `router` answered under `prefix` (`""`: unchanged). The prefix must start with `/` and
/// not end with one (`ServerConfig::validate` sees to it).
pub(crate) fn serve_under(prefix: &str, router: Router) -> Router {
    if prefix.is_empty() {
        return router;
    }
    let prefix: Arc<str> = prefix.into();
    Router::new()
        .fallback_service(router)
        .layer(middleware::from_fn(move |request, next| strip(prefix.clone(), request, next)))
}

async fn strip(prefix: Arc<str>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let rest = match path.strip_prefix(&*prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ if path == "/" => return Redirect::temporary(&format!("{prefix}/")).into_response(),
        _ => {
            return (StatusCode::NOT_FOUND, format!("not found: this server answers under {prefix}/\n"))
                .into_response()
        }
    };
    let target = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_string(),
    };
    let Ok(uri) = target.parse::<Uri>() else {
        return (StatusCode::BAD_REQUEST, "malformed request path\n").into_response();
    };
    // Routes that read the original URI (the tenant prefix) read it without ours.
    request.extensions_mut().insert(OriginalUri(uri.clone()));
    *request.uri_mut() = uri;
    next.run(request).await
}
