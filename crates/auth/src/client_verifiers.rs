//! Client-certificate checks that rustls' webpki verifier does not make, so that a
//! Prometheus web config keeps working as written:
//!
//! - [`AnyClientCert`]: Go's `RequestClientCert` (ask, accept any certificate or none) and
//!   `RequireAnyClientCert` (insist on one, accept any). The certificate is not checked
//!   against a CA — that is what those modes mean in Go — but the handshake signature still
//!   is, so the client holds the key of the certificate it shows.
//! - [`AllowedSans`]: `client_allowed_sans`, after the usual verification: the client's
//!   certificate must be valid for one of the listed names. A name is a DNS name or an IP
//!   address, matched as webpki matches a server's name (a wildcard in the certificate
//!   matches, where Go compares SAN strings exactly); e-mail and URI SANs are refused when
//!   the file is read, not ignored.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// Any client certificate, required or not; see the module docs.
#[derive(Debug)]
pub(crate) struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyClientCert {
    pub(crate) fn new(mandatory: bool, algorithms: WebPkiSupportedAlgorithms) -> Self {
        AnyClientCert { mandatory, algorithms }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Another verifier, then the certificate's names; see the module docs.
#[derive(Debug)]
pub(crate) struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    names: Vec<ServerName<'static>>,
}

impl AllowedSans {
    pub(crate) fn new(inner: Arc<dyn ClientCertVerifier>, names: Vec<ServerName<'static>>) -> Self {
        AllowedSans { inner, names }
    }
}

/// `client_allowed_sans` as names a certificate is checked against (DNS names, IPs).
pub(crate) fn allowed_names(sans: &[String]) -> Result<Vec<ServerName<'static>>, String> {
    sans.iter()
        .map(|san| {
            ServerName::try_from(san.clone()).map_err(|_| {
                format!(
                    "tls_server_config: client_allowed_sans {san:?} is not a DNS name or an IP address \
                     (e-mail and URI SANs are not supported)"
                )
            })
        })
        .collect()
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| rustls::Error::General(format!("client certificate: {e}")))?;
        if self.names.iter().any(|name| cert.verify_is_valid_for_subject_name(name).is_ok()) {
            Ok(verified)
        } else {
            Err(rustls::Error::General("the client certificate has none of client_allowed_sans".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
