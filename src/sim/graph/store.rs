//! What a Graph audit query finds: every record of the tenant whose activity time lies in
//! the query's range, drawn from the same content model the Management API serves, so a
//! record has the same `Id` and the same JSON on both paths.
//!
//! The unified audit log holds each record once, whatever the blobs repeat; records are
//! kept for the audit licence's retention (180 days on Audit Standard), well beyond the
//! Management API's 7 days.

use std::collections::HashSet;

use serde_json::Value;

use super::super::model::{Feed, Model, RecRef};
use super::super::rng::{chance, hash};
use crate::record::ContentType;

/// A record's event happens up to this long before its blob is created (records::event_ms):
/// a search over a time range reads the blobs created up to that long after it.
const EVENT_LEAD_MS: i64 = super::super::records::MAX_EVENT_LAG_MS;
const P_REPEAT: u64 = 0x6EA7;

/// Whose records, seen when.
pub(crate) struct Scope<'a> {
    pub cts: &'a [ContentType],
    pub tenant: usize,
    pub now_ms: i64,
    pub retention_ms: i64,
}

/// What a query filters on (the filters the simulator implements).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filters {
    pub from_ms: i64,
    pub to_ms: i64,
    /// `auditLogRecordType` names.
    pub record_types: Vec<String>,
    /// `Workload` values.
    pub services: Vec<String>,
    pub operations: Vec<String>,
}

/// One record of a result: which event of which feed, and when it happened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub feed: Feed,
    pub rec: RecRef,
    pub time_ms: i64,
}

/// The records of a query, in the order pages serve them (newest first, as Purview lists).
#[derive(Debug)]
pub(crate) struct Results {
    pub hits: Vec<Hit>,
    /// Records found before the per-query limit was applied.
    pub found: u64,
    pub exceeded: bool,
}

/// Finds the records of `tenant` in `f.from_ms..f.to_ms` that exist at `now_ms` and are
/// still retained, applies the filters and the record limit, and appends `repeat_rate` of
/// them a second time (a repeat the client must drop).
pub(crate) fn find(
    m: &Model,
    scope: &Scope<'_>,
    f: &Filters,
    limit: u64,
    repeat_rate: f64,
) -> Results {
    let now_ms = scope.now_ms;
    let oldest = now_ms.saturating_sub(scope.retention_ms);
    let mut hits = Vec::new();
    let mut seen = HashSet::new();
    let mut json = String::new();
    for ct in scope.cts {
        let Some(feed) = m.feed(scope.tenant, *ct) else {
            continue;
        };
        let lo = m.index_at_or_after(&feed, f.from_ms);
        let hi = m
            .index_at_or_after(&feed, f.to_ms.saturating_add(EVENT_LEAD_MS))
            .saturating_add(2)
            .min(m.exist_count(&feed, now_ms));
        for i in lo..hi {
            for r in m.layout(&feed, i) {
                if !seen.insert((feed.ct, r.blob, r.slot, r.part)) {
                    continue;
                }
                json.clear();
                m.render_record(&feed, &r, &mut json);
                let Some(t) = time_of(&json) else { continue };
                if t < f.from_ms || t >= f.to_ms || t < oldest || t > now_ms {
                    continue;
                }
                if matches(&json, f) {
                    hits.push(Hit {
                        feed,
                        rec: r,
                        time_ms: t,
                    });
                }
            }
        }
    }
    hits.sort_by(|a, b| {
        (b.time_ms, b.rec.blob, b.rec.slot, b.rec.part)
            .cmp(&(a.time_ms, a.rec.blob, a.rec.slot, a.rec.part))
    });
    let found = hits.len() as u64;
    let exceeded = found > limit;
    hits.truncate(limit.min(usize::MAX as u64) as usize);
    let repeats: Vec<Hit> = hits
        .iter()
        .enumerate()
        .filter(|(n, h)| {
            chance(
                hash(&[h.feed.tenant as u64, *n as u64, P_REPEAT]),
                repeat_rate,
            )
        })
        .map(|(_, h)| *h)
        .collect();
    hits.extend(repeats);
    Results {
        hits,
        found,
        exceeded,
    }
}

/// `CreationTime` of a rendered record (it is the record's first member), in ms.
fn time_of(json: &str) -> Option<i64> {
    let at = json.find("\"CreationTime\":\"")? + 16;
    crate::record::parse_creation_time(json.get(at..at + 19)?).map(|t| t.timestamp_millis())
}

fn matches(json: &str, f: &Filters) -> bool {
    if f.record_types.is_empty() && f.services.is_empty() && f.operations.is_empty() {
        return true;
    }
    let Ok(v) = serde_json::from_str::<Value>(json) else {
        return false;
    };
    let rt = v["RecordType"]
        .as_i64()
        .and_then(crate::api::graph::graph_name_of);
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    (f.record_types.is_empty()
        || rt.is_some_and(|rt| f.record_types.iter().any(|w| w.eq_ignore_ascii_case(rt))))
        && (f.services.is_empty()
            || f.services
                .iter()
                .any(|w| w.eq_ignore_ascii_case(&s("Workload"))))
        && (f.operations.is_empty()
            || f.operations
                .iter()
                .any(|w| w.eq_ignore_ascii_case(&s("Operation"))))
}

/// One `auditLogRecord` as `/records` serves it: the common properties pulled out, and the
/// record itself in `auditData` behind Graph's type annotation.
pub(crate) fn render_item(m: &Model, h: &Hit, out: &mut String) {
    let mut json = String::new();
    m.render_record(&h.feed, &h.rec, &mut json);
    let v: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
    let s = |k: &str| v[k].clone();
    let record_type = v["RecordType"].as_i64();
    let item = serde_json::json!({
        "@odata.type": "#microsoft.graph.security.auditLogRecord",
        "id": s("Id"),
        "createdDateTime": v["CreationTime"].as_str().map(|t| format!("{t}Z")),
        "auditLogRecordType": record_type
            .and_then(crate::api::graph::graph_name_of)
            .unwrap_or("unknownFutureValue"),
        "operation": s("Operation"),
        "organizationId": s("OrganizationId"),
        "userType": user_type(v["UserType"].as_i64()),
        "userId": s("UserId"),
        "userPrincipalName": s("UserId"),
        "service": s("Workload"),
        "objectId": s("ObjectId"),
        "clientIp": s("ClientIP"),
        "administrativeUnits": [],
    });
    let item = item.to_string();
    // `auditData` goes in as text: the record's bytes stay exactly as rendered.
    out.push_str(&item[..item.len() - 1]);
    out.push_str(",\"auditData\":{\"@odata.type\":\"#microsoft.graph.security.auditData\",");
    out.push_str(&json[1..]);
    out.push('}');
}

/// `auditLogUserType` of the record's `UserType` number.
fn user_type(n: Option<i64>) -> &'static str {
    const NAMES: [&str; 11] = [
        "regular",
        "reserved",
        "admin",
        "dcAdmin",
        "system",
        "application",
        "servicePrincipal",
        "customPolicy",
        "systemPolicy",
        "partnerTechnician",
        "guest",
    ];
    n.and_then(|n| usize::try_from(n).ok())
        .and_then(|n| NAMES.get(n).copied())
        .unwrap_or("unknownFutureValue")
}

/// Every distinct record id in `from..to` (ms) of a tenant, unfiltered: the ground truth a
/// backfill of that range must deliver.
pub(crate) fn ids(m: &Model, scope: &Scope<'_>, from_ms: i64, to_ms: i64) -> Vec<String> {
    let f = Filters {
        from_ms,
        to_ms,
        ..Filters::default()
    };
    find(m, scope, &f, u64::MAX, 0.0)
        .hits
        .iter()
        .map(|h| m.record_id(&h.feed, &h.rec))
        .collect()
}

#[cfg(test)]
mod tests;
