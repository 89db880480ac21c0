//! `[tenants.NAME]`: identity, secret, cloud, content types and endpoint overrides.

use std::path::Path;
use std::str::FromStr;

use url::Url;

use super::checks::{endpoint_url, is_guid};
use super::credential::credential;
use super::secret::Env;
use super::table::{Ctx, Span, Table};
use crate::config::{Cloud, TenantConfig};
use crate::record::ContentType;

/// Microsoft documents 2000 requests per minute per tenant (publisher).
const DEFAULT_REQUESTS_PER_MINUTE: u32 = 2000;

/// A tenant and where its `tenant_id` is written (to report duplicates).
pub(super) struct Parsed {
    pub cfg: TenantConfig,
    pub tenant_id_span: Option<Span>,
}

pub(super) fn tenant(
    ctx: &mut Ctx<'_>,
    name: &str,
    mut t: Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
) -> Parsed {
    let (tenant_id, tenant_id_span) = match guid(ctx, &mut t, "tenant_id", true) {
        Some((id, span)) => (id, Some(span)),
        None => (String::new(), None),
    };
    let client_id = guid(ctx, &mut t, "client_id", true)
        .map(|(id, _)| id)
        .unwrap_or_default();
    let publisher_id = guid(ctx, &mut t, "publisher_id", false)
        .map(|(id, _)| id)
        .unwrap_or_else(|| tenant_id.clone());
    let cred = credential(ctx, &mut t, base, env);

    let cloud = match t.str(ctx, "cloud") {
        None => Cloud::default(),
        Some((s, span)) => Cloud::parse(&s.to_ascii_lowercase()).unwrap_or_else(|| {
            ctx.report(
                &t.key("cloud"),
                Some(&span),
                format!("unknown cloud {s:?} (expected commercial, gcc, gcc_high or dod)"),
            );
            Cloud::default()
        }),
    };
    let content_types = content_types(ctx, &mut t);
    let api_url = url(ctx, &mut t, "api_url", cloud.api_url());
    let login_url = url(ctx, &mut t, "login_url", cloud.login_url());
    let graph_url = url(ctx, &mut t, "graph_url", cloud.graph_url());
    let resource = match t.str(ctx, "resource") {
        Some((s, span)) if s.trim().is_empty() => {
            ctx.report(&t.key("resource"), Some(&span), "is empty");
            String::new()
        }
        Some((s, _)) => s.to_string(),
        None => cloud.api_url().to_string(),
    };
    let proxy = proxy(ctx, &mut t);
    let requests_per_minute = t.int(
        ctx,
        "requests_per_minute",
        1..=1_000_000,
        DEFAULT_REQUESTS_PER_MINUTE,
    );
    t.finish(ctx);

    Parsed {
        cfg: TenantConfig {
            name: name.to_string(),
            tenant_id,
            client_id,
            client_secret: cred.secret,
            secret_origin: cred.origin,
            certificate: cred.certificate,
            proxy,
            cloud,
            content_types,
            publisher_id,
            api_url,
            login_url,
            resource,
            requests_per_minute,
            graph_url,
        },
        tenant_id_span,
    }
}

/// A GUID, lower-cased so that state keys and duplicate checks do not depend on its case.
fn guid(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    key: &'static str,
    required: bool,
) -> Option<(String, Span)> {
    let got = if required {
        t.required_str(ctx, key, "a GUID from the Entra ID app registration")
    } else {
        t.str(ctx, key)
    };
    let (s, span) = got?;
    if is_guid(s) {
        return Some((s.to_ascii_lowercase(), span));
    }
    ctx.report(
        &t.key(key),
        Some(&span),
        format!("{s:?} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
    );
    None
}

/// `content_types`: default all five; case-insensitive; no duplicates; not empty.
fn content_types(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>) -> Vec<ContentType> {
    let Some(v) = t.get("content_types") else {
        return ContentType::ALL.to_vec();
    };
    let key = t.key("content_types");
    let Some(items) = v.get_ref().as_array() else {
        t.wrong_type(ctx, "content_types", v, "an array of strings");
        return ContentType::ALL.to_vec();
    };
    if items.is_empty() {
        ctx.report(
            &key,
            Some(&v.span()),
            "is empty; remove the key to collect every content type",
        );
    }
    let mut out = Vec::new();
    for item in items {
        let Some(s) = item.get_ref().as_str() else {
            ctx.report(&key, Some(&item.span()), "expected a string");
            continue;
        };
        match ContentType::from_str(s) {
            Ok(ct) if out.contains(&ct) => {
                ctx.report(&key, Some(&item.span()), format!("{ct} is listed twice"));
            }
            Ok(ct) => out.push(ct),
            Err(e) => ctx.report(&key, Some(&item.span()), e.to_string()),
        }
    }
    out
}

/// An endpoint override, or the cloud's default.
fn url(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, key: &'static str, default: &str) -> Url {
    let default = Url::parse(default).expect("cloud URLs are valid constants");
    let Some((s, span)) = t.str(ctx, key) else {
        return default;
    };
    endpoint_url(s).unwrap_or_else(|e| {
        ctx.report(&t.key(key), Some(&span), e);
        default
    })
}

/// `proxy`: an `http://` or `https://` proxy for the token and API requests of this tenant.
/// HTTPS traffic is tunnelled (CONNECT), so the proxy sees host names, never tokens.
fn proxy(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>) -> Option<Url> {
    let (s, span) = t.str(ctx, "proxy")?;
    let shown = super::checks::redact_url(s);
    let problem = match Url::parse(s) {
        Err(e) => format!("{shown:?} is not a valid URL: {e}"),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            format!(
                "unsupported proxy scheme {:?} (expected http:// or https://)",
                u.scheme()
            )
        }
        Ok(u) if u.host().is_none() => format!("{shown:?} has no host"),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            "proxy credentials (user:password@) are not supported".into()
        }
        Ok(u) if u.path() != "/" || u.query().is_some() || u.fragment().is_some() => {
            format!("{shown:?} must be only scheme, host and port (no path or query)")
        }
        Ok(u) => return Some(u),
    };
    ctx.report(&t.key("proxy"), Some(&span), problem);
    None
}
