//! The Management Activity API operations (reference §2–§4).

use axum::http::Method;
use chrono::DateTime;
use serde_json::json;

use super::faults;
use super::lock;
use super::model::{Feed, IdError, Malformed};
use super::rng::{Rng, hash};
use super::server::{Reply, Req, Shared, Sub, SubStatus, not_found};
use super::window::{self, Window};
use crate::record::ContentType;

const START_INTERVAL_MS: i64 = 15 * 60_000;
const ZERO_PUBLISHER: &str = "00000000-0000-0000-0000-000000000000";
const P_PAGE: u64 = 0x9A6E;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Start,
    Stop,
    List,
    Content,
    Notifications,
    Blob,
    DlpTypes,
}

impl Op {
    fn method(self) -> Method {
        match self {
            Op::Start | Op::Stop => Method::POST,
            _ => Method::GET,
        }
    }

    /// The `Method=` name in `AF429` messages.
    fn throttle_name(self) -> &'static str {
        match self {
            Op::Start => "StartSubscription",
            Op::Stop => "StopSubscription",
            Op::List => "ListSubscriptions",
            Op::Content => "GetContents",
            Op::Notifications => "GetNotifications",
            Op::Blob => "GetBlob",
            Op::DlpTypes => "GetResources",
        }
    }
}

pub(crate) fn handle(s: &Shared, tenant: &str, rest: &[&str], r: &Req<'_>) -> Reply {
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let op = match rest {
        [sub, op] if is(sub, "subscriptions") => match op.to_ascii_lowercase().as_str() {
            "start" => Op::Start,
            "stop" => Op::Stop,
            "list" => Op::List,
            "content" => Op::Content,
            "notifications" => Op::Notifications,
            _ => {
                return not_found(
                    s,
                    &format!("/api/v1.0/{tenant}/activity/feed/{}", rest.join("/")),
                );
            }
        },
        [a, _] if is(a, "audit") => Op::Blob,
        [res, dlp] if is(res, "resources") && is(dlp, "dlpSensitiveTypes") => Op::DlpTypes,
        _ => {
            return not_found(
                s,
                &format!("/api/v1.0/{tenant}/activity/feed/{}", rest.join("/")),
            );
        }
    };
    if *r.method != op.method() {
        return Reply::message(
            405,
            &format!(
                "The requested resource does not support http method '{}'.",
                r.method
            ),
        );
    }
    let Some(token_tenant) = authenticate(s, r) else {
        return Reply::message(401, "Authorization has been denied for this request.")
            .with_header("www-authenticate", "Bearer".into());
    };
    if !is_guid(tenant) {
        return Reply::error(
            400,
            "AF20013",
            &format!("The tenant ID passed in the URL ({tenant}) is not a valid GUID."),
        );
    }
    let t = match s.model.tenant_index(tenant) {
        Some(t) if t == token_tenant => t,
        _ => {
            return Reply::error(
                403,
                "AF20010",
                &format!(
                    "The tenant ID passed in the URL ({tenant}) does not match the tenant ID passed in the access token ({}).",
                    s.cfg.tenants[token_tenant].tenant_id
                ),
            );
        }
    };
    let publisher = r
        .params
        .get("PublisherIdentifier")
        .unwrap_or(ZERO_PUBLISHER);
    if let Some(reply) = s.hostile_throttle(t) {
        return reply;
    }
    if let Some(reply) = faults::admit(s, t, op.throttle_name(), publisher) {
        return reply;
    }
    let result = match op {
        Op::Start => start(s, t, r),
        Op::Stop => stop(s, t, r),
        Op::List => Ok(list(s, t)),
        Op::Content => content(s, t, r),
        Op::Notifications => notifications(s, t, r),
        Op::Blob => blob(s, t, rest[1]),
        Op::DlpTypes => Ok(dlp_types()),
    };
    result.unwrap_or_else(|e| e)
}

/// The tenant index of a valid, unexpired bearer token for this API.
fn authenticate(s: &Shared, r: &Req<'_>) -> Option<usize> {
    super::token::bearer(s, r, false)
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn content_type(r: &Req<'_>) -> Result<ContentType, Reply> {
    let Some(v) = r.params.get("contentType") else {
        return Err(Reply::error(
            400,
            "AF20001",
            "Missing parameter: contentType.",
        ));
    };
    v.parse().map_err(|_| {
        Reply::error(
            400,
            "AF20020",
            &format!("The specified content type is not valid: {v}."),
        )
    })
}

fn sub_json(ct: ContentType, sub: &Sub) -> serde_json::Value {
    let status = match sub.status {
        Some(SubStatus::Enabled) => "enabled",
        _ => "disabled",
    };
    json!({"contentType": ct.as_str(), "status": status, "webhook": sub.webhook})
}

fn start(s: &Shared, t: usize, r: &Req<'_>) -> Result<Reply, Reply> {
    let ct = content_type(r)?;
    let body: serde_json::Value = serde_json::from_slice(r.body).unwrap_or(serde_json::Value::Null);
    let webhook = match body.get("webhook") {
        Some(w) if w.is_object() => {
            let address = w.get("address").and_then(|a| a.as_str()).unwrap_or("");
            if !address.to_ascii_lowercase().starts_with("https://") {
                return Err(Reply::error(
                    400,
                    "AF20021",
                    &format!(
                        "The webhook endpoint {{{address}}} could not be validated. The address must begin with HTTPS."
                    ),
                ));
            }
            Some(json!({
                "status": "enabled",
                "address": address,
                "authId": w.get("authId").cloned().unwrap_or(serde_json::Value::Null),
                "expiration": w.get("expiration").filter(|e| e.as_str() != Some("")).cloned().unwrap_or(serde_json::Value::Null),
            }))
        }
        _ => None,
    };
    let now = s.clock.now_ms();
    let mut subs = lock(&s.subs);
    let sub = subs.entry((t, ct)).or_default();
    if let Some(last) = sub.last_start_ms.filter(|l| now - l < START_INTERVAL_MS) {
        let wait = (START_INTERVAL_MS - (now - last)).div_euclid(1000);
        return Err(Reply::error(
            429,
            "AF429",
            &format!(
                "Too many frequent subscription start requests. Please retry again after {}m {}s",
                wait / 60,
                wait % 60
            ),
        ));
    }
    sub.last_start_ms = Some(now);
    if sub.status == Some(SubStatus::Enabled) && sub.webhook == webhook {
        return Err(Reply::error(
            400,
            "AF20024",
            "The subscription is already enabled. No property change.",
        ));
    }
    sub.status = Some(SubStatus::Enabled);
    sub.webhook = webhook;
    Ok(Reply::json(200, sub_json(ct, sub).to_string()))
}

fn stop(s: &Shared, t: usize, r: &Req<'_>) -> Result<Reply, Reply> {
    let ct = content_type(r)?;
    let mut subs = lock(&s.subs);
    match subs.get_mut(&(t, ct)) {
        Some(sub) if sub.status.is_some() => {
            sub.status = Some(SubStatus::Disabled);
            Ok(Reply::json(200, String::new()))
        }
        _ => Err(no_subscription()),
    }
}

fn list(s: &Shared, t: usize) -> Reply {
    let subs = lock(&s.subs);
    let items: Vec<serde_json::Value> = ContentType::ALL
        .iter()
        .filter_map(|ct| {
            subs.get(&(t, *ct))
                .filter(|sub| sub.status.is_some())
                .map(|sub| sub_json(*ct, sub))
        })
        .collect();
    Reply::json(200, serde_json::Value::Array(items).to_string())
}

fn no_subscription() -> Reply {
    Reply::error(
        400,
        "AF20022",
        "No subscription found for the specified content type",
    )
}

/// `AF20022`/`AF20023` unless the subscription is enabled.
fn require_enabled(s: &Shared, t: usize, ct: ContentType) -> Result<(), Reply> {
    match lock(&s.subs).get(&(t, ct)).and_then(|sub| sub.status) {
        Some(SubStatus::Enabled) => Ok(()),
        Some(SubStatus::Disabled) => Err(Reply::error(
            400,
            "AF20023",
            "The subscription was disabled by a tenant admin.",
        )),
        None => Err(no_subscription()),
    }
}

fn fmt_meta(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn notifications(s: &Shared, t: usize, r: &Req<'_>) -> Result<Reply, Reply> {
    let ct = content_type(r)?;
    require_enabled(s, t, ct)?;
    window::validate(
        r.params.get("startTime"),
        r.params.get("endTime"),
        s.clock.now_ms(),
    )?;
    // No webhook is ever called, so there is no delivery attempt to report.
    Ok(Reply::json(200, "[]".into()))
}

fn page_check(f: &Feed, idx: u64, w: &Window) -> u64 {
    hash(&[
        f.ct as u64,
        idx,
        w.from_ms as u64,
        w.to_ms as u64,
        P_PAGE,
        f.tenant as u64,
    ]) % 1_000_000
}

/// Opaque-looking page token, e.g. `2025030214R0000001234567890`; bound to feed and window.
fn page_token(s: &Shared, f: &Feed, idx: u64, w: &Window) -> String {
    let hour = DateTime::from_timestamp_millis(s.model.created_ms(f, idx))
        .map(|t| t.format("%Y%m%d%H").to_string())
        .unwrap_or_else(|| "1970010100".into());
    format!("{hour}R{idx:010}{:06}", page_check(f, idx, w))
}

fn parse_page_token(f: &Feed, tok: &str, w: &Window) -> Option<u64> {
    let rest = tok.get(11..)?;
    if tok.as_bytes().get(10) != Some(&b'R')
        || rest.len() != 16
        || !rest.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let idx: u64 = rest[..10].parse().ok()?;
    let check: u64 = rest[10..].parse().ok()?;
    (check == page_check(f, idx, w)).then_some(idx)
}

fn content(s: &Shared, t: usize, r: &Req<'_>) -> Result<Reply, Reply> {
    let ct = content_type(r)?;
    require_enabled(s, t, ct)?;
    let now = s.clock.now_ms();
    let w = window::validate(r.params.get("startTime"), r.params.get("endTime"), now)?;
    let Some(f) = s.model.feed(t, ct) else {
        return Ok(Reply::json(200, "[]".into()));
    };
    if let Some(reply) = s.hostile_listing_bomb(t) {
        return Ok(reply);
    }
    let m = &s.model;
    let range = m.window(&f, w.from_ms, w.to_ms, now);
    let mut cursor = range.start;
    if let Some(tok) = r.params.get("nextPage") {
        match parse_page_token(&f, tok, &w) {
            Some(idx) => cursor = cursor.max(idx),
            None => {
                return Err(Reply::error(
                    400,
                    "AF20031",
                    &format!("Invalid nextPage Input: {tok}."),
                ));
            }
        }
    }
    let page_size = s.cfg.page_size.max(1);
    let mut page = Vec::with_capacity(page_size.min(1024));
    // Positions past `range.end` repeat the window's first blob (a hostile knob).
    let repeated = (range.start..range.end).find(|j| m.is_available(&f, *j, now));
    let end = range.end + repeated.map_or(0, |_| s.repeat_listing(t));
    let mut i = cursor;
    while i < end && page.len() < page_size {
        if i >= range.end {
            page.extend(repeated);
        } else if m.is_available(&f, i, now) {
            page.push(i);
        }
        i += 1;
    }
    let next = (i..range.end)
        .find(|j| m.is_available(&f, *j, now))
        .or((i.max(range.end) < end).then_some(i.max(range.end)));
    Rng::new(hash(&[f.ct as u64, cursor, P_PAGE])).shuffle(&mut page);
    let tenant_id = &s.cfg.tenants[t].tenant_id;
    let entries: Vec<serde_json::Value> = page
        .iter()
        .map(|&i| {
            let id = m.content_id(&f, i);
            let host = if m.is_hostile(&f, i) {
                &s.evil_url
            } else {
                &s.base_url
            };
            json!({
                "contentType": ct.as_str(),
                "contentId": id,
                "contentUri": format!("{host}/api/v1.0/{tenant_id}/activity/feed/audit/{id}"),
                "contentCreated": fmt_meta(m.created_ms(&f, i)),
                "contentExpiration": fmt_meta(m.expires_ms(&f, i)),
            })
        })
        .collect();
    let mut entries = entries;
    let first_page = r.params.get("nextPage").is_none();
    entries.extend(s.hostile_entries(t, ct, first_page, &fmt_meta(m.created_ms(&f, 0))));
    let mut reply = Reply::json(200, serde_json::Value::Array(entries).to_string());
    if let Some(next) = next {
        let hostile = s.cfg.hostile_next_page && lock(&s.hostile_page_sent).insert((t, ct));
        let host = if hostile { &s.evil_url } else { &s.base_url };
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        // Like the Elastic mock, sometimes lower-case a parameter name to keep clients honest.
        let end_name = if hash(&[f.ct as u64, next, 0xE1D]) % 4 == 0 {
            "endtime"
        } else {
            "endTime"
        };
        let uri = format!(
            "{host}/api/v1/{tenant_id}/activity/feed/subscriptions/content?contentType={}&startTime={}&{end_name}={}&nextPage={}",
            ct.as_str(),
            enc(&w.start_text),
            enc(&w.end_text),
            page_token(s, &f, next, &w)
        );
        reply = reply.with_header("nextpageuri", uri);
    }
    Ok(reply)
}

fn blob(s: &Shared, t: usize, content_id: &str) -> Result<Reply, Reply> {
    let (f, i) = s
        .model
        .parse_content_id(t, content_id)
        .map_err(|e| match e {
            IdError::Malformed => Reply::error(
                400,
                "AF20052",
                &format!("Content ID {content_id} in the URL is invalid."),
            ),
            IdError::Unknown => unknown_content(content_id),
        })?;
    require_enabled(s, t, f.ct)?;
    let now = s.clock.now_ms();
    let m = &s.model;
    if i >= m.exist_count(&f, now) {
        return Err(unknown_content(content_id));
    }
    if m.is_expired(&f, i, now) {
        return Err(Reply::error(
            404,
            "AF20051",
            &format!(
                "Content requested with the key {content_id} has already expired. Content older than 7 days cannot be retrieved."
            ),
        ));
    }
    if !m.is_available(&f, i, now) {
        return Err(unknown_content(content_id));
    }
    let fetches = {
        let mut counts = lock(&s.fetches);
        let c = counts.entry((t, f.ct, i)).or_insert(0);
        *c += 1;
        *c
    };
    let mut body = String::new();
    if s.is_bomb(t, i) || s.cfg.hostile.cut_blob == Some(i) {
        m.render_blob(&f, i, &mut body);
        if let Some(reply) = s.hostile_blob(t, i, fetches, &body) {
            return Ok(reply);
        }
        body.clear();
    }
    let broken = m
        .malformed(&f, i)
        .filter(|_| s.cfg.malformed_heal_after.is_none_or(|n| fetches <= n));
    match broken {
        Some(kind) => {
            m.render_malformed(&f, i, kind, &mut body);
            let mut reply = Reply::json(200, body);
            if kind == Malformed::Html {
                reply.content_type = "text/html";
            }
            Ok(reply)
        }
        None => {
            m.render_blob(&f, i, &mut body);
            Ok(Reply::json(200, body))
        }
    }
}

fn unknown_content(id: &str) -> Reply {
    Reply::error(404, "AF20050", &format!("The content {id} does not exist."))
}

fn dlp_types() -> Reply {
    let body = json!([
        {"id": "50842eb7-edc8-4019-85dd-5a5c1f2bb085", "name": "CreditCardNumber"},
        {"id": "0e9b3178-9678-47dd-a509-37222ca96b42", "name": "EUDebitCardNumber"},
        {"id": "a44669fe-0d48-453d-a9b1-2cc83f2cba77", "name": "USSocialSecurityNumber"},
    ]);
    Reply::json(200, body.to_string())
}
