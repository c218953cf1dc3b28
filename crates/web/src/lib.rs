//! Strata's web UI as the binary carries it.
//!
//! The UI's source is `web/` at the top of the repository (TypeScript, built with Vite); its
//! build output is committed here as `dist/`, so `cargo build` needs no Node.js, and CI
//! rebuilds it and fails when the result differs from what is committed. `build.rs` embeds
//! every file of `dist/` with a gzip copy.
//!
//! Invariants:
//! - The UI is a single page: every page path ([`PAGES`]) answers `index.html`, whose asset
//!   URLs are relative, so it works under any route prefix.
//! - The page learns its route prefix and its tenant's prefix from the
//!   `strata-route-prefix` and `strata-tenant-prefix` meta tags, which [`index_html`] fills
//!   in; nothing else in the built files depends on where it is served.
//! - Asset file names carry a content hash (Vite), so they may be cached forever;
//!   `index.html` may not.

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Path under `dist/`, `/`-separated (`index.html`, `assets/index-<hash>.js`).
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// The same bytes gzip-compressed (level 9, made at build time).
    pub gzip: &'static [u8],
}

impl Asset {
    /// Whether the file's name carries a content hash (may be cached forever).
    pub fn immutable(&self) -> bool {
        self.path.starts_with("assets/")
    }
}

static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The UI's page paths: each answers [`index_html`] and the page draws itself from the URL.
pub const PAGES: [&str; 6] = ["/", "/graph", "/series", "/cardinality", "/alerts", "/status"];

/// Every embedded file.
pub fn assets() -> &'static [Asset] {
    ASSETS
}

/// The embedded file at `path` (relative to the UI's root, no leading `/`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// `index.html` telling the page it is served under `route_prefix` (`""` or `/something`)
/// and, when opened under a tenant's prefix, `tenant_prefix` (`""` or `/tenant/<id>`).
/// None when the UI was not built into this binary.
pub fn index_html(route_prefix: &str, tenant_prefix: &str) -> Option<String> {
    let page = std::str::from_utf8(asset("index.html")?.body).ok()?;
    Some(fill_meta(
        &fill_meta(page, "strata-route-prefix", route_prefix),
        "strata-tenant-prefix",
        tenant_prefix,
    ))
}

/// `page` with the empty meta tag `name` given `value`.
fn fill_meta(page: &str, name: &str, value: &str) -> String {
    let empty = format!(r#"<meta name="{name}" content="" />"#);
    let filled = format!(r#"<meta name="{name}" content="{}" />"#, escape_attribute(value));
    page.replacen(&empty, &filled, 1)
}

/// Text safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_built_ui_is_embedded_with_its_assets() {
        let index = index_html("", "").expect("dist/index.html is embedded");
        assert!(index.contains(r#"<meta name="strata-route-prefix" content="" />"#));
        assert!(index.contains(r#"<meta name="strata-tenant-prefix" content="" />"#));
        // Every asset index.html names is embedded, by a relative URL.
        let named: Vec<&str> = index.split("\"./").skip(1).filter_map(|s| s.split('"').next()).collect();
        assert!(named.iter().any(|p| p.ends_with(".js")), "index.html names its script: {index}");
        for path in named {
            let asset =
                asset(path).unwrap_or_else(|| panic!("{path} is named by index.html but not embedded"));
            assert!(asset.immutable(), "{path}");
        }
    }

    #[test]
    fn gzip_copies_decompress_to_the_files() {
        assert!(!assets().is_empty());
        for asset in assets() {
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(asset.gzip).read_to_end(&mut unpacked).expect(asset.path);
            assert_eq!(unpacked, asset.body, "{}", asset.path);
        }
    }

    #[test]
    fn the_prefix_is_escaped_into_the_meta_tag() {
        let index = index_html("/a\"b<c", "/tenant/t&1").unwrap();
        assert!(index.contains(r#"<meta name="strata-route-prefix" content="/a&quot;b&lt;c" />"#), "{index}");
        assert!(
            index.contains(r#"<meta name="strata-tenant-prefix" content="/tenant/t&amp;1" />"#),
            "{index}"
        );
        assert!(!index.contains(r#"content="""#));
    }
}
