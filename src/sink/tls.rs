//! What the TLS sinks (syslog, Splunk HEC, Elasticsearch, webhook) share: trusting exactly
//! one receiver's own certificate (`tls_pinned_cert_file`), and saying in plain words why
//! a receiver's certificate was refused and what to do about it.
//!
//! A pinned certificate replaces chain and name verification: the receiver is accepted when
//! the certificate it presents is byte for byte the pinned one and it proves, in the
//! handshake, that it holds that certificate's key. This is how a receiver with a
//! self-signed certificate (`openssl req -x509`) is trusted: rustls refuses such a
//! certificate as a server certificate even when it is listed as a CA, because a
//! certificate that says it is a CA is not meant to identify a server.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// A pinned certificate replaces the CA check, so it cannot be configured with `other`, the
/// setting that makes one (a CA file, or verification turned off).
pub fn pinned_excludes(other: &str) -> String {
    format!("a pinned certificate replaces the CA check: remove {other}")
}

/// Reads the one certificate of a `tls_pinned_cert_file` (PEM).
pub fn pinned_cert(path: &Path) -> Result<CertificateDer<'static>, String> {
    let shown = path.display();
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read tls_pinned_cert_file {shown}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_pinned_cert_file {shown} is not a PEM certificate file: {e}"))?;
    match <[_; 1]>::try_from(certs) {
        Ok([c]) => Ok(c),
        Err(v) if v.is_empty() => Err(format!(
            "tls_pinned_cert_file {shown} holds no PEM certificate"
        )),
        Err(v) => Err(format!(
            "tls_pinned_cert_file {shown} holds {} certificates; pin exactly one, the receiver's own",
            v.len()
        )),
    }
}

/// Accepts exactly the pinned certificate (see the module docs), or, built with
/// [`Pinned::any`] for syslog's `tls_insecure_skip_verify`, any certificate. Either way the
/// handshake must be signed by the key of the certificate presented.
#[derive(Debug)]
pub struct Pinned {
    cert: Option<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl Pinned {
    pub fn new(cert: CertificateDer<'static>, provider: Arc<CryptoProvider>) -> Pinned {
        Pinned {
            cert: Some(cert),
            provider,
        }
    }

    /// No verification of the certificate at all: loudly warned about by its users.
    pub fn any(provider: Arc<CryptoProvider>) -> Pinned {
        Pinned {
            cert: None,
            provider,
        }
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let accepted = match &self.cert {
            Some(pin) => end_entity.as_ref() == pin.as_ref(),
            None => true,
        };
        if accepted {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(NotPinned)),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The receiver presented another certificate than the pinned one.
#[derive(Debug)]
struct NotPinned;

impl std::fmt::Display for NotPinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not the pinned certificate")
    }
}

impl std::error::Error for NotPinned {}

/// An error as it should be logged: when somewhere in its chain a receiver's certificate
/// was refused, what is wrong and what to do, else its own text.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(advice) = err.downcast_ref::<rustls::Error>().and_then(advice) {
            return advice;
        }
        // An I/O error's `source` skips the error it wraps: descend into that one.
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner),
            None => err.source(),
        };
    }
    e.to_string()
}

const PIN: &str = "or trust exactly this receiver's certificate with tls_pinned_cert_file = \"/etc/o365fwd/receiver.pem\" (see docs/config.md, TLS to a receiver)";

/// What to do about a refused certificate; `None` for other TLS errors.
fn advice(e: &rustls::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(c) = e else {
        return None;
    };
    let what = match c {
        CertificateError::Other(o) if o.0.downcast_ref::<NotPinned>().is_some() => {
            "the receiver presented another certificate than the pinned one (tls_pinned_cert_file): it was replaced, or this is not the receiver; pin its new certificate if the change is expected".to_string()
        }
        CertificateError::Other(o)
            if matches!(
                o.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            ) =>
        {
            format!(
                "the receiver presented a CA certificate as its own server certificate (a self-signed certificate, as `openssl req -x509` makes); TLS refuses that even when the certificate is in tls_ca_file. Give the receiver a certificate issued by a CA and set tls_ca_file to that CA, {PIN}"
            )
        }
        CertificateError::UnknownIssuer => format!(
            "the receiver's certificate is not signed by a trusted CA: set tls_ca_file to the CA that issued it, {PIN}"
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "the receiver's certificate does not name the host it was reached at: reach it by a name its certificate carries (subjectAltName), or set tls_server_name (syslog) to that name".to_string()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the receiver's certificate has expired: renew it on the receiver".to_string()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the receiver's certificate is not valid yet: check the clocks of both hosts".to_string()
        }
        _ => return None,
    };
    Some(format!("TLS: {what} ({e})"))
}

#[cfg(test)]
mod tests;
