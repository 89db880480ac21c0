//! The Entra ID token endpoints, client-credentials grant only (reference §1.2–§1.4).
//!
//! v1 (`/oauth2/token`, `resource=`) answers numbers as strings; v2 (`/oauth2/v2.0/token`,
//! `scope=…/.default`) as JSON numbers. Secrets may come in the form or as HTTP Basic. A
//! certificate assertion is verified like Entra does: RS256 signature against the app's
//! registered certificate, `x5t`/`x5t#S256` thumbprint, audience = this token endpoint,
//! `iss` = `sub` = client id, lifetime. Issued tokens are opaque random strings.

use axum::http::{Method, header};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::lock;
use super::server::{Reply, Req, Shared, TokenInfo};

const RESOURCE: &str = "https://manage.office.com";
const SCOPE: &str = "https://manage.office.com/.default";
/// Microsoft Graph (the audit log search of `backfill`).
const GRAPH: &str = "https://graph.microsoft.com";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew tolerated on assertion `exp`/`nbf`.
const SKEW_S: i64 = 300;
/// Longest assertion lifetime accepted. Entra does not enforce one today; Microsoft asks for
/// at most 10 minutes, so the simulator holds clients to it.
const MAX_LIFETIME_S: i64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
}

pub(crate) fn handle(s: &Shared, tenant: &str, v: Version, r: &Req<'_>) -> Reply {
    if *r.method != Method::POST {
        return sts_error(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        );
    }
    let form = super::server::Params::parse(std::str::from_utf8(r.body).unwrap_or(""));
    let Some(grant) = form.get("grant_type") else {
        return missing("grant_type");
    };
    if grant != "client_credentials" {
        return sts_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let basic = r.header(header::AUTHORIZATION).and_then(parse_basic);
    let Some(client_id) = form
        .get("client_id")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
    else {
        return missing("client_id");
    };
    let graph = match v {
        Version::V1 => form
            .get("resource")
            .is_some_and(|r| r.trim_end_matches('/').eq_ignore_ascii_case(GRAPH)),
        Version::V2 => form
            .get("scope")
            .is_some_and(|r| r.eq_ignore_ascii_case(GRAPH_SCOPE)),
    };
    match v {
        _ if graph => {}
        Version::V1 => match form.get("resource") {
            None => return missing("resource"),
            Some(res) if !res.trim_end_matches('/').eq_ignore_ascii_case(RESOURCE) => {
                return sts_error(
                    400,
                    "invalid_resource",
                    500011,
                    &format!(
                        "The resource principal named {res} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
                    ),
                );
            }
            Some(_) => {}
        },
        Version::V2 => match form.get("scope") {
            None => return missing("scope"),
            Some(scope) if !scope.eq_ignore_ascii_case(SCOPE) => {
                return sts_error(
                    400,
                    "invalid_scope",
                    70011,
                    &format!(
                        "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
                    ),
                );
            }
            Some(_) => {}
        },
    }
    let found = s
        .model
        .tenant_index(tenant)
        .filter(|t| s.cfg.tenants[*t].client_id.eq_ignore_ascii_case(&client_id));
    let Some(t) = found else {
        return sts_error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            ),
        );
    };
    let now = s.clock.now();
    let secret = form
        .get("client_secret")
        .map(str::to_string)
        .or_else(|| basic.map(|b| b.1));
    let credential = match (secret, form.get("client_assertion")) {
        (Some(secret), _) => (secret == s.cfg.tenants[t].client_secret).then_some(()).ok_or_else(|| {
            sts_error(
                401,
                "invalid_client",
                7000215,
                &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
            )
        }),
        (None, Some(assertion)) => {
            if form.get("client_assertion_type") != Some(ASSERTION_TYPE) {
                Err(sts_error(
                    400,
                    "invalid_request",
                    50027,
                    "The client_assertion_type is invalid.",
                ))
            } else {
                let aud = format!(
                    "{}/{tenant}/oauth2/{}token",
                    s.base_url,
                    if v == Version::V2 { "v2.0/" } else { "" }
                );
                let cert = s.cfg.certificates.get(&s.cfg.tenants[t].client_id).map(Vec::as_slice);
                check_assertion(assertion, &client_id, &aud, cert, now.timestamp())
            }
        }
        (None, None) => Err(sts_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )),
    };
    if let Err(reply) = credential {
        return reply;
    }
    issue(s, t, v, now, graph)
}

fn issue(s: &Shared, tenant: usize, v: Version, now: DateTime<Utc>, graph: bool) -> Reply {
    let lifetime = s.cfg.token_lifetime.as_secs() as i64;
    let mut rng = fastrand::Rng::new();
    let token: String = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}",
        (0..64).map(|_| rng.alphanumeric()).collect::<String>()
    );
    let now_ms = now.timestamp_millis();
    {
        let mut tokens = lock(&s.tokens);
        if tokens.len() > 10_000 {
            tokens.retain(|_, i| i.expires_ms > now_ms);
        }
        tokens.insert(
            token.clone(),
            TokenInfo {
                tenant,
                expires_ms: now_ms + lifetime * 1000,
                graph,
            },
        );
    }
    if let Some(reply) = s.hostile_token_bomb(tenant) {
        return reply;
    }
    if let Some(body) = s.hostile_token(tenant, &token) {
        return Reply::json(200, body);
    }
    let body = match v {
        Version::V1 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime.to_string(),
            "ext_expires_in": "0",
            "expires_on": (now.timestamp() + lifetime).to_string(),
            "not_before": now.timestamp().to_string(),
            "resource": if graph { GRAPH } else { RESOURCE },
            "access_token": token,
        }),
        Version::V2 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }),
    };
    Reply::json(200, body.to_string())
}

/// The tenant of a valid, unexpired bearer token issued for Graph (`graph`) or for the
/// Management API: a token is good for its own audience only.
pub(crate) fn bearer(s: &Shared, r: &Req<'_>, graph: bool) -> Option<usize> {
    let h = r.header(header::AUTHORIZATION)?;
    let (scheme, token) = h.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let info = lock(&s.tokens).get(token.trim()).cloned()?;
    (info.graph == graph && info.expires_ms > s.clock.now_ms()).then_some(info.tenant)
}

fn missing(param: &str) -> Reply {
    sts_error(
        400,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{param}'."),
    )
}

/// An Entra ID error body: `error`, `error_description` with trace lines, `error_codes` …
fn sts_error(status: u16, error: &str, code: u32, text: &str) -> Reply {
    let mut rng = fastrand::Rng::new();
    let mut id = || super::rng::guid(rng.u64(..));
    let (trace, corr) = (id(), id());
    let ts = Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    Reply {
        error_code: Some(format!("AADSTS{code}")),
        ..Reply::json(status, body.to_string())
    }
}

/// `Authorization: Basic base64(client_id:client_secret)`.
fn parse_basic(h: &str) -> Option<(String, String)> {
    let (scheme, rest) = h.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(base64_decode(rest.trim())?).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Checks a JWT client assertion (reference §1.3) against the registered certificate.
fn check_assertion(
    jwt: &str,
    client_id: &str,
    aud: &str,
    cert: Option<&[u8]>,
    now: i64,
) -> Result<(), Reply> {
    let bad = |code: u32, text: &str| sts_error(401, "invalid_client", code, text);
    let mut parts = jwt.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(50012, "Client assertion is not a valid JWT."));
    };
    let decode =
        |s: &str| -> Option<serde_json::Value> { serde_json::from_slice(&base64_decode(s)?).ok() };
    let (Some(header), Some(claims)) = (decode(h), decode(p)) else {
        return Err(bad(50012, "Client assertion is not a valid JWT."));
    };
    let unregistered = || {
        bad(
            700027,
            "Client assertion failed signature validation. The key was not found.",
        )
    };
    let Some(cert) = cert else {
        return Err(unregistered());
    };
    let thumb = |alg: &'static ring::digest::Algorithm| {
        base64_encode_url(ring::digest::digest(alg, cert).as_ref())
    };
    let x5t = header.get("x5t").and_then(|v| v.as_str());
    let s256 = header.get("x5t#S256").and_then(|v| v.as_str());
    let known = x5t.is_some_and(|x| x == thumb(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY))
        || s256.is_some_and(|x| x == thumb(&ring::digest::SHA256));
    if !known {
        return Err(unregistered());
    }
    let alg = match header.get("alg").and_then(|v| v.as_str()) {
        Some("RS256") => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        Some("PS256") => webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        _ => return Err(bad(700027, "Client assertion failed signature validation.")),
    };
    let der = rustls_pki_types::CertificateDer::from(cert);
    let verified = webpki::EndEntityCert::try_from(&der).is_ok_and(|c| {
        base64_decode(sig).is_some_and(|sig| {
            c.verify_signature(alg, format!("{h}.{p}").as_bytes(), &sig)
                .is_ok()
        })
    });
    if !verified {
        return Err(bad(700027, "Client assertion failed signature validation."));
    }
    let claim = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or("");
    if !claim("iss").eq_ignore_ascii_case(client_id)
        || !claim("sub").eq_ignore_ascii_case(client_id)
    {
        return Err(bad(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    if !claim("aud").trim_end_matches('/').eq_ignore_ascii_case(aud) {
        return Err(bad(
            700023,
            "Client assertion audience claim does not match Realm issuer.",
        ));
    }
    let num = |k: &str| claims.get(k).and_then(|v| v.as_i64());
    let (Some(exp), nbf) = (num("exp"), num("nbf")) else {
        return Err(bad(
            700024,
            "Client assertion is not within its valid time range.",
        ));
    };
    let start = nbf.or(num("iat")).unwrap_or(now);
    if exp + SKEW_S <= now || start - SKEW_S > now {
        return Err(bad(
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    if exp - start > MAX_LIFETIME_S {
        return Err(bad(
            700024,
            "Client assertion contains an invalid lifetime (longer than 10 minutes).",
        ));
    }
    Ok(())
}

fn base64_encode_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Decodes standard or URL-safe base64, with or without padding.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
