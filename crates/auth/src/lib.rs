//! Access control for Strata's HTTP listener, configured as Prometheus users configure theirs
//! (ARCHITECTURE.md decision 16): a `--web-config-file` in Prometheus' web configuration format.
//!
//! - [`WebConfig`] (`web_config`): the file, parsed strictly; Strata adds `bearer_tokens` and
//!   `admin_users` beside Prometheus' keys.
//! - [`Authenticator`] (`credentials`): who a request is, from its `Authorization` header:
//!   bcrypt basic auth with a memory of verified digests, SHA-256 bearer tokens compared in
//!   constant time, unknown users as slow as wrong passwords.
//! - [`server_config`] (`tls`): the rustls server config for `tls_server_config`;
//!   [`TlsReloader`] (`tls_reload`) builds it again when its files change.
//!
//! Which routes need which role is the server's decision (it owns the routes); this crate
//! only answers "who is this" and "is that an admin".

mod client_verifiers;
mod credentials;
mod error;
mod tls;
mod tls_reload;
mod web_config;

pub use credentials::{parse_authorization, parse_sha256_hex, Authenticator, Credentials, Denied, Identity};
pub use error::ConfigError;
pub use rustls::ServerConfig as TlsConfig;
pub use tls::server_config;
pub use tls_reload::TlsReloader;
pub use web_config::{HttpServerConfig, TlsServerConfig, WebConfig, ALLOWED_HEADERS};
