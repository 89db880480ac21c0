//! What the HTTP sinks share below the protocol: the client (TLS, timeouts, no redirects),
//! gzip bodies, backoff with jitter, `Retry-After`, and sending under the abort token.
//! [`super::endpoint`] puts them together into posting with retry.

use std::io::Write;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio_util::sync::CancellationToken;

use super::config::HttpCommon;
use crate::sink::SinkError;

/// Why a delivery ended without every item delivered or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// Hard stop at shutdown: nothing more is acknowledged; the work is redone next start.
    Aborted,
    /// A configuration error the receiver reported (already logged loudly): the sink stops
    /// acknowledging, so polling stalls and nothing is committed past this point.
    Stopped(String),
}

/// Builds the one client of a sink: redirects are never followed (a redirect would carry
/// the credentials elsewhere), every request has the sink's timeout, and TLS trusts the
/// system roots plus the configured CA, presenting the client certificate when set.
pub fn build_client(sink: &str, c: &HttpCommon) -> Result<reqwest::Client, SinkError> {
    let err = |message: String| SinkError::Setup {
        sink: sink.to_string(),
        message,
    };
    let read = |p: &std::path::Path, what: &str| {
        std::fs::read(p).map_err(|e| err(format!("cannot read {what} {}: {e}", p.display())))
    };
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(c.request_timeout)
        .connect_timeout(c.request_timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(concat!("o365fwd/", env!("CARGO_PKG_VERSION")));
    if let Some(pin) = &c.tls.pinned_cert_file {
        // A complete rustls setup: reqwest then ignores its own roots and identity.
        b = b.use_preconfigured_tls(pinned_tls(pin, c).map_err(err)?);
        return b
            .build()
            .map_err(|e| err(format!("cannot build the HTTP client: {e}")));
    }
    if let Some(ca) = &c.tls.ca_file {
        let pem = read(ca, "tls_ca_file")?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| err(format!("tls_ca_file {}: {e}", ca.display())))?;
        if certs.is_empty() {
            return Err(err(format!(
                "tls_ca_file {} holds no PEM certificate",
                ca.display()
            )));
        }
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    if let (Some(cert), Some(key)) = (&c.tls.cert_file, &c.tls.key_file) {
        let mut pem = read(cert, "tls_cert_file")?;
        pem.push(b'\n');
        pem.extend_from_slice(&read(key, "tls_key_file")?);
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| err(format!("tls_cert_file / tls_key_file: {e}")))?;
        b = b.identity(id);
    }
    if !c.tls.verify {
        tracing::warn!(
            sink,
            "TLS certificate verification is off for this sink (tls_verify = false)."
        );
        b = b.danger_accept_invalid_certs(true);
    }
    b.build()
        .map_err(|e| err(format!("cannot build the HTTP client: {e}")))
}

/// The TLS setup of a sink that pins its receiver's certificate, with the client
/// certificate when one is configured.
fn pinned_tls(
    pin: &std::path::Path,
    c: &HttpCommon,
) -> Result<tokio_rustls::rustls::ClientConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let cert = crate::sink::tls::pinned_cert(pin)?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(crate::sink::tls::Pinned::new(
            cert, provider,
        )));
    match (&c.tls.cert_file, &c.tls.key_file) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<_, _>>())
                .map_err(|e| format!("tls_cert_file {}: {e}", cert.display()))?;
            // The key's text never goes into a message.
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|_| format!("tls_key_file {} holds no PEM private key", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate and key do not fit together: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The request body, gzipped when `compress` (level 1: most of the gain for JSON at a
/// fraction of the CPU).
pub(crate) fn body(raw: Vec<u8>, compress: bool) -> Vec<u8> {
    if !compress {
        return raw;
    }
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(raw.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(&raw);
    enc.finish().unwrap_or(raw)
}

/// Runs `work` (a request, reading an answer, a wait) unless the abort token fires first.
pub(crate) async fn unless_aborted<T>(
    work: impl std::future::Future<Output = T>,
    abort: &CancellationToken,
) -> Result<T, Halt> {
    tokio::select! {
        r = work => Ok(r),
        _ = abort.cancelled() => Err(Halt::Aborted),
    }
}

/// Largest receiver answer read: bulk answers list every item, and stay far below this.
const MAX_ANSWER_BYTES: u64 = 64 << 20;

/// Reads a response body, bounded by the request timeout and [`MAX_ANSWER_BYTES`].
pub(crate) async fn read_body(
    resp: reqwest::Response,
) -> Result<bytes::Bytes, crate::bounds::BodyError> {
    crate::bounds::read_capped(resp, MAX_ANSWER_BYTES, "receiver answer").await
}

/// `Retry-After` as seconds or an HTTP date, clamped to 15 minutes (logged when it asked
/// for more) so a hostile value cannot park the sink.
pub(crate) fn retry_after(h: &HeaderMap) -> Option<Duration> {
    crate::bounds::retry_after_header(h, "sink receiver")
}

/// Exponential backoff with jitter, starting at 200 ms, capped at the sink's maximum.
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(max: Duration) -> Backoff {
        Backoff {
            next: Duration::from_millis(200).min(max),
            max,
        }
    }

    /// Back to the first step after a success.
    pub fn reset(&mut self) {
        self.next = Duration::from_millis(200).min(self.max);
    }

    /// The next delay: half fixed, half random, so many agents do not retry in step.
    pub fn delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        let half = d / 2;
        half + Duration::from_micros(fastrand::u64(0..=half.as_micros() as u64))
    }

    /// Sleeps the next delay, or `hint` (the server's `Retry-After`) when given.
    pub async fn wait(
        &mut self,
        hint: Option<Duration>,
        abort: &CancellationToken,
    ) -> Result<(), Halt> {
        let d = self.delay();
        unless_aborted(tokio::time::sleep(hint.unwrap_or(d)), abort).await
    }
}

#[cfg(test)]
mod tests;
