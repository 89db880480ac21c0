//! The certificate credential: a JWT client assertion signed RS256 with the app
//! registration's certificate key (reference §1.3), sent instead of a client secret.
//!
//! The key and every assertion are secrets: neither appears in a log, an error or `Debug`.
//! The header carries `x5t` (SHA-1 thumbprint, what the O365 article and older Entra tooling
//! use) and, when the certificate itself is configured, `x5t#S256` as well. RS256 rather than
//! PS256: Entra accepts both, and RS256 is what the Management API's own article documents.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::secret::Secret;

/// Lifetime of one assertion. Microsoft asks for at most 5–10 minutes; a fresh one is made
/// for every token request, so short costs nothing.
pub const ASSERTION_LIFETIME_S: i64 = 300;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("the private key is not PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)")]
    KeyNotPem,
    #[error("the private key is not an RSA key of 2048 bits or more ({0})")]
    KeyNotRsa(String),
    #[error("the certificate is not a PEM `CERTIFICATE`")]
    CertNotPem,
    #[error("the certificate cannot be parsed: {0}")]
    CertInvalid(String),
    #[error(
        "the certificate does not belong to the private key (a signature made with the key does not verify with the certificate)"
    )]
    Mismatch,
    #[error(
        "the thumbprint is not a SHA-1 thumbprint (40 hexadecimal digits, as the Azure portal shows it)"
    )]
    Thumbprint,
    #[error("signing failed")]
    Sign,
}

/// Which certificate the key belongs to.
pub enum CertRef<'a> {
    /// PEM text of the certificate (`certificate_file`).
    Pem(&'a [u8]),
    /// SHA-1 thumbprint in hex, colons and spaces allowed (`certificate_thumbprint`).
    Thumbprint(&'a str),
}

/// A loaded certificate key, ready to sign assertions.
#[derive(Clone)]
pub struct CertificateKey {
    key: Arc<RsaKeyPair>,
    x5t: String,
    x5t_s256: Option<String>,
}

impl fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateKey")
            .field("x5t", &self.x5t)
            .field("key", &"**REDACTED**")
            .finish()
    }
}

impl PartialEq for CertificateKey {
    fn eq(&self, other: &Self) -> bool {
        self.x5t == other.x5t && self.key.public().as_ref() == other.key.public().as_ref()
    }
}

impl CertificateKey {
    pub fn load(key_pem: &[u8], cert: CertRef<'_>) -> Result<CertificateKey, CertError> {
        let key = match PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| CertError::KeyNotPem)? {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err(CertError::KeyNotRsa("an EC key; Entra ID needs RSA".into())),
        }
        .map_err(|e| CertError::KeyNotRsa(e.to_string()))?;
        let (sha1, x5t_s256) = match cert {
            CertRef::Pem(pem) => {
                let der = CertificateDer::from_pem_slice(pem).map_err(|_| CertError::CertNotPem)?;
                check_pair(&key, &der)?;
                let sha256 = ring::digest::digest(&ring::digest::SHA256, &der);
                (
                    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der)
                        .as_ref()
                        .to_vec(),
                    Some(URL_SAFE_NO_PAD.encode(sha256.as_ref())),
                )
            }
            CertRef::Thumbprint(hex) => (parse_thumbprint(hex)?, None),
        };
        Ok(CertificateKey {
            key: Arc::new(key),
            x5t: URL_SAFE_NO_PAD.encode(sha1),
            x5t_s256,
        })
    }

    /// base64url SHA-1 thumbprint, as sent in `x5t`.
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// A signed assertion for `aud` (the token endpoint URL), valid from `now` (unix
    /// seconds) for [`ASSERTION_LIFETIME_S`].
    pub fn assertion(&self, client_id: &str, aud: &str, now: i64) -> Result<Secret, CertError> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        if let Some(s) = &self.x5t_s256 {
            header["x5t#S256"] = s.as_str().into();
        }
        let claims = serde_json::json!({
            "aud": aud,
            "iss": client_id,
            "sub": client_id,
            "jti": guid(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
        });
        let mut jwt = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.sign(jwt.as_bytes())?;
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(sig));
        Ok(Secret::new(jwt))
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CertError> {
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                msg,
                &mut sig,
            )
            .map_err(|_| CertError::Sign)?;
        Ok(sig)
    }
}

/// Signs a probe with the key and verifies it with the certificate: a key and certificate
/// from different pairs would otherwise only show up as AADSTS700027 at the first token.
fn check_pair(key: &RsaKeyPair, der: &CertificateDer<'_>) -> Result<(), CertError> {
    let cert = webpki::EndEntityCert::try_from(der)
        .map_err(|e| CertError::CertInvalid(format!("{e:?}")))?;
    let msg = b"o365fwd certificate check";
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        msg,
        &mut sig,
    )
    .map_err(|_| CertError::Sign)?;
    cert.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, msg, &sig)
        .map_err(|_| CertError::Mismatch)
}

fn parse_thumbprint(s: &str) -> Result<Vec<u8>, CertError> {
    let hex: String = s.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(CertError::Thumbprint);
    }
    (0..20)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| CertError::Thumbprint))
        .collect()
}

/// A random version-4 GUID for `jti`.
fn guid() -> String {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .unwrap_or_else(|_| b.iter_mut().for_each(|x| *x = fastrand::u8(..)));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests;
