//! Hostile answers: what a broken or malicious service, or someone in the network path,
//! could send, for the tests that the agent survives them (issue 15). The real service is
//! not known to do any of this. Every knob is off by default and applies to the first
//! tenant only, so a second tenant shows that its neighbours are unaffected.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use super::lock;
use super::server::{Reply, Shared, Unusual};
use crate::record::ContentType;

/// The hostile knobs (all off by default).
#[derive(Clone, Debug, Default)]
pub struct Hostile {
    /// The first API request is throttled (`AF429`) with this `Retry-After` text, e.g.
    /// `10000000000000000000`; later requests are answered normally.
    pub retry_after_once: Option<String>,
    /// `expires_in` as sent in tokens (JSON text, e.g. `18446744073709551615`).
    pub token_expires_in: Option<String>,
    /// `(index, bytes)`: blob `index` of each feed (in creation order) is sent gzip-encoded
    /// and inflates to `bytes` bytes: `[`, spaces, `]` (valid JSON: an empty array).
    pub gzip_bomb: Option<(u64, u64)>,
    /// Blob `index` of each feed: the first fetch's connection is cut halfway through the
    /// body (later fetches are whole).
    pub cut_blob: Option<u64>,
    /// The first page of every listing also carries unusable entries (see [`bad_entries`]).
    pub bad_entries: bool,
    /// Every listing repeats its first blob this many more times, paged as usual.
    pub repeat_listing: u64,
    /// The first token answer is gzip-encoded and inflates to this many bytes.
    pub token_bomb: Option<u64>,
    /// The first listing page is gzip-encoded and inflates to this many bytes.
    pub listing_bomb: Option<u64>,
}

impl Hostile {
    /// Whether blob `i` of a feed of `tenant` is the gzip bomb (it serves no records).
    pub(crate) fn is_bomb(&self, tenant: usize, i: u64) -> bool {
        tenant == 0 && self.gzip_bomb.is_some_and(|(at, _)| at == i)
    }
}

/// What the hostile knobs remember while the simulator runs.
#[derive(Debug, Default)]
pub(crate) struct HostileState {
    throttled: AtomicBool,
    hang_listings: AtomicBool,
    token_bombed: AtomicBool,
    listing_bombed: AtomicBool,
}

impl Shared {
    fn hostile_tenant(&self, tenant: usize) -> Option<&Hostile> {
        (tenant == 0).then_some(&self.cfg.hostile)
    }

    /// The once-only throttle, if it is due.
    pub(crate) fn hostile_throttle(&self, tenant: usize) -> Option<Reply> {
        let text = self.hostile_tenant(tenant)?.retry_after_once.as_ref()?;
        if self.hostile.throttled.swap(true, Ordering::SeqCst) {
            return None;
        }
        Some(
            Reply::error(
                429,
                "AF429",
                "Too many requests. Method=GetContents, PublisherId=00000000-0000-0000-0000-000000000000",
            )
            .with_header("retry-after", text.clone()),
        )
    }

    /// The token body with the hostile `expires_in`, if one is set.
    pub(crate) fn hostile_token(&self, tenant: usize, token: &str) -> Option<String> {
        let raw = self.hostile_tenant(tenant)?.token_expires_in.as_ref()?;
        Some(format!(
            r#"{{"token_type":"Bearer","expires_in":{raw},"ext_expires_in":{raw},"access_token":"{token}"}}"#
        ))
    }

    /// The once-only inflating token answer, if it is due.
    pub(crate) fn hostile_token_bomb(&self, tenant: usize) -> Option<Reply> {
        let size = self.hostile_tenant(tenant)?.token_bomb?;
        (!self.hostile.token_bombed.swap(true, Ordering::SeqCst)).then(|| bomb_reply(size))
    }

    /// The once-only inflating listing page, if it is due.
    pub(crate) fn hostile_listing_bomb(&self, tenant: usize) -> Option<Reply> {
        let size = self.hostile_tenant(tenant)?.listing_bomb?;
        (!self.hostile.listing_bombed.swap(true, Ordering::SeqCst)).then(|| bomb_reply(size))
    }

    pub(crate) fn is_bomb(&self, tenant: usize, i: u64) -> bool {
        self.cfg.hostile.is_bomb(tenant, i)
    }

    /// The hostile answer for blob `i`, if it has one (`fetches` counts this fetch).
    pub(crate) fn hostile_blob(
        &self,
        tenant: usize,
        i: u64,
        fetches: u32,
        body: &str,
    ) -> Option<Reply> {
        let h = self.hostile_tenant(tenant)?;
        if let Some((at, size)) = h.gzip_bomb.filter(|(at, _)| *at == i) {
            debug_assert_eq!(at, i);
            return Some(bomb_reply(size));
        }
        if h.cut_blob == Some(i) && fetches == 1 {
            return Some(Reply {
                unusual: Some(Box::new(Unusual::CutAfter(body.len() / 2))),
                ..Reply::json(200, body.to_string())
            });
        }
        None
    }

    /// Extra entries for the first page of a listing.
    pub(crate) fn hostile_entries(
        &self,
        tenant: usize,
        ct: ContentType,
        first_page: bool,
        created: &str,
    ) -> Vec<serde_json::Value> {
        match self.hostile_tenant(tenant) {
            Some(h) if h.bad_entries && first_page => bad_entries(
                ct,
                created,
                &self.base_url,
                &self.evil_url,
                &self.cfg.tenants[0].tenant_id,
            ),
            _ => Vec::new(),
        }
    }

    pub(crate) fn repeat_listing(&self, tenant: usize) -> u64 {
        self.hostile_tenant(tenant).map_or(0, |h| h.repeat_listing)
    }

    /// Holds a listing request of the first tenant while listings are set to hang.
    pub(crate) async fn maybe_hang(&self, path: &str) {
        let tenant0 = &self
            .cfg
            .tenants
            .first()
            .map(|t| t.tenant_id.to_ascii_lowercase());
        let lower = path.to_ascii_lowercase();
        let ours = tenant0.as_ref().is_some_and(|t| lower.contains(t.as_str()));
        while ours
            && lower.ends_with("/subscriptions/content")
            && self.hostile.hang_listings.load(Ordering::SeqCst)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn set_hang_listings(&self, on: bool) {
        self.hostile.hang_listings.store(on, Ordering::SeqCst);
    }
}

/// Unusable listing entries, with fixed ids per content type: a date that is not a date, no
/// content id, a URI that is not a URI, not an object at all, and one usable entry whose
/// URI is on another host (refused when fetched).
pub fn bad_entries(
    ct: ContentType,
    created: &str,
    base: &str,
    evil: &str,
    tenant_id: &str,
) -> Vec<serde_json::Value> {
    let uri =
        |host: &str, id: &str| format!("{host}/api/v1.0/{tenant_id}/activity/feed/audit/{id}");
    vec![
        json!({"contentType": ct.as_str(), "contentId": format!("bad-date-{ct}"),
               "contentUri": uri(base, "bad-date"), "contentCreated": created,
               "contentExpiration": "not-a-date"}),
        json!({"contentType": ct.as_str(), "contentUri": uri(base, "no-id"),
               "contentCreated": created, "contentExpiration": created}),
        json!({"contentType": ct.as_str(), "contentId": format!("bad-uri-{ct}"),
               "contentUri": "not a uri", "contentCreated": created,
               "contentExpiration": "2099-01-01T00:00:00.000Z"}),
        json!(42),
        json!({"contentType": ct.as_str(), "contentId": format!("evil-host-{ct}"),
               "contentUri": uri(evil, "evil"), "contentCreated": created,
               "contentExpiration": "2099-01-01T00:00:00.000Z"}),
    ]
}

/// A 200 answer whose gzip body inflates to `size` bytes (see [`bomb`]).
fn bomb_reply(size: u64) -> Reply {
    Reply {
        unusual: Some(Box::new(Unusual::Bytes(bomb(size)))),
        ..Reply::json(200, String::new()).with_header("content-encoding", "gzip".into())
    }
}

/// A gzip body that inflates to `size` bytes of `[`, spaces and `]`; made once per size.
fn bomb(size: u64) -> bytes::Bytes {
    static MADE: Mutex<Option<HashMap<u64, bytes::Bytes>>> = Mutex::new(None);
    let mut made = lock(&MADE);
    made.get_or_insert_with(HashMap::new)
        .entry(size)
        .or_insert_with(|| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let chunk = vec![b' '; 1 << 20];
            let mut left = size.saturating_sub(2);
            let _ = gz.write_all(b"[");
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                let _ = gz.write_all(&chunk[..n]);
                left -= n as u64;
            }
            let _ = gz.write_all(b"]");
            bytes::Bytes::from(gz.finish().unwrap_or_default())
        })
        .clone()
}
