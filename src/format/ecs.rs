//! `ecs`: one Elastic Common Schema JSON document per record, laid out like Elastic's
//! Office 365 integration (`o365.audit` data set) so its dashboards and detection rules
//! work on our output, plus a Dynamics 365 view (`o365.dynamics`) and our provenance
//! (`o365fwd`). `docs/mapping.md` has the field-by-field table.
//!
//! The record is parsed once into a borrowed view; original values are copied byte for
//! byte under `o365.audit`, so JSON types survive and nothing is dropped.

mod audit;
pub(crate) mod json;
pub(crate) mod map;
pub(crate) mod values;
mod workloads;

use std::io::Write;

use chrono::{DateTime, Utc};

use self::json::Obj;
use self::values::{Ecs, UserPart};
use super::{FormatOptions, Origin};
use crate::record::Record;
use crate::record::classify::{Classification, Fields, classify};
use crate::record::split::{PARTIAL_KEY, PARTS_KEY};

/// The ECS version our layout follows (Elastic's `o365` package declares the same).
pub const ECS_VERSION: &str = "8.11.0";

pub fn encode(rec: &Record, origin: &Origin<'_>, opts: &FormatOptions, out: &mut Vec<u8>) {
    match Fields::of(rec) {
        Some(f) => {
            let cls = classify(&f, rec);
            let e = map::map(&f, rec, &cls);
            write_doc(rec, origin, opts, &f, &cls, &e, out);
        }
        None => write_unparsed(rec, origin, out),
    }
}

/// `"YYYY-MM-DDTHH:MM:SS.mmmZ"`, written digit by digit: chrono's formatter, then
/// `write!`, were hot spots.
pub fn timestamp(out: &mut Vec<u8>, t: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let ms = t.timestamp_subsec_millis().min(999);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let _ = write!(out, "\"{}\"", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        return;
    }
    let d = |v: u32, n: usize, b: &mut [u8]| {
        let mut v = v;
        for i in (0..n).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    let mut b = *b"\"0000-00-00T00:00:00.000Z\"";
    d(year as u32, 4, &mut b[1..5]);
    d(t.month(), 2, &mut b[6..8]);
    d(t.day(), 2, &mut b[9..11]);
    d(t.hour(), 2, &mut b[12..14]);
    d(t.minute(), 2, &mut b[15..17]);
    d(t.second(), 2, &mut b[18..20]);
    d(ms, 3, &mut b[21..24]);
    out.extend_from_slice(&b);
}

fn write_user(o: &mut Obj<'_>, u: &UserPart<'_>, target: &UserPart<'_>) {
    if u.is_empty() && target.is_empty() {
        return;
    }
    let mut x = o.obj("user");
    x.opt_str("id", u.id.as_deref());
    x.opt_str("name", u.name.as_deref());
    x.opt_str("domain", u.domain.as_deref());
    x.opt_str("email", u.email.as_deref());
    x.opt_str("full_name", u.full_name.as_deref());
    if !target.is_empty() {
        let mut t = x.obj("target");
        t.opt_str("id", target.id.as_deref());
        t.opt_str("name", target.name.as_deref());
        t.opt_str("domain", target.domain.as_deref());
        t.opt_str("email", target.email.as_deref());
        t.end();
    }
    x.end();
}

fn write_event(
    o: &mut Obj<'_>,
    rec: &Record,
    opts: &FormatOptions,
    cls: &Classification,
    e: &Ecs<'_>,
) {
    let mut ev = o.obj("event");
    ev.str("id", rec.id());
    ev.opt_str("action", e.action.as_deref());
    ev.opt_str("code", e.code.as_deref());
    ev.opt_str("provider", e.provider.as_deref());
    ev.str("dataset", "o365.audit");
    ev.str("module", "o365");
    ev.str("kind", cls.kind);
    ev.strs("category", cls.category.as_slice().iter().copied());
    ev.strs("type", cls.types.as_slice().iter().copied());
    ev.str("outcome", cls.outcome.as_str());
    if let Some(s) = e.severity {
        ev.num("severity", s);
    }
    if opts.keep_original {
        ev.str("original", rec.raw.get());
    }
    ev.end();
}

fn write_network(o: &mut Obj<'_>, opts: &FormatOptions, e: &Ecs<'_>) {
    let ip = e.client.as_ref().and_then(|c| c.ip_text());
    if ip.is_some() || e.source_user_email.is_some() {
        let mut s = o.obj("source");
        if let Some(ip) = ip {
            s.str("ip", ip);
            if let Some(p) = e.client.as_ref().and_then(|c| c.port) {
                s.num("port", p);
            }
            if let (Some(en), Some(addr)) = (&opts.enrich, e.client.as_ref().and_then(|c| c.ip)) {
                en.geo(addr, |g| write_geo(&mut s, g));
            }
        }
        if let Some(mail) = &e.source_user_email {
            let mut u = s.obj("user");
            u.str("email", mail);
            u.end();
        }
        s.end();
    }
    let Some(c) = &e.client else { return };
    let mut x = o.obj("client");
    x.opt_str("address", c.address.as_deref());
    x.opt_str("ip", c.ip_text());
    if let Some(p) = c.port {
        x.num("port", p);
    }
    x.opt_str("domain", c.domain.as_deref());
    x.end();
}

/// `geo.*` and `as.*` as Elastic's `geoip` processors write them (default properties).
fn write_geo(s: &mut Obj<'_>, g: &super::enrich::Geo<'_>) {
    if g.has_location() {
        let mut x = s.obj("geo");
        x.opt_str("city_name", g.city_name);
        x.opt_str("continent_name", g.continent_name);
        x.opt_str("country_iso_code", g.country_iso_code);
        x.opt_str("country_name", g.country_name);
        if let Some((lat, lon)) = g.location() {
            let mut l = x.obj("location");
            l.num("lat", lat);
            l.num("lon", lon);
            l.end();
        }
        x.opt_str("region_iso_code", g.region_iso_code().as_deref());
        x.opt_str("region_name", g.region_name);
        x.end();
    }
    if g.as_number.is_some() || g.as_org.is_some() {
        let mut x = s.obj("as");
        if let Some(n) = g.as_number {
            x.num("number", n);
        }
        if let Some(org) = g.as_org {
            let mut y = x.obj("organization");
            y.str("name", org);
            y.end();
        }
        x.end();
    }
}

fn write_server(o: &mut Obj<'_>, e: &Ecs<'_>) {
    if let Some(s) = &e.server {
        let mut x = o.obj("server");
        x.opt_str("address", s.address.as_deref());
        x.opt_str("ip", s.ip_text());
        x.opt_str("domain", s.domain.as_deref());
        x.end();
    }
    let server_ip = e.server.as_ref().and_then(|s| s.ip_text());
    let dest_user = !e.destination_user_emails.is_empty() || e.destination_user_id.is_some();
    if server_ip.is_some() || dest_user {
        let mut d = o.obj("destination");
        if let Some(ip) = server_ip {
            d.str("ip", ip);
        }
        if dest_user {
            let mut u = d.obj("user");
            if !e.destination_user_emails.is_empty() {
                u.strs(
                    "email",
                    e.destination_user_emails.iter().map(|s| s.as_ref()),
                );
            }
            u.opt_str("id", e.destination_user_id.as_deref());
            u.end();
        }
        d.end();
    }
}

/// A short list without duplicates (Elastic's `allow_duplicates: false`): the first eight
/// on the stack, since nearly every record has fewer (this was an allocation per record).
struct Unique<'s> {
    head: [&'s str; 8],
    len: usize,
    rest: Vec<&'s str>,
}

impl<'s> Unique<'s> {
    fn new() -> Unique<'s> {
        Unique {
            head: [""; 8],
            len: 0,
            rest: Vec::new(),
        }
    }

    fn push(&mut self, v: &'s str) {
        if self.iter().any(|x| x == v) {
            return;
        }
        if self.len < self.head.len() {
            self.head[self.len] = v;
            self.len += 1;
        } else {
            self.rest.push(v);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &'s str> + '_ {
        self.head[..self.len]
            .iter()
            .chain(self.rest.iter())
            .copied()
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn write_related(o: &mut Obj<'_>, org_name: Option<&str>, e: &Ecs<'_>) {
    let client_ip = e.client.as_ref().and_then(|c| c.ip);
    if let Some(ip) = client_ip {
        let mut n = o.obj("network");
        n.str("type", if ip.is_ipv6() { "ipv6" } else { "ipv4" });
        n.end();
    }
    // At most two IPs: kept on the stack.
    let (mut ips, mut n_ips) = ([""; 2], 0);
    for ip in [
        e.client.as_ref().and_then(|c| c.ip_text()),
        e.server.as_ref().and_then(|s| s.ip_text()),
    ]
    .into_iter()
    .flatten()
    {
        if !ips[..n_ips].contains(&ip) {
            ips[n_ips] = ip;
            n_ips += 1;
        }
    }
    // Elastic's order: Teams members, the user's name, the target's, the file owner,
    // Parameters.User, alert data users; the user's id and e-mail when it has no name.
    let mut users = Unique::new();
    for u in &e.users_before {
        users.push(u);
    }
    for u in [
        e.user.name.as_deref(),
        e.target.name.as_deref(),
        e.file.owner.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        users.push(u);
    }
    for u in &e.users_after {
        users.push(u);
    }
    if e.user.name.is_none() {
        for u in [e.user.id.as_deref(), e.user.email.as_deref()]
            .into_iter()
            .flatten()
        {
            users.push(u);
        }
    }
    let mut hosts = Unique::new();
    for h in [
        org_name,
        e.server.as_ref().and_then(|s| s.domain.as_deref()),
    ]
    .into_iter()
    .flatten()
    {
        hosts.push(h);
    }
    let ips = &ips[..n_ips];
    if ips.is_empty() && users.is_empty() && hosts.is_empty() {
        return;
    }
    let mut r = o.obj("related");
    if !hosts.is_empty() {
        r.strs("hosts", hosts.iter());
    }
    if !ips.is_empty() {
        r.strs("ip", ips.iter().copied());
    }
    if !users.is_empty() {
        r.strs("user", users.iter());
    }
    r.end();
}

/// `organization.name`: the tenant's name in our config (Elastic's tenant map), else the
/// record's own `OrganizationName` where Elastic moves it.
fn org_name<'s>(origin: &Origin<'s>, e: &'s Ecs<'_>) -> Option<&'s str> {
    Some(origin.tenant)
        .filter(|t| !t.is_empty())
        .or(e.org_name.as_deref())
}

fn write_org(o: &mut Obj<'_>, origin: &Origin<'_>, e: &Ecs<'_>) {
    let org_name = org_name(origin, e);
    if e.org_id.is_some() || org_name.is_some() {
        let mut x = o.obj("organization");
        x.opt_str("id", e.org_id.as_deref());
        x.opt_str("name", org_name);
        x.end();
    }
    let host_name = org_name.or(e.user.domain.as_deref());
    if e.org_id.is_some() || host_name.is_some() {
        let mut x = o.obj("host");
        x.opt_str("id", e.org_id.as_deref());
        x.opt_str("name", host_name);
        x.end();
    }
    let account = e
        .org_id
        .as_deref()
        .or(Some(origin.tenant_id).filter(|t| !t.is_empty()));
    let mut c = o.obj("cloud");
    c.str("provider", "azure");
    if let Some(a) = account {
        let mut acc = c.obj("account");
        acc.str("id", a);
        acc.end();
    }
    c.end();
}

fn write_url(o: &mut Obj<'_>, original: &str) {
    let mut u = o.obj("url");
    u.str("original", original);
    if let Ok(parsed) = url::Url::parse(original)
        && parsed.has_host()
    {
        u.str("full", parsed.as_str());
        u.str("scheme", parsed.scheme());
        u.opt_str("domain", parsed.host_str());
        if let Some(p) = parsed.port() {
            u.num("port", p);
        }
        u.str("path", parsed.path());
        u.opt_str("query", parsed.query());
        u.opt_str("fragment", parsed.fragment());
    }
    u.end();
}

fn write_misc(o: &mut Obj<'_>, opts: &FormatOptions, e: &Ecs<'_>) {
    if let Some(ua) = &e.user_agent {
        let mut x = o.obj("user_agent");
        x.str("original", ua);
        if let Some(p) = opts.enrich.as_ref().and_then(|en| en.user_agent(ua)) {
            x.str("name", &p.name);
            x.opt_str("version", p.version.as_deref());
            if p.os_name.is_some() {
                let mut os = x.obj("os");
                os.opt_str("name", p.os_name.as_deref());
                os.opt_str("version", p.os_version.as_deref());
                os.opt_str("full", p.os_full.as_deref());
                os.end();
            }
            let mut d = x.obj("device");
            d.str("name", &p.device);
            d.end();
        }
        x.end();
    }
    if let Some(url) = &e.url {
        write_url(o, url);
    }
    let fl = &e.file;
    if !fl.is_empty() {
        let mut x = o.obj("file");
        x.opt_str("name", fl.name.as_deref());
        x.opt_str("directory", fl.directory.as_deref());
        x.opt_str("extension", fl.extension.as_deref());
        x.opt_str("inode", fl.inode.as_deref());
        x.opt_str("owner", fl.owner.as_deref());
        x.opt_str("mtime", fl.mtime.as_deref());
        x.end();
    }
    if let Some(p) = &e.process_name {
        let mut x = o.obj("process");
        x.str("name", p);
        x.end();
    }
    let r = &e.rule;
    if !r.id.is_empty()
        || !r.name.is_empty()
        || r.category.is_some()
        || r.ruleset.is_some()
        || !r.reference.is_empty()
    {
        let mut x = o.obj("rule");
        let one_or_many =
            |x: &mut Obj<'_>, k: &'static str, v: &[std::borrow::Cow<'_, str>]| match v {
                [] => {}
                [one] => x.str(k, one),
                many => x.strs(k, many.iter().map(|s| s.as_ref())),
            };
        one_or_many(&mut x, "id", &r.id);
        one_or_many(&mut x, "name", &r.name);
        x.opt_str("category", r.category.as_deref());
        x.opt_str("ruleset", r.ruleset.as_deref());
        x.opt_str("description", r.description.as_deref());
        if !r.reference.is_empty() {
            x.strs("reference", r.reference.iter().map(|s| s.as_ref()));
        }
        x.end();
    }
    o.opt_str("message", e.message.as_deref());
    if let Some(g) = &e.group_name {
        let mut x = o.obj("group");
        x.str("name", g);
        x.end();
    }
    if let Some(t) = &e.token_id {
        let mut x = o.obj("token");
        x.str("id", t);
        x.end();
    }
    write_email(o, &e.email);
}

/// `email.*`, every member an array as Elastic writes them.
fn write_email(o: &mut Obj<'_>, m: &values::EmailPart<'_>) {
    if m.is_empty() {
        return;
    }
    let mut x = o.obj("email");
    if !m.attachments.is_empty() {
        let out = x.key("attachments");
        out.push(b'[');
        for (i, a) in m.attachments.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let mut el = Obj::new(out);
            let mut file = el.obj("file");
            file.opt_str("extension", a.extension.as_deref());
            file.str("name", &a.name);
            if let Some(n) = a.size {
                file.num("size", n);
            }
            file.end();
            el.end();
        }
        out.push(b']');
    }
    let one = |x: &mut Obj<'_>, k: &'static str, v: &Option<std::borrow::Cow<'_, str>>| {
        if let Some(v) = v {
            x.strs(k, [v.as_ref()]);
        }
    };
    if let Some(from) = &m.sender {
        let mut s = x.obj("sender");
        s.strs("address", [from.as_ref()]);
        s.end();
    }
    one(&mut x, "local_id", &m.local_id);
    one(&mut x, "message_id", &m.message_id);
    one(&mut x, "subject", &m.subject);
    if let Some(to) = &m.to {
        let mut s = x.obj("to");
        s.strs("address", [to.as_ref()]);
        s.end();
    }
    x.end();
}

fn write_provenance(o: &mut Obj<'_>, origin: &Origin<'_>, f: Option<&Fields<'_>>) {
    let mut p = o.obj("o365fwd");
    p.str("tenant", origin.tenant);
    p.str("tenant_id", origin.tenant_id);
    p.str("content_type", origin.content_type.as_str());
    if let Some(parts) = f.and_then(|f| f.get(PARTS_KEY)) {
        let mut s = p.obj("split");
        s.raw("parts", parts.get());
        let partial = f
            .and_then(|f| f.get(PARTIAL_KEY))
            .map_or("false", |v| v.get());
        s.raw("partial", partial);
        s.end();
    }
    p.end();
}

fn write_doc(
    rec: &Record,
    origin: &Origin<'_>,
    opts: &FormatOptions,
    f: &Fields<'_>,
    cls: &Classification,
    e: &Ecs<'_>,
    out: &mut Vec<u8>,
) {
    let mut o = Obj::new(out);
    write_head(&mut o, rec);
    write_event(&mut o, rec, opts, cls, e);
    write_user(&mut o, &e.user, &e.target);
    write_network(&mut o, opts, e);
    write_server(&mut o, e);
    write_related(&mut o, org_name(origin, e), e);
    write_org(&mut o, origin, e);
    write_misc(&mut o, opts, e);
    let mut o365 = o.obj("o365");
    let mut a = o365.obj("audit");
    let dlp = cls.kind == "alert" && cls.category.contains("file");
    audit::write_audit(&mut a, f, e, dlp);
    a.end();
    audit::write_dynamics(&mut o365, f, cls, rec.operation().unwrap_or(""));
    o365.end();
    write_provenance(&mut o, origin, Some(f));
    o.end();
}

/// What every document begins with: when the activity happened and the ECS version.
fn write_head(o: &mut Obj<'_>, rec: &Record) {
    timestamp(
        o.key("@timestamp"),
        rec.creation_time.unwrap_or_else(Utc::now),
    );
    let mut ecs = o.obj("ecs");
    ecs.str("version", ECS_VERSION);
    ecs.end();
}

/// A record that is not a JSON object: still a valid document, flagged as a pipeline
/// error, carrying the original text.
fn write_unparsed(rec: &Record, origin: &Origin<'_>, out: &mut Vec<u8>) {
    let mut o = Obj::new(out);
    write_head(&mut o, rec);
    let mut ev = o.obj("event");
    ev.str("id", rec.id());
    ev.str("dataset", "o365.audit");
    ev.str("module", "o365");
    ev.str("kind", "pipeline_error");
    ev.str("original", rec.raw.get());
    ev.end();
    let mut er = o.obj("error");
    er.str("message", "audit record is not a JSON object");
    er.end();
    write_provenance(&mut o, origin, None);
    o.end();
}

#[cfg(test)]
mod tests;
