//! Audit record templates, one family per content type (reference §7, §9, §10).
//!
//! Records are written straight into a `String` (no `serde_json::Value` trees) because the
//! benchmark pulls millions of them and a 100-record blob must render in well under a
//! millisecond. Every value comes from an [`Rng`] seeded with the record's seed, so a record
//! re-rendered later (a duplicate in another blob, a split part) is byte-identical.

mod general;
mod workloads;

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Timelike};

use super::rng::{Rng, guid, hash, hash_str};
use crate::record::ContentType;

/// Per-tenant constants from which records are drawn.
#[derive(Debug, Clone)]
pub(crate) struct TenantProfile {
    pub tenant_id: String,
    pub org: String,
    pub domain: String,
    pub users: Vec<User>,
    pub crm_org: String,
    pub instance_url: String,
    pub region: &'static str,
    pub key: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub upn: String,
    pub display: String,
    pub puid: String,
    pub object_id: String,
    pub system_user_id: String,
    pub sid: String,
}

const ORGS: &[&str] = &[
    "contoso",
    "fabrikam",
    "northwind",
    "adatum",
    "tailspin",
    "wingtip",
    "litware",
    "proseware",
];
const PEOPLE: &[(&str, &str)] = &[
    ("alex.wilber", "Alex Wilber"),
    ("megan.bowen", "Megan Bowen"),
    ("adele.vance", "Adele Vance"),
    ("lidia.holloway", "Lidia Holloway"),
    ("nestor.wilke", "Nestor Wilke"),
    ("patti.fernandez", "Patti Fernandez"),
    ("pradeep.gupta", "Pradeep Gupta"),
    ("lee.gu", "Lee Gu"),
    ("isaiah.langer", "Isaiah Langer"),
    ("johanna.lorenz", "Johanna Lorenz"),
];
const REGIONS: &[&str] = &["na0036", "na0012", "emea0026", "apac0004"];

impl TenantProfile {
    pub(crate) fn new(seed: u64, tenant_id: &str) -> TenantProfile {
        let key = hash(&[seed, hash_str(&tenant_id.to_ascii_lowercase())]);
        let mut r = Rng::new(key);
        let org = format!("{}{}", r.pick(ORGS), r.range(1, 99));
        let domain = format!("{org}.onmicrosoft.com");
        let users = PEOPLE
            .iter()
            .map(|(name, display)| User {
                upn: format!("{name}@{domain}"),
                display: (*display).to_string(),
                puid: format!("1003{:012X}", r.next_u64() & 0xffff_ffff_ffff),
                object_id: r.guid(),
                system_user_id: r.guid(),
                sid: format!(
                    "S-1-5-21-{}-{}-{}-{}",
                    r.range(1_000_000_000, 4_000_000_000),
                    r.range(1_000_000_000, 4_000_000_000),
                    r.range(1_000_000_000, 4_000_000_000),
                    r.range(1000, 99_999)
                ),
            })
            .collect();
        let crm_org = format!("unq{:016x}{:016x}", r.next_u64(), r.next_u64());
        TenantProfile {
            tenant_id: tenant_id.to_string(),
            instance_url: format!("https://{org}.crm.dynamics.com"),
            region: r.pick(REGIONS),
            org,
            domain,
            users,
            crm_org,
            key,
        }
    }
}

/// What one record needs to render itself.
pub(crate) struct Ctx<'a> {
    pub tenant: &'a TenantProfile,
    /// Seed of the event (shared by all parts of a split record).
    pub seed: u64,
    pub id: &'a str,
    /// `contentCreated` (ms) of the blob holding the event's first part; events happen
    /// before their blob is created.
    pub created_ms: i64,
    pub part: u8,
    pub parts: u8,
}

/// How many records the event seeded with `seed` splits into (only Dynamics
/// `RetrieveMultiple`/`ExportToExcel` rows split, reference §10).
pub(crate) fn planned_parts(ct: ContentType, seed: u64) -> u8 {
    match ct {
        ContentType::General => general::planned_parts(seed),
        _ => 1,
    }
}

/// Appends one record as a JSON object.
pub(crate) fn render(ct: ContentType, c: &Ctx<'_>, out: &mut String) {
    match ct {
        ContentType::General => general::render(c, out),
        ContentType::AzureActiveDirectory => workloads::aad(c, out),
        ContentType::Exchange => workloads::exchange(c, out),
        ContentType::SharePoint => workloads::sharepoint(c, out),
        ContentType::DlpAll => workloads::dlp(c, out),
    }
}

/// `CreationTime` style: UTC without zone designator, whole seconds (reference §7.3).
/// Written by hand: chrono's formatter costs more than the rest of a record.
pub(crate) fn creation_time(ms: i64) -> String {
    let Some(t) = DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    let mut s = String::with_capacity(19);
    let mut num = |v: u32, width: usize, sep: Option<char>| {
        let _ = write!(s, "{v:0width$}");
        if let Some(c) = sep {
            s.push(c);
        }
    };
    num(t.year().max(0) as u32, 4, Some('-'));
    num(t.month(), 2, Some('-'));
    num(t.day(), 2, Some('T'));
    num(t.hour(), 2, Some(':'));
    num(t.minute(), 2, Some(':'));
    num(t.second(), 2, None);
    s
}

/// The leading common fields, in the order the service writes them.
pub(crate) fn head(o: &mut Obj<'_>, c: &Ctx<'_>, ctime: &str, op: &str, record_type: i64) {
    o.str("CreationTime", ctime)
        .str("Id", c.id)
        .str("Operation", op)
        .str("OrganizationId", &c.tenant.tenant_id)
        .int("RecordType", record_type);
}

/// Event time: 1 to 90 minutes before the blob was created (core workloads, reference §6),
/// so records are not chronological; one record in fifty 1.5 to 12 hours before ("other
/// workloads longer", no SLA). The tail is derived from the lag drawn, so a record's
/// fields are the same as without it.
pub(crate) fn event_ms(r: &mut Rng, created_ms: i64) -> i64 {
    const MIN: u64 = 60_000;
    let lag = r.range(MIN, 90 * MIN);
    let h = hash(&[lag, P_LATE_TAIL]);
    let lag = if h % 50 == 0 {
        90 * MIN + (h >> 8) % (MAX_EVENT_LAG_MS as u64 - 90 * MIN)
    } else {
        lag
    };
    created_ms - lag as i64
}

const P_LATE_TAIL: u64 = 0x1a7e;

/// The longest [`event_ms`] puts an event before its blob: 12 hours.
pub(crate) const MAX_EVENT_LAG_MS: i64 = 720 * 60_000;

pub(crate) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "python-requests/2.31.0",
];

/// A client address in one of the shapes the API really sends (reference §7.3).
pub(crate) fn client_ip(r: &mut Rng) -> Option<String> {
    let a = r.range(1, 223);
    let b = r.below(256);
    let c = r.below(256);
    let d = r.range(1, 254);
    Some(match r.below(20) {
        0 => return None,
        1..=3 => format!("{a}.{b}.{c}.{d}:{}", r.range(1024, 65535)),
        4..=5 => format!("[2603:10a6:{b:x}:{c:x}::{d:x}]:{}", r.range(1024, 65535)),
        6 => format!("2001:db8:{a:x}::{d:x}"),
        _ => format!("{a}.{b}.{c}.{d}"),
    })
}

/// Builds one JSON object. Keys are trusted literals; string values are escaped.
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
    }

    pub(crate) fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        escape(v, self.out);
        self
    }

    pub(crate) fn opt(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    pub(crate) fn int(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        let _ = write!(self.out, "{v}");
        self
    }

    pub(crate) fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
        self
    }

    pub(crate) fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.push_str("null");
        self
    }

    /// A value written by `f` (nested objects and arrays).
    pub(crate) fn with(&mut self, k: &str, f: impl FnOnce(&mut String)) -> &mut Self {
        self.key(k);
        f(self.out);
        self
    }

    /// `[{"Name":…,"Value":…}, …]` (`Common.NameValuePair`).
    pub(crate) fn pairs(&mut self, k: &str, pairs: &[(&str, &str)]) -> &mut Self {
        self.with(k, |out| name_values(pairs, out))
    }

    pub(crate) fn end(&mut self) {
        self.out.push('}');
    }
}

pub(crate) fn name_values(pairs: &[(&str, &str)], out: &mut String) {
    out.push('[');
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        Obj::new(out).str("Name", n).str("Value", v).end();
    }
    out.push(']');
}

pub(crate) fn str_array(items: &[&str], out: &mut String) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape(s, out);
    }
    out.push(']');
}

/// Appends `s` as a JSON string literal.
pub(crate) fn escape(s: &str, out: &mut String) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
    } else {
        for ch in s.chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Deterministic GUID for a sub-value of a record.
pub(crate) fn sub_guid(seed: u64, what: u64) -> String {
    guid(hash(&[seed, what]))
}

#[cfg(test)]
mod tests;
