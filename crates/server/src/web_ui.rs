//! The web UI's routes: every page path answers `index.html` (told its route prefix), and
//! `/assets/*` the embedded files (crate `strata-web`), gzip-compressed when the browser
//! takes it. Nothing is fetched from elsewhere: the UI's code, styles and fonts are all here.
//!
//! Under `/tenant/<id>/` (multi-tenant) the page is told that prefix too: its pages stay
//! under it and its requests about data (queries, series, labels) go under it, while the
//! server-wide pages (status, cardinality) ask without a tenant.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::Shared;

/// The UI's routes, to merge into the server's.
pub(crate) fn routes() -> Router<Shared> {
    let mut router = Router::new().route("/assets/{*file}", get(asset));
    for page in strata_web::PAGES {
        router = router.route(page, get(index));
    }
    router
}

/// `index.html` for any page path.
async fn index(State(state): State<Shared>, OriginalUri(uri): OriginalUri) -> Response {
    let prefix = state.config.route_prefix().unwrap_or_default();
    let tenant =
        crate::tenancy::tenant_in_path(uri.path()).map_or_else(String::new, |t| format!("/tenant/{t}"));
    match strata_web::index_html(&prefix, &tenant) {
        Some(page) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            page,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "this binary was built without the web UI (crates/web/dist)\n")
            .into_response(),
    }
}

/// An embedded file under `/assets/` (under `/tenant/<id>/` too, where the route has the
/// tenant as a second parameter).
async fn asset(Path(params): Path<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let file = params.get("file").map_or("", String::as_str);
    let Some(asset) = strata_web::asset(&format!("assets/{file}")) else {
        return (StatusCode::NOT_FOUND, format!("no UI asset assets/{file}\n")).into_response();
    };
    let cache = if asset.immutable() { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if accepts_gzip(&headers) {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (response_headers, asset.gzip).into_response()
    } else {
        (response_headers, asset.body).into_response()
    }
}

/// Whether `Accept-Encoding` takes gzip (any q but 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|value| {
        value.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| matches!(p.replace(' ', "").as_str(), "q=0" | "q=0.0"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn gzip_is_sent_only_when_the_browser_takes_it() {
        assert!(accepts_gzip(&with("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&with("br;q=1.0, gzip;q=0.8")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
