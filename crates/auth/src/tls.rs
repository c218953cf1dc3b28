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
//! | `RequestClientCert` | asked for, not required, not checked against a CA (`client_verifiers`) |
//! | `RequireAnyClientCert` | required, not checked against a CA |
//! | `client_allowed_sans` | after verification, the certificate must be valid for one of them (DNS names, IPs) |
//! | `cipher_suites` (TLS 1.2 suites, as in Go) | the TLS 1.2 suites kept; all TLS 1.3 suites stay |
//! | `curve_preferences` `X25519`, `CurveP256`, `CurveP384` | key exchange groups in that order (`CurveP521`: error) |
//!
//! The server offers `h2` and `http/1.1` by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::client_verifiers::{allowed_names, AllowedSans, AnyClientCert};
use crate::web_config::{TlsServerConfig, WebConfig};

/// What the client must present, and whether it is checked against `client_ca_file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    Request,
    RequireAny,
    VerifyIfGiven,
    Require,
}

impl ClientAuth {
    fn verifies(self) -> bool {
        matches!(self, ClientAuth::VerifyIfGiven | ClientAuth::Require)
    }
}

/// Checks the options that need no files (at parse time).
pub(crate) fn check_options(tls: &TlsServerConfig) -> Result<(), String> {
    versions(tls)?;
    let client_auth = client_auth(tls)?;
    if client_auth.verifies() && tls.client_ca_file.is_none() {
        return Err("tls_server_config: client_auth_type needs client_ca_file".into());
    }
    allowed_names(&tls.client_allowed_sans)?;
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
    let verifier: Arc<dyn ClientCertVerifier> = match client_auth(tls)? {
        ClientAuth::None => return finish(builder.with_no_client_auth(), certs, key),
        auth @ (ClientAuth::Request | ClientAuth::RequireAny) => Arc::new(AnyClientCert::new(
            auth == ClientAuth::RequireAny,
            provider.signature_verification_algorithms,
        )),
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
            verifier.build().map_err(|e| format!("tls_server_config: client_ca_file: {e}"))?
        }
    };
    let verifier = match allowed_names(&tls.client_allowed_sans)? {
        names if names.is_empty() => verifier,
        names => Arc::new(AllowedSans::new(verifier, names)),
    };
    finish(builder.with_client_cert_verifier(verifier), certs, key)
}

/// The config with its certificate and ALPN.
fn finish(
    builder: rustls::ConfigBuilder<ServerConfig, rustls::server::WantsServerCert>,
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, String> {
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
        Some("RequestClientCert") => Ok(ClientAuth::Request),
        Some("RequireAnyClientCert") => Ok(ClientAuth::RequireAny),
        Some(other) => {
            Err(format!("tls_server_config: client_auth_type {other:?} is not a client auth type"))
        }
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
pub(crate) mod tests {
    use super::*;
    use rustls_pki_types::ServerName;

    fn tls(extra: &str) -> Result<WebConfig, String> {
        WebConfig::parse(
            &format!("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n{extra}"),
            Path::new("/"),
        )
    }

    #[test]
    fn options_map_onto_rustls_or_are_refused_by_name() {
        assert!(tls("  min_version: TLS13\n  max_version: TLS12\n").unwrap_err().contains("above"));
        tls("  client_auth_type: RequireAnyClientCert\n").unwrap();
        tls("  client_auth_type: RequestClientCert\n").unwrap();
        assert!(tls("  client_allowed_sans: [me@example.com]\n").unwrap_err().contains("not a DNS name"));
        tls("  client_allowed_sans: [client.example.com, 10.0.0.1]\n").unwrap();
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

    /// A CA, a server certificate for localhost and a client certificate for `client_san`,
    /// written where a web config in `dir` finds them; the client's chain and key.
    fn pki(dir: &Path, client_san: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = rcgen::KeyPair::generate().unwrap();
        let server = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&server_key)
            .unwrap();
        let client_key = rcgen::KeyPair::generate().unwrap();
        let mut client_params = rcgen::CertificateParams::new(vec![client_san.into()]).unwrap();
        client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
        std::fs::write(dir.join("server.crt"), server.pem()).unwrap();
        std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
        let key = PrivateKeyDer::Pkcs8(client_key.serialize_der().into());
        (vec![client.der().clone()], key)
    }

    /// A handshake in memory between `server` and a client that trusts `dir/server.crt`
    /// (what the file holds now) and shows `client` (or nothing): the verdict.
    pub(crate) fn handshake(
        server: Arc<ServerConfig>,
        dir: &Path,
        client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<(), String> {
        let mut roots = RootCertStore::empty();
        roots.add(read_certs(&dir.join("server.crt"), "cert").unwrap().remove(0)).unwrap();
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match client {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).unwrap(),
            None => builder.with_no_client_auth(),
        };
        let name = ServerName::try_from("localhost").unwrap();
        let mut client =
            rustls::Connection::Client(rustls::ClientConnection::new(Arc::new(config), name).unwrap());
        let mut server = rustls::Connection::Server(rustls::ServerConnection::new(server).unwrap());
        let pump = |from: &mut rustls::Connection, to: &mut rustls::Connection| {
            let mut bytes = Vec::new();
            while from.wants_write() {
                from.write_tls(&mut bytes).unwrap();
            }
            if !bytes.is_empty() {
                to.read_tls(&mut &bytes[..]).unwrap();
                to.process_new_packets().map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        };
        for _ in 0..10 {
            pump(&mut client, &mut server)?;
            pump(&mut server, &mut client).map_err(|e| format!("client: {e}"))?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
        }
        Err("the handshake did not finish".into())
    }

    fn config_in(dir: &Path, extra: &str) -> Arc<ServerConfig> {
        let text = format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}");
        server_config(&WebConfig::parse(&text, dir).unwrap()).unwrap()
    }

    /// Go's client auth types and `client_allowed_sans`, each through a real handshake.
    #[test]
    fn client_certificates_are_asked_for_required_and_checked_as_configured() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, key) = pki(dir.path(), "client.example.com");
        // A certificate no CA signed, for the modes that check none.
        let stranger_key = rcgen::KeyPair::generate().unwrap();
        let stranger =
            rcgen::CertificateParams::new(vec!["x".into()]).unwrap().self_signed(&stranger_key).unwrap();
        let stranger = || {
            Some((vec![stranger.der().clone()], PrivateKeyDer::Pkcs8(stranger_key.serialize_der().into())))
        };
        let ours = || Some((chain.clone(), key.clone_key()));
        let verify = "  client_ca_file: ca.crt\n  client_auth_type: ";

        let request = config_in(dir.path(), "  client_auth_type: RequestClientCert\n");
        handshake(request.clone(), dir.path(), None).unwrap();
        handshake(request, dir.path(), stranger()).unwrap();
        let require_any = config_in(dir.path(), "  client_auth_type: RequireAnyClientCert\n");
        assert!(handshake(require_any.clone(), dir.path(), None).is_err(), "a certificate is required");
        handshake(require_any, dir.path(), stranger()).unwrap();
        let require = config_in(dir.path(), &format!("{verify}RequireAndVerifyClientCert\n"));
        handshake(require.clone(), dir.path(), ours()).unwrap();
        assert!(handshake(require, dir.path(), stranger()).is_err(), "verified against the CA");

        let allowed = |sans: &str| {
            config_in(
                dir.path(),
                &format!("{verify}RequireAndVerifyClientCert\n  client_allowed_sans: {sans}\n"),
            )
        };
        handshake(allowed("[other.example.com, client.example.com]"), dir.path(), ours()).unwrap();
        let refused = handshake(allowed("[other.example.com, 10.0.0.1]"), dir.path(), ours()).unwrap_err();
        assert!(refused.contains("client_allowed_sans"), "{refused}");
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
