//! `tls_server_config` → a rustls server config (ring as the crypto provider: it builds with
//! only a C compiler, where aws-lc needs cmake).
//!
//! Go's names map onto rustls as follows; what has no rustls counterpart is an error:
//!
//! | web config | rustls |
//! |---|---|
//! | `min_version`/`max_version` `TLS12`, `TLS13` | the protocol versions offered (`TLS10`, `TLS11`: error) |
//! | `client_auth_type` `NoClientCert` (default) | no client certificate asked for |
//! | `VerifyClientCertIfGiven` | verified against `client_ca_file` when sent |
//! | `RequireAndVerifyClientCert` | required and verified against `client_ca_file` |
//! | `RequestClientCert`, `RequireAnyClientCert` | error: rustls does not accept unverified certificates |
//! | `cipher_suites` (TLS 1.2 suites, as in Go) | the TLS 1.2 suites kept; all TLS 1.3 suites stay |
//! | `curve_preferences` `X25519`, `CurveP256`, `CurveP384` | key exchange groups in that order (`CurveP521`: error) |
//!
//! The server offers `h2` and `http/1.1` by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::web_config::{TlsServerConfig, WebConfig};

/// What the client must present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    VerifyIfGiven,
    Require,
}

/// Checks the options that need no files (at parse time).
pub(crate) fn check_options(tls: &TlsServerConfig) -> Result<(), String> {
    versions(tls)?;
    let client_auth = client_auth(tls)?;
    if client_auth != ClientAuth::None && tls.client_ca_file.is_none() {
        return Err("tls_server_config: client_auth_type needs client_ca_file".into());
    }
    provider(tls)?;
    Ok(())
}

/// Builds the rustls config, reading the certificate, key and client CA files.
pub fn server_config(config: &WebConfig) -> Result<Arc<ServerConfig>, String> {
    let tls = &config.tls_server_config;
    let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) else {
        return Err("tls_server_config: cert_file and key_file are needed for TLS".into());
    };
    let certs = read_certs(&config.resolve(cert_file), "cert_file")?;
    let key_path = config.resolve(key_file);
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("tls_server_config: key_file {}: {e}", key_path.display()))?;
    let provider = Arc::new(provider(tls)?);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(tls)?)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match client_auth(tls)? {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let ca_path = tls.client_ca_file.as_deref().map(|p| config.resolve(p)).unwrap_or_default();
            let mut roots = RootCertStore::empty();
            for cert in read_certs(&ca_path, "client_ca_file")? {
                roots
                    .add(cert)
                    .map_err(|e| format!("tls_server_config: client_ca_file {}: {e}", ca_path.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier =
                if auth == ClientAuth::VerifyIfGiven { verifier.allow_unauthenticated() } else { verifier };
            let verifier = verifier.build().map_err(|e| format!("tls_server_config: client_ca_file: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls_server_config: the certificate and key do not make a pair: {e}"))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}

fn read_certs(path: &Path, field: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<_, _>>())
        .map_err(|e| format!("tls_server_config: {field} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("tls_server_config: {field} {} holds no certificate", path.display()));
    }
    Ok(certs)
}

fn versions(tls: &TlsServerConfig) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let rank = |name: Option<&str>, default: u8, field: &str| match name {
        None => Ok(default),
        Some("TLS12") => Ok(12),
        Some("TLS13") => Ok(13),
        Some(other @ ("TLS10" | "TLS11")) => Err(format!(
            "tls_server_config: {field} {other} is not supported (rustls speaks TLS12 and TLS13)"
        )),
        Some(other) => {
            Err(format!("tls_server_config: {field} {other:?} is not a TLS version (TLS12 or TLS13)"))
        }
    };
    let min = rank(tls.min_version.as_deref(), 12, "min_version")?;
    let max = rank(tls.max_version.as_deref(), 13, "max_version")?;
    if min > max {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let all = [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)];
    Ok(all.into_iter().filter(|(v, _)| (min..=max).contains(v)).map(|(_, p)| p).collect())
}

fn client_auth(tls: &TlsServerConfig) -> Result<ClientAuth, String> {
    match tls.client_auth_type.as_deref() {
        None | Some("" | "NoClientCert") => Ok(ClientAuth::None),
        Some("VerifyClientCertIfGiven") => Ok(ClientAuth::VerifyIfGiven),
        Some("RequireAndVerifyClientCert") => Ok(ClientAuth::Require),
        Some(other @ ("RequestClientCert" | "RequireAnyClientCert")) => Err(format!(
            "tls_server_config: client_auth_type {other} is not supported (client certificates are always verified; \
             use VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
        )),
        Some(other) => Err(format!("tls_server_config: client_auth_type {other:?} is not a client auth type")),
    }
}

/// ring's provider, narrowed to the configured TLS 1.2 suites and curves.
fn provider(tls: &TlsServerConfig) -> Result<CryptoProvider, String> {
    // Deprecated in rustls 0.23.48 only for lacking post-quantum key exchange; aws-lc (which
    // has it) would add cmake and minutes to every clean build. Revisit when ring gains it.
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    if !tls.cipher_suites.is_empty() {
        let mut suites: Vec<SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect();
        for name in &tls.cipher_suites {
            let suite = provider
                .cipher_suites
                .iter()
                .find(|s| s.version() == &rustls::version::TLS12 && same_suite(name, s))
                .ok_or_else(|| {
                    format!("tls_server_config: cipher suite {name} is not supported by rustls")
                })?;
            suites.push(*suite);
        }
        provider.cipher_suites = suites;
    }
    if !tls.curve_preferences.is_empty() {
        let mut groups = Vec::new();
        for name in &tls.curve_preferences {
            let wanted = match name.as_str() {
                "X25519" => rustls::NamedGroup::X25519,
                "CurveP256" => rustls::NamedGroup::secp256r1,
                "CurveP384" => rustls::NamedGroup::secp384r1,
                other => return Err(format!("tls_server_config: curve {other} is not supported by rustls")),
            };
            let group = provider.kx_groups.iter().find(|g| g.name() == wanted).ok_or_else(|| {
                format!("tls_server_config: curve {name} is not supported by this build's crypto provider")
            })?;
            groups.push(*group);
        }
        provider.kx_groups = groups;
    }
    Ok(provider)
}

/// Go names ChaCha20 suites without the `_SHA256` the IANA name (and rustls) carries.
fn same_suite(go_name: &str, suite: &SupportedCipherSuite) -> bool {
    let iana = format!("{:?}", suite.suite());
    iana == go_name
        || iana.strip_suffix("_SHA256").is_some_and(|short| short == go_name && short.contains("CHACHA20"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(extra: &str) -> Result<WebConfig, String> {
        WebConfig::parse(
            &format!("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n{extra}"),
            Path::new("/"),
        )
    }

    #[test]
    fn options_map_onto_rustls_or_are_refused_by_name() {
        assert!(tls("  min_version: TLS13\n  max_version: TLS12\n").unwrap_err().contains("above"));
        assert!(tls("  client_auth_type: RequireAnyClientCert\n").unwrap_err().contains("not supported"));
        assert!(tls("  client_auth_type: RequireAndVerifyClientCert\n")
            .unwrap_err()
            .contains("client_ca_file"));
        assert!(tls("  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n").unwrap_err().contains("CBC"));
        assert!(tls("  curve_preferences: [CurveP521]\n").unwrap_err().contains("CurveP521"));
        tls("  cipher_suites: [TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n")
            .unwrap();
        tls("  curve_preferences: [X25519, CurveP256, CurveP384]\n  min_version: TLS13\n").unwrap();
    }

    #[test]
    fn versions_follow_min_and_max() {
        let config = tls("  min_version: TLS13\n").unwrap();
        assert_eq!(versions(&config.tls_server_config).unwrap(), vec![&rustls::version::TLS13]);
        let config = tls("").unwrap();
        assert_eq!(versions(&config.tls_server_config).unwrap().len(), 2);
    }

    #[test]
    fn missing_or_mismatched_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
        let other_key = rcgen::KeyPair::generate().unwrap();
        write("a.crt", &cert.pem());
        write("a.key", &key.serialize_pem());
        write("other.key", &other_key.serialize_pem());
        write("empty.crt", "");
        let config = |cert: &str, key: &str| {
            WebConfig::parse(
                &format!("tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"),
                dir.path(),
            )
            .unwrap()
        };
        server_config(&config("a.crt", "a.key")).unwrap();
        assert!(server_config(&config("missing.crt", "a.key")).unwrap_err().contains("missing.crt"));
        assert!(server_config(&config("empty.crt", "a.key")).unwrap_err().contains("no certificate"));
        assert!(server_config(&config("a.crt", "other.key")).unwrap_err().contains("do not make a pair"));
    }
}
