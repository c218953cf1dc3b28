//! The web configuration file, in Prometheus' format (exporter-toolkit's `web.yml`), so a
//! file a team already gives `prometheus --web.config.file` works unchanged:
//!
//! ```yaml
//! tls_server_config:            # TLS on when cert_file and key_file are set
//!   cert_file: server.crt       # paths are relative to this file's directory
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # or NoClientCert, VerifyClientCertIfGiven
//!   client_ca_file: ca.crt
//!   min_version: TLS12          # TLS12 (default) or TLS13
//!   max_version: TLS13
//!   cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]   # TLS 1.2 only, as in Go
//!   curve_preferences: [X25519, CurveP256]
//! http_server_config:
//!   http2: true                 # accepted; Strata always offers HTTP/2 (h2 by ALPN over TLS)
//!   headers: { Strict-Transport-Security: max-age=31536000 }
//! basic_auth_users:             # user: bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
//!   alice: $2y$10$...
//! # Strata's additions (Prometheus' own parser would refuse them):
//! bearer_tokens:                # name: SHA-256 of the token, hex (printf %s "$T" | sha256sum)
//!   grafana: 9f86d081884c7d65...
//! admin_users: [alice]          # names (users or tokens) allowed on the admin endpoints
//! tenant_users:                 # names confined to these tenants (strata server --multi-tenant)
//!   grafana: [team-a, team-b]
//! ```
//!
//! Parsing is strict like exporter-toolkit's: an unknown key is an error naming it, so a typo
//! never silently turns security off. Options rustls cannot honour (TLS 1.0/1.1, CBC suites,
//! P-521, e-mail or URI entries in `client_allowed_sans`) are errors that say so, not ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ConfigError;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// TLS for the HTTP listener.
    #[serde(default)]
    pub tls_server_config: TlsServerConfig,
    /// HTTP options.
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    /// User name → bcrypt hash of the password.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
    /// Token name → SHA-256 of the token, lowercase or uppercase hex (Strata's addition).
    #[serde(default)]
    pub bearer_tokens: BTreeMap<String, String>,
    /// Names (from `basic_auth_users` or `bearer_tokens`) allowed on the admin endpoints
    /// (Strata's addition). Empty: with authentication on, the admin endpoints are refused.
    #[serde(default)]
    pub admin_users: Vec<String>,
    /// Name → the tenants it may name (Strata's addition, for `--multi-tenant`); a name not
    /// listed may name any tenant.
    #[serde(default)]
    pub tenant_users: BTreeMap<String, Vec<String>>,
    /// The directory relative paths are resolved against (the file's own).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `tls_server_config`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// The server's certificate chain, PEM.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// The server's private key, PEM.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Go's `tls.ClientAuthType` name.
    #[serde(default)]
    pub client_auth_type: Option<String>,
    /// CA certificates client certificates are verified against, PEM.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// Go's TLS 1.2 cipher suite names.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Go's curve names.
    #[serde(default)]
    pub curve_preferences: Vec<String>,
    /// `TLS12` or `TLS13`.
    #[serde(default)]
    pub min_version: Option<String>,
    /// `TLS12` or `TLS13`.
    #[serde(default)]
    pub max_version: Option<String>,
    /// Accepted for compatibility; rustls always prefers the server's order.
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    /// Not supported (an error when set).
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
}

/// `http_server_config`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Accepted for compatibility (HTTP/2 is always offered).
    #[serde(default)]
    pub http2: Option<bool>,
    /// Headers added to every response; only the security headers exporter-toolkit allows.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The response headers a web config may set (exporter-toolkit's list).
pub const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

impl WebConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<WebConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, format!("cannot read it: {e}")))?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &base_dir).map_err(|detail| ConfigError::new(path, detail))
    }

    /// Parses and checks a file's text; relative paths resolve against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<WebConfig, String> {
        // An empty file is a valid config that turns nothing on, as in Prometheus.
        let mut config: WebConfig = if text.trim().is_empty() {
            WebConfig::default()
        } else {
            serde_norway::from_str(text).map_err(|e| e.to_string())?
        };
        config.base_dir = base_dir.to_path_buf();
        config.check()?;
        Ok(config)
    }

    /// True when requests must carry credentials.
    pub fn auth_enabled(&self) -> bool {
        !self.basic_auth_users.is_empty() || !self.bearer_tokens.is_empty()
    }

    /// True when the listener speaks TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls_server_config.cert_file.is_some() || self.tls_server_config.key_file.is_some()
    }

    /// A path from the file, resolved against the file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    fn check(&self) -> Result<(), String> {
        for (user, hash) in &self.basic_auth_users {
            hash.parse::<bcrypt::HashParts>()
                .map_err(|e| format!("basic_auth_users: {user:?}'s password is not a bcrypt hash ({e})"))?;
        }
        for (name, digest) in &self.bearer_tokens {
            if crate::credentials::parse_sha256_hex(digest).is_none() {
                return Err(format!(
                    "bearer_tokens: {name:?}'s value is not a SHA-256 digest (64 hex digits)"
                ));
            }
            if self.basic_auth_users.contains_key(name) {
                return Err(format!(
                    "bearer_tokens: {name:?} is also a user in basic_auth_users; names must be distinct"
                ));
            }
        }
        for admin in &self.admin_users {
            if !self.basic_auth_users.contains_key(admin) && !self.bearer_tokens.contains_key(admin) {
                return Err(format!(
                    "admin_users: {admin:?} is neither in basic_auth_users nor in bearer_tokens"
                ));
            }
        }
        for (name, tenants) in &self.tenant_users {
            if !self.basic_auth_users.contains_key(name) && !self.bearer_tokens.contains_key(name) {
                return Err(format!(
                    "tenant_users: {name:?} is neither in basic_auth_users nor in bearer_tokens"
                ));
            }
            if tenants.is_empty() {
                return Err(format!("tenant_users: {name:?} lists no tenant"));
            }
        }
        for name in self.http_server_config.headers.keys() {
            if !ALLOWED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                return Err(format!(
                    "http_server_config.headers: {name:?} cannot be set (allowed: {})",
                    ALLOWED_HEADERS.join(", ")
                ));
            }
        }
        self.check_tls()
    }

    fn check_tls(&self) -> Result<(), String> {
        let tls = &self.tls_server_config;
        match (&tls.cert_file, &tls.key_file) {
            (Some(_), None) => {
                return Err("tls_server_config: cert_file is set but key_file is missing".into())
            }
            (None, Some(_)) => {
                return Err("tls_server_config: key_file is set but cert_file is missing".into())
            }
            _ => {}
        }
        if !self.tls_enabled() {
            let other_tls = tls.client_ca_file.is_some()
                || tls.client_auth_type.is_some()
                || tls.min_version.is_some()
                || tls.max_version.is_some()
                || !tls.cipher_suites.is_empty()
                || !tls.curve_preferences.is_empty();
            if other_tls {
                return Err(
                    "tls_server_config: TLS options are set but cert_file and key_file are missing".into()
                );
            }
            return Ok(());
        }
        crate::tls::check_options(tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

    fn parse(text: &str) -> Result<WebConfig, String> {
        WebConfig::parse(text, Path::new("/etc/strata"))
    }

    #[test]
    fn a_prometheus_file_parses_with_paths_relative_to_it() {
        let config = parse(&format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: /abs/server.key\n  min_version: TLS13\n\
             http_server_config:\n  http2: true\n  headers:\n    X-Frame-Options: deny\n\
             basic_auth_users:\n  alice: {HASH}\n"
        ))
        .unwrap();
        assert!(config.auth_enabled() && config.tls_enabled());
        let tls = &config.tls_server_config;
        assert_eq!(config.resolve(tls.cert_file.as_deref().unwrap()), Path::new("/etc/strata/server.crt"));
        assert_eq!(config.resolve(tls.key_file.as_deref().unwrap()), Path::new("/abs/server.key"));
    }

    #[test]
    fn an_empty_file_turns_nothing_on() {
        let config = parse("").unwrap();
        assert!(!config.auth_enabled() && !config.tls_enabled());
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("basic_auth_user:\n  alice: x\n", "basic_auth_user"),
            ("basic_auth_users:\n  alice: secret\n", "not a bcrypt hash"),
            ("bearer_tokens:\n  ci: abc\n", "not a SHA-256"),
            (&format!("basic_auth_users:\n  alice: {HASH}\nadmin_users: [bob]\n"), "\"bob\""),
            ("tls_server_config:\n  cert_file: a.crt\n", "key_file is missing"),
            ("tls_server_config:\n  min_version: TLS12\n", "cert_file and key_file are missing"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n", "TLS10"),
            ("http_server_config:\n  headers:\n    Server: x\n", "\"Server\""),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
