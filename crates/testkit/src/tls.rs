//! TLS for tests: a throwaway certificate authority with a server certificate (for
//! `localhost` and 127.0.0.1) and a client certificate, written as PEM files; and a small
//! blocking HTTPS/1.1 client over rustls that trusts that CA.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::HttpResponse;

/// PEM files of a test CA, a server certificate it signed and a client certificate it signed.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server's certificate (SANs `localhost`, `127.0.0.1`).
    pub server_cert: PathBuf,
    /// The server's key.
    pub server_key: PathBuf,
    /// A client certificate.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

impl TestPki {
    /// Generates the CA and both certificates into `dir` (`ca.pem`, `server.pem`, …).
    pub fn generate(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).expect("creating the PKI dir");
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "Strata test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
        let leaf = |name: &str, usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().expect("a key");
            let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![usage];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            let cert = params.signed_by(&key, &ca, &ca_key).expect("a signed certificate");
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf("strata test server", ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) = leaf("strata test client", ExtendedKeyUsagePurpose::ClientAuth);
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("writing a PEM file");
            path
        };
        TestPki {
            ca: write("ca.pem", &ca.pem()),
            server_cert: write("server.pem", &server_cert),
            server_key: write("server-key.pem", &server_key),
            client_cert: write("client.pem", &client_cert),
            client_key: write("client-key.pem", &client_key),
        }
    }

    /// A client config trusting this CA, presenting the client certificate if `with_cert`.
    pub fn client_config(&self, with_cert: bool) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.ca).expect("reading the CA") {
            roots.add(cert.expect("a CA certificate")).expect("adding the CA");
        }
        #[allow(deprecated)] // ring's provider: see strata-auth's tls module
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots);
        let config = if with_cert {
            let certs = CertificateDer::pem_file_iter(&self.client_cert)
                .expect("reading the client certificate")
                .collect::<Result<Vec<_>, _>>()
                .expect("a client certificate");
            let key = PrivateKeyDer::from_pem_file(&self.client_key).expect("the client key");
            builder.with_client_auth_cert(certs, key).expect("client auth")
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(config)
    }
}

/// `method path` over HTTPS/1.1 to 127.0.0.1:`port` (one request, `Connection: close`);
/// an error names what failed (connect, handshake, read).
pub fn https_request(
    port: u16,
    client: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, String> {
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let connection = rustls::ClientConnection::new(client, name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes()).map_err(|e| format!("handshake or write: {e}"))?;
    tls.write_all(body).map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // Servers often close without close_notify after Connection: close.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(format!("read: {e}")),
    }
    parse_response(&raw).ok_or_else(|| format!("not an HTTP answer: {}", String::from_utf8_lossy(&raw)))
}

/// Status, headers and body of an HTTP/1.1 answer (chunked bodies joined).
fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let code = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body)?;
    }
    Some(HttpResponse { code, headers, body })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).ok()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}
