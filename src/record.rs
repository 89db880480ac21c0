//! The audit record model: content types, one record as received, and blob parsing.
//!
//! A record keeps its exact JSON text (`raw`) so the raw format forwards it byte for byte
//! and nothing the API sends is ever lost in a round trip; the few fields the pipeline needs
//! (id, time, operation, workload, record type) are pulled out once at parse time.

pub mod classify;
pub mod content_type;
pub mod scan;
pub mod split;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use self::scan::{Index, Member, Scan, ScanError, scan_array, scan_value};

/// The five content types of the Management Activity API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentType {
    AzureActiveDirectory,
    Exchange,
    SharePoint,
    General,
    DlpAll,
}

impl ContentType {
    pub const ALL: [ContentType; 5] = [
        ContentType::AzureActiveDirectory,
        ContentType::Exchange,
        ContentType::SharePoint,
        ContentType::General,
        ContentType::DlpAll,
    ];

    /// The name the API uses (`Audit.General` …).
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::AzureActiveDirectory => "Audit.AzureActiveDirectory",
            ContentType::Exchange => "Audit.Exchange",
            ContentType::SharePoint => "Audit.SharePoint",
            ContentType::General => "Audit.General",
            ContentType::DlpAll => "DLP.All",
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown content type {0:?} (expected one of Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All)"
)]
pub struct UnknownContentType(pub String);

impl FromStr for ContentType {
    type Err = UnknownContentType;
    /// Case-insensitive, as the API itself is.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContentType::ALL
            .into_iter()
            .find(|ct| ct.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownContentType(s.to_string()))
    }
}

/// The exact JSON text of a record, as the API sent it (validated when scanned): a range
/// of its blob's text, which the blob's records share with the scan's member index. One
/// allocation per blob and no copy, where a copy per record (too large for the allocator's
/// fast path) and its index were among the agent's hottest costs.
#[derive(Debug, Clone)]
pub struct RawText {
    src: Arc<Source>,
    start: usize,
    end: usize,
}

/// A blob's text and the members of its records.
#[derive(Debug)]
struct Source {
    text: String,
    members: Vec<Member>,
}

impl RawText {
    pub fn get(&self) -> &str {
        &self.src.text[self.start..self.end]
    }

    /// A text of its own, for one record.
    fn single(text: String, members: Vec<Member>) -> RawText {
        let end = text.len();
        RawText {
            src: Arc::new(Source { text, members }),
            start: 0,
            end,
        }
    }
}

impl PartialEq for RawText {
    fn eq(&self, other: &RawText) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawText {}

/// One audit record as received, with the fields the pipeline needs pulled out.
#[derive(Debug, Clone)]
pub struct Record {
    /// The exact JSON text of the record, as the API sent it.
    pub raw: RawText,
    /// Where the top-level members of `raw` are (see [`scan::Element::index`]): every
    /// reader goes through this index instead of parsing the record again.
    index: Option<Index>,
    /// See [`Record::id`].
    id: Text,
    /// `CreationTime` (UTC; the API omits the zone).
    pub creation_time: Option<DateTime<Utc>>,
    operation: Option<Text>,
    workload: Option<Text>,
    pub record_type: Option<i64>,
}

/// A string field pulled out of a record: where it is in its blob's text when it has no
/// escapes (the usual case: no allocation per field and record), or its own copy.
#[derive(Debug, Clone)]
enum Text {
    Span(u32, u32),
    Owned(Box<str>),
}

impl Text {
    /// `s` as a span of `blob` (the whole text the record is a range of) when it is
    /// borrowed from it.
    fn of(s: std::borrow::Cow<'_, str>, blob: &str) -> Text {
        let at = (s.as_ptr() as usize).wrapping_sub(blob.as_ptr() as usize);
        match s {
            std::borrow::Cow::Borrowed(b)
                if at <= blob.len()
                    && blob.len() - at >= b.len()
                    && blob.len() <= u32::MAX as usize =>
            {
                Text::Span(at as u32, (at + b.len()) as u32)
            }
            other => Text::Owned(other.into_owned().into()),
        }
    }

    fn get<'a>(&'a self, blob: &'a str) -> &'a str {
        match self {
            Text::Span(a, b) => &blob[*a as usize..*b as usize],
            Text::Owned(s) => s,
        }
    }
}

/// The fields read at parse time; everything else stays in `raw` untouched.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "Id", default, borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "CreationTime", default, borrow)]
    creation_time: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "Operation", default, borrow)]
    operation: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "Workload", default, borrow)]
    workload: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "RecordType", default)]
    record_type: Option<IntOrString>,
}

/// Third-party re-serialisations sometimes stringify numbers (`"21"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrString {
    Int(i64),
    Str(String),
    #[allow(dead_code)]
    Other(serde::de::IgnoredAny),
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("malformed blob (expected a JSON array of audit records): {0}")]
    NotAnArray(ScanError),
}

/// Parses a blob (a JSON array of records) in one scan. A blob that is not an array is an
/// error; an element that is not an object is still kept (with a synthetic id) so nothing
/// is lost.
pub fn parse_blob(content_id: &str, body: impl Into<Vec<u8>>) -> Result<Vec<Record>, BlobError> {
    let text = String::from_utf8(body.into())
        .map_err(|e| BlobError::NotAnArray(scan::invalid_utf8(e.utf8_error().valid_up_to())))?;
    let Scan { elements, members } = scan_array(&text).map_err(BlobError::NotAnArray)?;
    let src = Arc::new(Source { text, members });
    Ok(elements
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let raw = RawText {
                src: src.clone(),
                start: e.start,
                end: e.end,
            };
            Record::build(raw, e.index, content_id, i)
        })
        .collect())
}

impl Record {
    /// Builds a record from one element of a blob.
    pub fn from_raw(raw: Box<RawValue>, content_id: &str, index: usize) -> Record {
        let text: Box<str> = raw.into();
        // A RawValue is valid JSON, so the scan cannot fail; it only builds the index.
        match scan_value(&text) {
            Ok(s) => {
                let text = text[s.start..s.end].to_string();
                Record::build(RawText::single(text, s.members), s.index, content_id, index)
            }
            Err(_) => Record::build(
                RawText::single(text.into(), vec![]),
                None,
                content_id,
                index,
            ),
        }
    }

    /// Builds a record from JSON text (tests, import).
    pub fn from_json(text: &str, fallback_id: &str) -> Result<Record, ScanError> {
        let s = scan_value(text)?;
        let raw = RawText::single(text[s.start..s.end].to_string(), s.members);
        Ok(Record::build(raw, s.index, fallback_id, 0))
    }

    fn build(raw: RawText, index: Option<Index>, content_id: &str, at: usize) -> Record {
        let head = match index {
            Some(i) => Some(head_from_index(raw.get(), i.of(&raw.src.members))),
            None => serde_json::from_str::<Head>(raw.get()).ok(),
        };
        let text = |s| Text::of(s, &raw.src.text);
        let (id, creation_time, operation, workload, record_type) = match head {
            Some(h) => (
                h.id.filter(|s| !s.is_empty()).map(text),
                h.creation_time.as_deref().and_then(parse_creation_time),
                h.operation.map(text),
                h.workload.map(text),
                match h.record_type {
                    Some(IntOrString::Int(n)) => Some(n),
                    Some(IntOrString::Str(s)) => s.trim().parse().ok(),
                    _ => None,
                },
            ),
            None => (None, None, None, None, None),
        };
        Record {
            id: id.unwrap_or_else(|| Text::Owned(format!("{content_id}#{at}").into())),
            raw,
            index,
            creation_time,
            operation,
            workload,
            record_type,
        }
    }

    /// The record `Id`, or `{content_id}#{index}` when the record has none (deterministic,
    /// so re-fetching the same immutable blob yields the same id).
    pub fn id(&self) -> &str {
        self.id.get(&self.raw.src.text)
    }

    /// `Operation`, when it is a string.
    pub fn operation(&self) -> Option<&str> {
        self.operation.as_ref().map(|t| t.get(&self.raw.src.text))
    }

    /// `Workload`, when it is a string.
    pub fn workload(&self) -> Option<&str> {
        self.workload.as_ref().map(|t| t.get(&self.raw.src.text))
    }

    /// The scan's index of the top-level members, when the record is an object with plain,
    /// unique keys.
    pub fn members(&self) -> Option<&[Member]> {
        self.index.map(|i| i.of(&self.raw.src.members))
    }

    /// The index itself (with its key signature), when there is one.
    pub fn index(&self) -> Option<Index> {
        self.index
    }
}

/// [`Head`] read from the index: the same values, without parsing the record again. A
/// field of the wrong JSON type counts as absent, as with serde.
fn head_from_index<'a>(text: &'a str, members: &[Member]) -> Head<'a> {
    use crate::record::classify::view::raw_str;
    let mut h = Head {
        id: None,
        creation_time: None,
        operation: None,
        workload: None,
        record_type: None,
    };
    for m in members {
        let v = m.value(text);
        let s = || raw_str(classify::view::Json::from_trusted(v));
        match m.key(text) {
            "Id" => h.id = s(),
            "CreationTime" => h.creation_time = s(),
            "Operation" => h.operation = s(),
            "Workload" => h.workload = s(),
            "RecordType" => {
                h.record_type = match v.as_bytes().first() {
                    Some(b'"') => s().map(|s| IntOrString::Str(s.into_owned())),
                    _ => v.parse::<i64>().ok().map(IntOrString::Int),
                }
            }
            _ => {}
        }
    }
    h
}

/// Parses `CreationTime`: the API sends `2015-06-29T20:03:19` (UTC, no zone); RFC 3339 and
/// fractional seconds are accepted too.
pub fn parse_creation_time(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = parse_api_time(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// The API's own shape, `YYYY-MM-DDTHH:MM:SS` with an optional `Z`, read by hand: chrono's
/// format-string parser was 1.5 % of the agent's CPU on a backlog (one call per record).
fn parse_api_time(s: &str) -> Option<DateTime<Utc>> {
    let b = s.strip_suffix('Z').unwrap_or(s).as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(n(0..4)? as i32, n(5..7)?, n(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(n(11..13)?, n(14..16)?, n(17..19)?)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests;
