//! `[tenants.NAME]`: identity, secret, cloud, content types and endpoint overrides.

use std::path::Path;

use url::Url;

use super::credential::credential;
use super::table::{Ctx, Span, Table};
use crate::api::tenant::{self as rules, Cloud, TenantConfig};
use crate::record::ContentType;
use crate::secret::Env;

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
        Some((s, span)) => rules::cloud(s).unwrap_or_else(|e| {
            ctx.report(&t.key("cloud"), Some(&span), e);
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
        rules::REQUESTS_PER_MINUTE_RANGE,
        rules::REQUESTS_PER_MINUTE,
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
    match rules::guid(s) {
        Ok(id) => Some((id, span)),
        Err(e) => {
            ctx.report(&t.key(key), Some(&span), e);
            None
        }
    }
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
        ctx.report(&key, Some(&v.span()), rules::CONTENT_TYPES_EMPTY);
    }
    let mut out = Vec::new();
    for item in items {
        let Some(s) = item.get_ref().as_str() else {
            ctx.report(&key, Some(&item.span()), "expected a string");
            continue;
        };
        match rules::content_type(s, &out) {
            Ok(ct) => out.push(ct),
            Err(e) => ctx.report(&key, Some(&item.span()), e),
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
    rules::endpoint_url(s).unwrap_or_else(|e| {
        ctx.report(&t.key(key), Some(&span), e);
        default
    })
}

/// `proxy` ([`rules::proxy_url`]).
fn proxy(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>) -> Option<Url> {
    let (s, span) = t.str(ctx, "proxy")?;
    rules::proxy_url(s)
        .map_err(|e| ctx.report(&t.key("proxy"), Some(&span), e))
        .ok()
}
