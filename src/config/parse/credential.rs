//! A tenant's credential: a client secret, or a certificate (its private key as a secret,
//! plus the certificate file or its SHA-1 thumbprint). Loaded and checked at load time, so a
//! wrong key, a key that does not match its certificate or an unreadable file fails `check`
//! and start-up, not the first token request. No message here contains key material.

use std::path::Path;

use super::secret::{client_secret, given, secret};
use super::table::{Ctx, Table};
use crate::api::{CertError, CertRef, CertificateKey};
use crate::secret::{Env, Secret, SecretOrigin, read_file};

const SECRET_KEYS: [&str; 3] = ["client_secret", "client_secret_file", "client_secret_env"];
const KEY_KEYS: [&str; 3] = [
    "certificate_key",
    "certificate_key_file",
    "certificate_key_env",
];

pub(super) struct Credential {
    /// Empty when a certificate is used.
    pub secret: Secret,
    /// Where the secret, or the certificate key, came from.
    pub origin: SecretOrigin,
    pub certificate: Option<CertificateKey>,
}

pub(super) fn credential(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
) -> Credential {
    let cert_file = t.get("certificate_file").map(|v| v.span());
    let thumb = t.get("certificate_thumbprint").map(|v| v.span());
    let wants_cert = given(t, KEY_KEYS) || cert_file.is_some() || thumb.is_some();
    let placeholder = || Credential {
        secret: Secret::new(""),
        origin: SecretOrigin::Inline,
        certificate: None,
    };
    if !wants_cert {
        let (secret, origin) = client_secret(ctx, t, base, env);
        return Credential {
            secret,
            origin,
            certificate: None,
        };
    }
    if given(t, SECRET_KEYS) {
        let span = SECRET_KEYS
            .into_iter()
            .find_map(|k| t.get(k).map(|v| v.span()));
        ctx.report(
            &t.key("client_secret"),
            span.as_ref(),
            "set either a client secret or a certificate (certificate_key_* with \
             certificate_file or certificate_thumbprint), not both",
        );
        return placeholder();
    }
    let key = secret(ctx, t, base, env, KEY_KEYS, true);
    let cert_pem = match (cert_file, thumb) {
        (Some(_), Some(span)) => {
            ctx.report(
                &t.key("certificate_thumbprint"),
                Some(&span),
                "set only one of certificate_file or certificate_thumbprint",
            );
            return placeholder();
        }
        (None, None) => {
            t.missing(
                ctx,
                "certificate_file",
                "the certificate of the key, or set certificate_thumbprint",
            );
            return placeholder();
        }
        (Some(_), None) => {
            let (p, span) = match t.str(ctx, "certificate_file") {
                Some(x) => x,
                None => return placeholder(),
            };
            match read_file(&super::resolve(base, p)) {
                Ok(pem) => Some((pem, span)),
                Err(e) => {
                    ctx.report(&t.key("certificate_file"), Some(&span), e);
                    return placeholder();
                }
            }
        }
        (None, Some(_)) => None,
    };
    let thumb = if cert_pem.is_none() {
        match t.str(ctx, "certificate_thumbprint") {
            Some(x) => Some(x),
            None => return placeholder(),
        }
    } else {
        None
    };
    let Some((key, origin)) = key else {
        return placeholder();
    };
    let loaded = match (&cert_pem, &thumb) {
        (Some((pem, _)), _) => {
            CertificateKey::load(key.expose().as_bytes(), CertRef::Pem(pem.as_bytes()))
        }
        (None, Some((hex, _))) => {
            CertificateKey::load(key.expose().as_bytes(), CertRef::Thumbprint(hex))
        }
        (None, None) => return placeholder(),
    };
    match loaded {
        Ok(c) => Credential {
            secret: Secret::new(""),
            origin,
            certificate: Some(c),
        },
        Err(e) => {
            let (k, span) = match (&e, &cert_pem, &thumb) {
                (CertError::KeyNotPem | CertError::KeyNotRsa(_), _, _) => {
                    let k = KEY_KEYS.into_iter().find(|k| t.get(k).is_some());
                    let k = k.unwrap_or("certificate_key_file");
                    (k, t.get(k).map(|v| v.span()))
                }
                (_, Some((_, span)), _) => ("certificate_file", Some(span.clone())),
                (_, None, Some((_, span))) => ("certificate_thumbprint", Some(span.clone())),
                _ => ("certificate_key_file", None),
            };
            ctx.report(&t.key(k), span.as_ref(), e.to_string());
            placeholder()
        }
    }
}
