//! The Graph audit search resources as they travel: the query (`auditLogQuery`), the body
//! that creates one, and a page of `auditLogRecord`s whose `auditData` is the audit record.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::record::{Record, parse_creation_time};

/// `auditLogQueryStatus`. The enum may grow (`unknownFutureValue`): an unknown value is
/// kept as it came and treated as still working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    NotStarted,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Other(String),
}

impl QueryStatus {
    pub fn parse(s: &str) -> QueryStatus {
        match s {
            "notStarted" => QueryStatus::NotStarted,
            "running" => QueryStatus::Running,
            "succeeded" => QueryStatus::Succeeded,
            "failed" => QueryStatus::Failed,
            "cancelled" => QueryStatus::Cancelled,
            other => QueryStatus::Other(other.chars().take(64).collect()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            QueryStatus::NotStarted => "notStarted",
            QueryStatus::Running => "running",
            QueryStatus::Succeeded => "succeeded",
            QueryStatus::Failed => "failed",
            QueryStatus::Cancelled => "cancelled",
            QueryStatus::Other(s) => s,
        }
    }

    /// The query ended without results: it has to be made again.
    pub fn is_lost(&self) -> bool {
        matches!(self, QueryStatus::Failed | QueryStatus::Cancelled)
    }
}

impl std::fmt::Display for QueryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `auditLogQuery`: what the service says about one query. Counts are `Int64`, which Graph
/// may send as numbers or strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogQuery {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub filter_start_date_time: Option<String>,
    #[serde(default)]
    pub filter_end_date_time: Option<String>,
    #[serde(default, deserialize_with = "status")]
    pub status: Option<QueryStatus>,
    #[serde(default, deserialize_with = "int64")]
    pub approximate_returned_record_count: Option<u64>,
    #[serde(default)]
    pub is_record_count_limit_exceeded: Option<bool>,
    #[serde(default, deserialize_with = "int64")]
    pub record_count_limit: Option<u64>,
}

impl AuditLogQuery {
    pub fn status(&self) -> QueryStatus {
        self.status
            .clone()
            .unwrap_or_else(|| QueryStatus::Other("(none)".into()))
    }

    pub fn range(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let t = |s: &Option<String>| s.as_deref().and_then(parse_creation_time);
        Some((
            t(&self.filter_start_date_time)?,
            t(&self.filter_end_date_time)?,
        ))
    }
}

fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<QueryStatus>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| QueryStatus::parse(&s)))
}

fn int64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// The body of `POST /security/auditLog/queries`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuerySpec {
    pub display_name: String,
    pub filter_start_date_time: String,
    pub filter_end_date_time: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub record_type_filters: Vec<String>,
}

impl QuerySpec {
    pub fn new(
        display_name: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        record_types: &[String],
    ) -> QuerySpec {
        let t = |d: DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        QuerySpec {
            display_name,
            filter_start_date_time: t(from),
            filter_end_date_time: t(to),
            record_type_filters: record_types.to_vec(),
        }
    }
}

/// One `auditLogRecord`: the audit record, and the time Graph gives it.
#[derive(Debug)]
pub struct Item {
    pub record: Record,
    /// `createdDateTime`, used when `auditData` lacks a `CreationTime`.
    pub created: Option<DateTime<Utc>>,
}

impl Item {
    /// When the activity happened: the record's `CreationTime`, else Graph's time.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.record.creation_time.or(self.created)
    }
}

/// A page of `/records`: every element (or why it cannot be used) and the next page.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Result<Item, String>>,
    pub next: Option<String>,
}

/// Parses a page. A body that is not a `{"value": [...]}` object is an error (the page is
/// fetched again); one bad element is reported as such and its neighbours kept.
pub fn parse_page(body: &[u8], source: &str) -> Result<Page, String> {
    #[derive(Deserialize)]
    struct RawPage<'a> {
        #[serde(borrow)]
        value: Option<Vec<&'a RawValue>>,
        #[serde(rename = "@odata.nextLink", default)]
        next: Option<String>,
    }
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    let page: RawPage = serde_json::from_str(text).map_err(|e| format!("not a page: {e}"))?;
    let value = page.value.ok_or("the page has no \"value\" array")?;
    let items = value
        .iter()
        .enumerate()
        .map(|(i, raw)| item(raw, &format!("{source}#{i}")))
        .collect();
    let next = page
        .next
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    Ok(Page { items, next })
}

fn item(raw: &RawValue, fallback: &str) -> Result<Item, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawItem<'a> {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        created_date_time: Option<String>,
        #[serde(default, borrow)]
        audit_data: Option<&'a RawValue>,
    }
    let it: RawItem = serde_json::from_str(raw.get()).map_err(|e| format!("not a record: {e}"))?;
    let audit = it.audit_data.ok_or("the record has no auditData")?;
    let text = audit_record_text(audit)?;
    let id = it
        .id
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(fallback);
    let record = Record::from_json(&text, id).map_err(|e| format!("auditData: {e}"))?;
    Ok(Item {
        record,
        created: it
            .created_date_time
            .as_deref()
            .and_then(parse_creation_time),
    })
}

/// The record in `auditData` as the Management Activity API serves it: the same members, in
/// the same order and with the same values, without the OData annotations (`@odata.type`)
/// Graph adds. So every format maps a backfilled record exactly as a live one.
pub fn audit_record_text(audit: &RawValue) -> Result<String, String> {
    let text = audit.get();
    if !text.starts_with('{') {
        return Err("auditData is not a JSON object".into());
    }
    if !text.contains("\"@odata.") {
        return Ok(text.to_string());
    }
    struct Members<'a>(Vec<(String, &'a RawValue)>);
    impl<'de> Deserialize<'de> for Members<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Members<'de>, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                        out.push((k, v));
                    }
                    Ok(Members(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    let m: Members = serde_json::from_str(text).map_err(|e| format!("auditData: {e}"))?;
    let mut out = String::with_capacity(text.len());
    out.push('{');
    for (k, v) in m.0.iter().filter(|(k, _)| !k.starts_with("@odata.")) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).map_err(|e| e.to_string())?);
        out.push(':');
        out.push_str(v.get());
    }
    out.push('}');
    Ok(out)
}

#[cfg(test)]
mod tests;
