//! Content listings, read one page at a time, each entry checked on its own: an entry the
//! agent cannot use (no id, a date that is not a date, a URI that is not a URI, not even an
//! object) is set aside with its reason, and the rest of the page goes on. Memory is one
//! page, however many entries a window lists.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use url::Url;

use super::ApiError;
use super::client::{Call, TenantClient};
use super::content::ContentInfo;
use crate::record::ContentType;
use crate::telemetry::progress::Progress;

/// Largest listing page read (decoded). Pages of the real API hold a few hundred entries of
/// about 350 bytes; 16 MiB is some 45,000 entries.
pub const MAX_PAGE_BYTES: u64 = 16 << 20;
/// Listing pages followed within one window before giving up on it.
const MAX_PAGES: u32 = 100_000;
/// Longest content id accepted (real ones are about 120 characters).
const MAX_ID_LEN: usize = 512;

/// An entry that could not be used, with why. `content_id` is the entry's own when it has a
/// printable one, else `unidentified-` and a digest of the entry's text (stable, so the same
/// bad entry listed again is recognised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry {
    pub content_id: String,
    pub reason: String,
    /// The times the entry gave, when they parsed (state keeps the entry until it expires).
    pub created: Option<DateTime<Utc>>,
    pub expiration: Option<DateTime<Utc>>,
}

/// One page: the usable entries and the ones set aside.
#[derive(Debug, Default)]
pub struct Page {
    pub entries: Vec<ContentInfo>,
    pub bad: Vec<BadEntry>,
}

/// Parses a listing page. Only a body that is not a JSON array at all is an error; every
/// element is judged on its own.
pub fn parse_page(body: &[u8]) -> Result<Page, ApiError> {
    let raw: Vec<&RawValue> = serde_json::from_slice(body)
        .map_err(|e| ApiError::Malformed(format!("content listing is not a JSON array: {e}")))?;
    let mut page = Page::default();
    for r in raw {
        match entry(r) {
            Ok(c) => page.entries.push(c),
            Err(b) => page.bad.push(b),
        }
    }
    Ok(page)
}

/// One entry: a well-formed one is read straight into [`ContentInfo`]; anything else is
/// taken apart field by field to say what is wrong with it.
fn entry(raw: &RawValue) -> Result<ContentInfo, BadEntry> {
    let text = raw.get();
    if let Ok(c) = serde_json::from_str::<ContentInfo>(text) {
        if usable_id(&c.content_id) && Url::parse(&c.content_uri).is_ok() {
            return Ok(c);
        }
    }
    diagnose(text)
}

fn usable_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && !id.chars().any(char::is_control)
}

fn diagnose(text: &str) -> Result<ContentInfo, BadEntry> {
    let Ok(obj) = serde_json::from_str::<Map<String, Value>>(text) else {
        return Err(bad(unidentified(text), "the entry is not a JSON object"));
    };
    let field = |k: &str| obj.get(k).and_then(Value::as_str);
    let created = field("contentCreated").and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let expiration = field("contentExpiration").and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let fail = |id: String, reason: String| BadEntry {
        content_id: id,
        reason,
        created,
        expiration,
    };
    let id = match field("contentId") {
        Some("") => {
            return Err(fail(unidentified(text), "contentId is empty".into()));
        }
        Some(id) if id.len() > MAX_ID_LEN || id.chars().any(|c| c.is_control()) => {
            return Err(fail(
                unidentified(text),
                "contentId is too long or holds control characters".into(),
            ));
        }
        Some(id) => id.to_string(),
        None => {
            return Err(fail(
                unidentified(text),
                "contentId is missing or not a string".into(),
            ));
        }
    };
    let time = |k: &str, parsed: Option<DateTime<Utc>>| match (field(k), parsed) {
        (_, Some(t)) => Ok(t),
        (Some(s), None) => Err(format!("{k} {:?} is not a date", shorten(s))),
        (None, None) => Err(format!("{k} is missing or not a string")),
    };
    let checked = (|| {
        let uri = field("contentUri").ok_or("contentUri is missing or not a string")?;
        if let Err(e) = Url::parse(uri) {
            return Err(format!("contentUri {:?} is not a URL: {e}", shorten(uri)));
        }
        Ok(ContentInfo {
            content_type: field("contentType").unwrap_or("").to_string(),
            content_id: id.clone(),
            content_uri: uri.to_string(),
            content_created: time("contentCreated", created)?,
            content_expiration: time("contentExpiration", expiration)?,
        })
    })();
    checked.map_err(|reason| fail(id, reason))
}

fn bad(content_id: String, reason: &str) -> BadEntry {
    BadEntry {
        content_id,
        reason: reason.to_string(),
        created: None,
        expiration: None,
    }
}

/// A stable name for an entry without a usable id.
fn unidentified(text: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let hex: String = d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("unidentified-{hex}")
}

/// A value from the network, cut for a message (and free of control characters).
fn shorten(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

impl TenantClient {
    /// Lists content available in `[start, end)` (≤ 24 h), one page at a time.
    pub fn list_content(
        &self,
        ct: ContentType,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Listing<'_>, ApiError> {
        let mut url = self.feed_url("subscriptions/content")?;
        url.query_pairs_mut()
            .append_pair("contentType", ct.as_str())
            .append_pair("startTime", &start.format("%Y-%m-%dT%H:%M:%S").to_string())
            .append_pair("endTime", &end.format("%Y-%m-%dT%H:%M:%S").to_string());
        let feed = crate::state::feed_key(self.tenant_id(), ct.as_str());
        Ok(Listing::new(self, url, feed))
    }
}

/// A listing in progress: each call of [`Listing::next_page`] reads one page and follows
/// `NextPageUri` (only to the configured API host).
pub struct Listing<'a> {
    client: &'a TenantClient,
    next: Option<Url>,
    pages: u32,
    progress: Option<Arc<Progress>>,
    /// The feed's state key, for log lines.
    feed: String,
}

impl<'a> Listing<'a> {
    fn new(client: &'a TenantClient, first: Url, feed: String) -> Listing<'a> {
        Listing {
            client,
            next: Some(first),
            pages: 0,
            progress: None,
            feed,
        }
    }

    /// Reports the feed's progress as pages come back (see `telemetry::progress`).
    pub fn observed(mut self, p: Arc<Progress>) -> Listing<'a> {
        self.progress = Some(p);
        self
    }

    /// The next page, or `None` once the last page was read.
    pub async fn next_page(&mut self) -> Result<Option<Page>, ApiError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        self.pages += 1;
        if self.pages > MAX_PAGES {
            return Err(ApiError::Malformed(format!(
                "more than {MAX_PAGES} listing pages in one window"
            )));
        }
        let call = Call::new("list", MAX_PAGE_BYTES)
            .observed(self.progress.clone())
            .for_feed(&self.feed);
        let (body, headers) = self.client.call_get(url, &call).await?;
        let page = parse_page(&body)?;
        let next = headers
            .iter()
            .find(|(k, _)| {
                k.as_str().eq_ignore_ascii_case("NextPageUri")
                    || k.as_str().eq_ignore_ascii_case("NextPageUrl")
            })
            .and_then(|(_, v)| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if let Some(n) = next {
            self.next = Some(
                self.client
                    .check_origin(n, "NextPageUri", &self.feed, None)?,
            );
        }
        Ok(Some(page))
    }
}

#[cfg(test)]
mod tests;
