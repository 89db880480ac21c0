//! The deterministic content model: where each blob sits in time, what it holds, and which
//! faults it carries.
//!
//! A feed is one (tenant, content type). Its blob `i` has `contentCreated = origin + phase +
//! i·interval`, where `origin` is the simulator's start minus the backlog. Everything about a
//! blob (record count, record ids and JSON, duplicates, lateness, malformation, hostile URI)
//! is a pure function of `(seed, tenant, content type, i)`, computed on demand: nothing is
//! stored per blob, and listing maps a time window to an index range instead of scanning.

use std::ops::Range;

use chrono::DateTime;

use super::SimConfig;
use super::records::{self, Ctx, TenantProfile};
use super::rng::{Rng, chance, guid, hash};
use crate::record::ContentType;

const P_COUNT: u64 = 1;
const P_LATE: u64 = 2;
const P_DUP: u64 = 3;
const P_CARRY: u64 = 4;
const P_MALFORMED: u64 = 5;
const P_HOSTILE: u64 = 6;
const P_SHUFFLE: u64 = 7;
const P_CHECK: u64 = 8;
const P_T1: u64 = 9;
const P_DUP_PICK: u64 = 10;
const P_RECORD: u64 = 12;
const P_ID: u64 = 13;
const P_PHASE: u64 = 14;

/// Share of `Audit.General` blobs whose last record is a split row continued in the next blob.
const CARRY_RATE: f64 = 0.08;
/// Duplicates reach back at most this many blobs.
const DUP_REACH: u64 = 16;

/// One (tenant, content type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Feed {
    pub tenant: usize,
    pub ct: ContentType,
    key: u64,
    phase_ms: i64,
}

/// One record inside a blob: the event it renders (`blob`, `slot`) and which part of a split
/// row it is. Duplicates and continuation parts point at older blobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecRef {
    pub blob: u64,
    pub slot: u32,
    pub part: u8,
    pub parts: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// A JSON array cut off mid-record.
    Truncated,
    /// A front-end error page served with status 200.
    Html,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdError {
    /// Not shaped like a content id (`AF20052`).
    Malformed,
    /// Well-formed but no such blob (`AF20050`).
    Unknown,
}

struct Counts {
    carried_in: usize,
    own: usize,
    dups: usize,
    carry_out: Option<u8>,
}

#[derive(Debug)]
pub(crate) struct Model {
    pub tenants: Vec<TenantProfile>,
    content_types: Vec<ContentType>,
    start_ms: i64,
    origin_ms: i64,
    interval_ms: i64,
    retention_ms: i64,
    late_by_ms: i64,
    live: bool,
    per_blob: (u64, u64),
    duplicate_rate: f64,
    late_rate: f64,
    malformed_rate: f64,
    hostile_rate: f64,
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Model {
    pub(crate) fn new(cfg: &SimConfig, start_ms: i64) -> Model {
        Model {
            tenants: cfg
                .tenants
                .iter()
                .map(|t| TenantProfile::new(cfg.seed, &t.tenant_id))
                .collect(),
            content_types: cfg.content_types.clone(),
            start_ms,
            origin_ms: start_ms - ms(cfg.backlog),
            interval_ms: ms(cfg.blob_interval).max(1),
            retention_ms: ms(cfg.content_retention),
            late_by_ms: ms(cfg.late_by),
            live: cfg.live,
            per_blob: (cfg.records_per_blob.0 as u64, cfg.records_per_blob.1 as u64),
            duplicate_rate: cfg.duplicate_rate,
            late_rate: cfg.late_rate,
            malformed_rate: cfg.malformed_rate,
            hostile_rate: cfg.hostile_content_uri_rate,
        }
    }

    pub(crate) fn tenant_index(&self, id: &str) -> Option<usize> {
        self.tenants
            .iter()
            .position(|t| t.tenant_id.eq_ignore_ascii_case(id))
    }

    /// The feed, if the content type is configured (others exist but never hold content).
    pub(crate) fn feed(&self, tenant: usize, ct: ContentType) -> Option<Feed> {
        let t = self.tenants.get(tenant)?;
        if !self.content_types.contains(&ct) {
            return None;
        }
        let ct_index = ContentType::ALL.iter().position(|c| *c == ct).unwrap_or(0) as u64;
        let key = hash(&[t.key, ct_index]);
        Some(Feed {
            tenant,
            ct,
            key,
            phase_ms: (hash(&[key, P_PHASE]) % self.interval_ms as u64) as i64,
        })
    }

    fn blob_key(f: &Feed, i: u64) -> u64 {
        hash(&[f.key, i])
    }

    fn first_ms(&self, f: &Feed) -> i64 {
        self.origin_ms + f.phase_ms
    }

    pub(crate) fn created_ms(&self, f: &Feed, i: u64) -> i64 {
        self.first_ms(f)
            .saturating_add((i as i64).saturating_mul(self.interval_ms))
    }

    pub(crate) fn expires_ms(&self, f: &Feed, i: u64) -> i64 {
        self.created_ms(f, i).saturating_add(self.retention_ms)
    }

    pub(crate) fn is_late(&self, f: &Feed, i: u64) -> bool {
        chance(hash(&[Self::blob_key(f, i), P_LATE]), self.late_rate)
    }

    /// When the blob shows up in listings.
    pub(crate) fn available_ms(&self, f: &Feed, i: u64) -> i64 {
        let late = if self.is_late(f, i) {
            self.late_by_ms
        } else {
            0
        };
        self.created_ms(f, i).saturating_add(late)
    }

    /// Blobs `0..n` exist at `now`: created by then, and (unless live) inside the backlog.
    pub(crate) fn exist_count(&self, f: &Feed, now_ms: i64) -> u64 {
        let limit = if self.live {
            now_ms
        } else {
            now_ms.min(self.start_ms - 1)
        };
        let first = self.first_ms(f);
        if limit < first {
            0
        } else {
            ((limit - first) / self.interval_ms) as u64 + 1
        }
    }

    /// The first index whose `contentCreated >= t`.
    pub(crate) fn index_at_or_after(&self, f: &Feed, t_ms: i64) -> u64 {
        let d = t_ms.saturating_sub(self.first_ms(f));
        if d <= 0 {
            0
        } else {
            (d as u64).div_ceil(self.interval_ms as u64)
        }
    }

    /// Candidate indices for a listing of `[from, to)` at `now`: existing, not expired, in the
    /// window. Late blobs inside the range still need [`Model::is_available`].
    pub(crate) fn window(&self, f: &Feed, from_ms: i64, to_ms: i64, now_ms: i64) -> Range<u64> {
        let unexpired = self.index_at_or_after(f, (now_ms - self.retention_ms).saturating_add(1));
        let lo = self.index_at_or_after(f, from_ms).max(unexpired);
        let hi = self
            .index_at_or_after(f, to_ms)
            .min(self.exist_count(f, now_ms));
        lo..hi.max(lo)
    }

    pub(crate) fn is_available(&self, f: &Feed, i: u64, now_ms: i64) -> bool {
        i < self.exist_count(f, now_ms) && self.available_ms(f, i) <= now_ms
    }

    pub(crate) fn is_expired(&self, f: &Feed, i: u64, now_ms: i64) -> bool {
        now_ms >= self.expires_ms(f, i)
    }

    pub(crate) fn is_hostile(&self, f: &Feed, i: u64) -> bool {
        chance(hash(&[Self::blob_key(f, i), P_HOSTILE]), self.hostile_rate)
    }

    pub(crate) fn malformed(&self, f: &Feed, i: u64) -> Option<Malformed> {
        let h = hash(&[Self::blob_key(f, i), P_MALFORMED]);
        chance(h, self.malformed_rate).then_some(if h & 1 == 0 {
            Malformed::Truncated
        } else {
            Malformed::Html
        })
    }

    /// `<t1>$<t2>$audit_general$Audit_General$<region>` (reference §3.11): `t2` is
    /// `contentCreated` with nine fractional digits, the last six being a check value.
    pub(crate) fn content_id(&self, f: &Feed, i: u64) -> String {
        let bk = Self::blob_key(f, i);
        let created = self.created_ms(f, i);
        let t2 = stamp(created, hash(&[bk, P_CHECK]));
        let t1_h = hash(&[bk, P_T1]);
        let t1 = stamp(created - (t1_h % 3_600_000) as i64, t1_h >> 20);
        let (lower, mixed) = ct_tags(f.ct);
        let region = self.tenants[f.tenant].region;
        format!("{t1}${t2}${lower}${mixed}${region}")
    }

    pub(crate) fn parse_content_id(&self, tenant: usize, id: &str) -> Result<(Feed, u64), IdError> {
        let parts: Vec<&str> = id.split('$').collect();
        if !(4..=5).contains(&parts.len())
            || parts[..2]
                .iter()
                .any(|t| t.len() != 23 || !t.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(IdError::Malformed);
        }
        let ct = ContentType::ALL
            .into_iter()
            .find(|ct| ct_tags(*ct).0.eq_ignore_ascii_case(parts[2]))
            .ok_or(IdError::Unknown)?;
        let f = self.feed(tenant, ct).ok_or(IdError::Unknown)?;
        let t2 = parts[1];
        let secs = chrono::NaiveDateTime::parse_from_str(&t2[..14], "%Y%m%d%H%M%S")
            .map_err(|_| IdError::Malformed)?;
        let millis: i64 = t2[14..17].parse().map_err(|_| IdError::Malformed)?;
        let created = secs.and_utc().timestamp_millis() + millis;
        let rel = created - self.first_ms(&f);
        if rel < 0 || rel % self.interval_ms != 0 {
            return Err(IdError::Unknown);
        }
        let i = (rel / self.interval_ms) as u64;
        if self.content_id(&f, i) != id {
            return Err(IdError::Unknown);
        }
        Ok((f, i))
    }

    fn carry_parts(&self, f: &Feed, i: u64) -> Option<u8> {
        let h = hash(&[Self::blob_key(f, i), P_CARRY]);
        (f.ct == ContentType::General && self.per_blob.1 > 0 && chance(h, CARRY_RATE))
            .then_some(2 + (h >> 60) as u8 % 2)
    }

    fn counts(&self, f: &Feed, i: u64) -> Counts {
        let bk = Self::blob_key(f, i);
        let n = Rng::new(hash(&[bk, P_COUNT])).range(self.per_blob.0, self.per_blob.1) as usize;
        let carried_in = match i.checked_sub(1) {
            Some(prev) => self.carry_parts(f, prev).map_or(0, |k| usize::from(k) - 1),
            None => 0,
        };
        let h = hash(&[bk, P_DUP]);
        let dups = if i > 0 && self.per_blob.1 > 0 && chance(h, self.duplicate_rate) {
            1 + (h >> 40) as usize % 3
        } else {
            0
        };
        let carry_out = self.carry_parts(f, i);
        let total = n.max(carried_in + dups + usize::from(carry_out.is_some()));
        Counts {
            carried_in,
            own: total - carried_in - dups,
            dups,
            carry_out,
        }
    }

    /// The records that originate in blob `i` (no duplicates, no carried-in parts).
    fn own_refs(&self, f: &Feed, i: u64, c: &Counts) -> Vec<RecRef> {
        let mut v = Vec::with_capacity(c.own);
        let limit = c.own - usize::from(c.carry_out.is_some());
        let mut s = 0usize;
        while s < limit {
            let parts = records::planned_parts(f.ct, self.rec_seed(f, i, s as u32));
            let n = usize::from(parts);
            if n > 1 && s + n <= limit {
                v.extend((0..parts).map(|part| RecRef {
                    blob: i,
                    slot: s as u32,
                    part,
                    parts,
                }));
                s += n;
            } else {
                v.push(RecRef {
                    blob: i,
                    slot: s as u32,
                    part: 0,
                    parts: 1,
                });
                s += 1;
            }
        }
        if let Some(parts) = c.carry_out {
            v.push(RecRef {
                blob: i,
                slot: (c.own - 1) as u32,
                part: 0,
                parts,
            });
        }
        v
    }

    /// The records of blob `i`, in the (shuffled) order they are served.
    pub(crate) fn layout(&self, f: &Feed, i: u64) -> Vec<RecRef> {
        let c = self.counts(f, i);
        let bk = Self::blob_key(f, i);
        let mut v = Vec::with_capacity(c.carried_in + c.own + c.dups);
        if let (Some(prev), true) = (i.checked_sub(1), c.carried_in > 0) {
            let pc = self.counts(f, prev);
            let parts = (c.carried_in + 1) as u8;
            v.extend((1..parts).map(|part| RecRef {
                blob: prev,
                slot: (pc.own - 1) as u32,
                part,
                parts,
            }));
        }
        v.extend(self.own_refs(f, i, &c));
        let mut r = Rng::new(hash(&[bk, P_DUP_PICK]));
        for _ in 0..c.dups {
            let j = i - 1 - r.below(i.min(DUP_REACH));
            let earlier = self.own_refs(f, j, &self.counts(f, j));
            if !earlier.is_empty() {
                v.push(r.pick(&earlier));
            }
        }
        Rng::new(hash(&[bk, P_SHUFFLE])).shuffle(&mut v);
        v
    }

    fn rec_seed(&self, f: &Feed, blob: u64, slot: u32) -> u64 {
        hash(&[f.key, blob, u64::from(slot), P_RECORD])
    }

    pub(crate) fn record_id(&self, f: &Feed, r: &RecRef) -> String {
        guid(hash(&[
            f.key,
            r.blob,
            u64::from(r.slot),
            u64::from(r.part),
            P_ID,
        ]))
    }

    /// The distinct record ids of blob `i` (cheap: no JSON is rendered).
    pub(crate) fn blob_ids(&self, f: &Feed, i: u64) -> impl Iterator<Item = String> + '_ {
        let f = *f;
        self.layout(&f, i)
            .into_iter()
            .map(move |r| self.record_id(&f, &r))
    }

    /// Appends the blob's JSON array.
    pub(crate) fn render_blob(&self, f: &Feed, i: u64, out: &mut String) {
        let layout = self.layout(f, i);
        out.reserve(layout.len() * 1500);
        out.push('[');
        for (n, r) in layout.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            self.render_record(f, r, out);
        }
        out.push(']');
    }

    pub(crate) fn render_record(&self, f: &Feed, r: &RecRef, out: &mut String) {
        let id = self.record_id(f, r);
        let ctx = Ctx {
            tenant: &self.tenants[f.tenant],
            seed: self.rec_seed(f, r.blob, r.slot),
            id: &id,
            created_ms: self.created_ms(f, r.blob),
            part: r.part,
            parts: r.parts,
        };
        records::render(f.ct, &ctx, out);
    }

    /// The broken body served for a malformed blob.
    pub(crate) fn render_malformed(&self, f: &Feed, i: u64, kind: Malformed, out: &mut String) {
        match kind {
            Malformed::Truncated => {
                self.render_blob(f, i, out);
                let mut cut = (out.len() * 2 / 3).max(1);
                while !out.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.truncate(cut);
            }
            Malformed::Html => out.push_str(HTML_ERROR),
        }
    }
}

const HTML_ERROR: &str = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>Service Unavailable</title></head><body><h2>Service Unavailable</h2><hr/><p>HTTP Error 503. The service is unavailable.</p></body></html>\r\n";

/// `yyyyMMddHHmmss` + milliseconds + six digits of `extra`.
fn stamp(ms: i64, extra: u64) -> String {
    let secs = DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_else(|| "19700101000000".into());
    format!("{secs}{:03}{:06}", ms.rem_euclid(1000), extra % 1_000_000)
}

/// The content type as it appears inside content ids.
pub(crate) fn ct_tags(ct: ContentType) -> (&'static str, &'static str) {
    match ct {
        ContentType::AzureActiveDirectory => {
            ("audit_azureactivedirectory", "Audit_AzureActiveDirectory")
        }
        ContentType::Exchange => ("audit_exchange", "Audit_Exchange"),
        ContentType::SharePoint => ("audit_sharepoint", "Audit_SharePoint"),
        ContentType::General => ("audit_general", "Audit_General"),
        ContentType::DlpAll => ("dlp_all", "DLP_All"),
    }
}
