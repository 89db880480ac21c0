//! `ocsf`: one Open Cybersecurity Schema Framework 1.1 event per record, the schema Amazon
//! Security Lake requires and Splunk, Google SecOps and others ingest natively. The class is
//! chosen per record (`class.rs`); the values come from the same reading of the record as
//! the ECS encoding (`ecs::map`), so the two never disagree. Whatever has no OCSF home is
//! kept, byte for byte, under `unmapped`; the record text goes to `raw_data` only with
//! `keep_original`. `docs/mapping.md` §5 has the class table.

pub mod class;

use chrono::Utc;

use self::class::{Activity, Class, choose, is_email, is_hostname};
use super::ecs::json::Obj;
use super::ecs::map;
use super::ecs::values::{Ecs, UserPart};
use super::{FormatOptions, Origin};
use crate::record::Record;
use crate::record::classify::{Classification, Fields, Outcome, classify, record_type_name};

/// The OCSF version our events follow (and are validated against).
pub const OCSF_VERSION: &str = "1.1.0";

pub fn encode(rec: &Record, origin: &Origin<'_>, opts: &FormatOptions, out: &mut Vec<u8>) {
    let Some(f) = Fields::of(rec) else {
        return write_unparsed(rec, origin, out);
    };
    let cls = classify(&f, rec);
    let e = map::map(&f, rec, &cls);
    let code = rec.record_type.and_then(record_type_name);
    let op = rec.operation().unwrap_or("");
    let file = file_name(&f, &e);
    let mail = dlp_mail(&f);
    let act = choose(code, op, &cls, file.is_some(), mail.is_some());
    let mut o = Obj::new(out);
    write_common(&mut o, rec, origin, &f, &cls, &e, act, op);
    let src = Src {
        e: &e,
        enrich: opts.enrich.as_deref(),
    };
    match act.class {
        Class::Authentication => {
            write_user(&mut o, "user", &e.user, f.str("UserKey").as_deref());
            write_src(&mut o, &src, true);
            write_ua(&mut o, &e);
            // OCSF needs the service (or the destination) of a logon: the application
            // signed in to, named by the workload that logged it.
            let mut s = o.obj("service");
            s.str("name", rec.workload().unwrap_or("Microsoft 365"));
            s.opt_str("uid", f.str("ApplicationId").as_deref());
            s.end();
        }
        Class::AccountChange => {
            write_actor(&mut o, &e, &f);
            let target = if e.target.is_empty() {
                &e.user
            } else {
                &e.target
            };
            let member = class::name_value(&f, "Parameters", "Member");
            match member {
                Some(m) if code == Some("ExchangeAdmin") => {
                    let mut u = o.obj("user");
                    u.str("name", &m);
                    u.end();
                }
                _ => write_user(&mut o, "user", target, None),
            }
            if matches!(act.id, 7 | 8)
                && let Some(role) = role_name(&f)
            {
                let mut p = o.obj("policy");
                p.str("name", &role);
                p.end();
            }
            write_src(&mut o, &src, false);
            write_ua(&mut o, &e);
        }
        Class::FileHosting => {
            // File Hosting Activity has no http_request: the user agent stays unmapped.
            write_actor(&mut o, &e, &f);
            write_src(&mut o, &src, true);
            let mut x = o.obj("file");
            x.str("name", file.as_deref().unwrap_or_default());
            let folder = op.starts_with("Folder") || f.str("ItemType").as_deref() == Some("Folder");
            x.num("type_id", if folder { 2 } else { 1 });
            x.opt_str("path", e.url.as_deref());
            x.opt_str("parent_folder", e.file.directory.as_deref());
            x.opt_str("uid", f.str("ListItemUniqueId").as_deref());
            if let Some(size) = f
                .get("FileSizeBytes")
                .and_then(|v| v.get().parse::<u64>().ok())
            {
                x.num("size", size);
            }
            x.end();
        }
        Class::EmailActivity => {
            let (from, to, cc, subject, id) = mail.unwrap_or_default();
            o.num("direction_id", 0);
            o.str("direction", "Unknown");
            let mut m = o.obj("email");
            m.str("from", &from);
            m.strs("to", to.iter().map(String::as_str));
            if !cc.is_empty() {
                m.strs("cc", cc.iter().map(String::as_str));
            }
            m.opt_str("subject", subject.as_deref());
            m.opt_str("message_uid", id.as_deref());
            m.end();
        }
        Class::ApiActivity => {
            write_actor(&mut o, &e, &f);
            write_src(&mut o, &src, true);
            write_ua(&mut o, &e);
            write_api(&mut o, &f, &cls, op, rec.workload());
        }
    }
    if let Some(msg) = e.message.as_deref() {
        o.str("message", msg);
    }
    write_unmapped(&mut o, origin, &f, &e, act.class);
    if opts.keep_original {
        o.str("raw_data", rec.raw.get());
    }
    o.end();
}

#[allow(clippy::too_many_arguments)]
fn write_common(
    o: &mut Obj<'_>,
    rec: &Record,
    origin: &Origin<'_>,
    f: &Fields<'_>,
    cls: &Classification,
    e: &Ecs<'_>,
    act: Activity,
    op: &str,
) {
    let (cat_uid, cat_name) = act.class.category();
    o.num("class_uid", act.class.uid());
    o.str("class_name", act.class.name());
    o.num("category_uid", cat_uid);
    o.str("category_name", cat_name);
    o.num("activity_id", act.id);
    // "Other" says nothing: the operation itself names the activity.
    let activity = if act.id == 99 && !op.is_empty() {
        op
    } else {
        act.name
    };
    o.str("activity_name", activity);
    o.num("type_uid", act.class.uid() * 100 + act.id);
    let mut type_name = String::with_capacity(act.class.name().len() + activity.len() + 2);
    type_name.push_str(act.class.name());
    type_name.push_str(": ");
    type_name.push_str(activity);
    o.str("type_name", &type_name);
    let time = rec.creation_time.unwrap_or_else(Utc::now);
    o.num("time", time.timestamp_millis());
    let sev = e.severity.filter(|s| (1..=4).contains(s)).unwrap_or(1);
    o.num("severity_id", sev);
    o.str(
        "severity",
        ["Unknown", "Informational", "Low", "Medium", "High"][sev as usize],
    );
    let (id, name) = match cls.outcome {
        Outcome::Success => (1, "Success"),
        Outcome::Failure => (2, "Failure"),
        Outcome::Unknown => (0, "Unknown"),
    };
    o.num("status_id", id);
    o.str("status", name);
    if let Some(detail) = f.str("LogonError").or_else(|| f.str("ResultStatus")) {
        o.str("status_detail", &detail);
    }
    let mut m = o.obj("metadata");
    m.str("version", OCSF_VERSION);
    let mut p = m.obj("product");
    p.str("name", "Microsoft 365");
    p.str("vendor_name", "Microsoft");
    if let Some(w) = rec.workload() {
        let mut feat = p.obj("feature");
        feat.str("name", w);
        feat.end();
    }
    p.end();
    m.str("uid", rec.id());
    if let Some(t) = f.str("CreationTime") {
        m.str("original_time", &t);
    }
    if let Some(c) = rec.record_type.and_then(record_type_name) {
        m.str("event_code", c);
    }
    m.str("log_name", origin.content_type.as_str());
    m.str("log_provider", "Office 365 Management Activity API");
    let tenant = e
        .org_id
        .as_deref()
        .or(Some(origin.tenant_id).filter(|t| !t.is_empty()));
    m.opt_str("tenant_uid", tenant);
    m.end();
}

/// An OCSF `user`: name (the UPN or id), uid, e-mail when it fits OCSF's pattern, domain.
fn write_user(o: &mut Obj<'_>, key: &'static str, u: &UserPart<'_>, uid: Option<&str>) {
    let name = u.email.as_deref().or(u.id.as_deref()).or(u.name.as_deref());
    let mut x = o.obj(key);
    match (name, uid.filter(|s| !s.is_empty())) {
        (None, None) => x.str("name", "unknown"),
        (n, id) => {
            x.opt_str("name", n);
            x.opt_str("uid", id);
        }
    }
    x.opt_str("email_addr", u.email.as_deref().filter(|m| is_email(m)));
    x.opt_str("domain", u.domain.as_deref());
    x.opt_str("full_name", u.full_name.as_deref());
    x.end();
}

fn write_actor(o: &mut Obj<'_>, e: &Ecs<'_>, f: &Fields<'_>) {
    let mut a = o.obj("actor");
    let uid = f.str("UserKey");
    write_user(&mut a, "user", &e.user, uid.as_deref());
    a.end();
}

/// What `src_endpoint` is written from.
struct Src<'r> {
    e: &'r Ecs<'r>,
    enrich: Option<&'r super::enrich::Enricher>,
}

/// `src_endpoint` from the client address (with its `location` when enrichment is on).
/// Where OCSF requires one and the record has no client, the endpoint is named `unknown`
/// (the schema needs one identifying attribute).
fn write_src(o: &mut Obj<'_>, src: &Src<'_>, required: bool) {
    let c = src.e.client.as_ref();
    let ip = c.and_then(|c| c.ip_text());
    let host = c.and_then(|c| c.domain.as_deref());
    if ip.is_none() && host.is_none() && !required {
        return;
    }
    let mut s = o.obj("src_endpoint");
    match (ip, host) {
        (None, None) => s.str("name", "unknown"),
        (ip, host) => {
            s.opt_str("ip", ip);
            // Text that is not a host name by OCSF's pattern is still the client's name.
            match host {
                Some(h) if is_hostname(h) => s.str("hostname", h),
                Some(h) if ip.is_none() => s.str("name", h),
                _ => {}
            }
        }
    }
    if let Some(p) = c.and_then(|c| c.port) {
        s.num("port", p);
    }
    if let (Some(en), Some(addr)) = (src.enrich, c.and_then(|c| c.ip)) {
        en.geo(addr, |g| {
            // OCSF's location needs one of these.
            let any = g.city_name.is_some()
                || g.country_iso_code.is_some()
                || g.region_iso_code().is_some()
                || g.location().is_some();
            if !any {
                return;
            }
            let mut l = s.obj("location");
            l.opt_str("city", g.city_name);
            l.opt_str("continent", g.continent_name);
            l.opt_str("country", g.country_iso_code);
            l.opt_str("region", g.region_iso_code().as_deref());
            if let Some((lat, lon)) = g.location() {
                let out = l.key("coordinates");
                let _ = std::io::Write::write_fmt(out, format_args!("[{lon},{lat}]"));
            }
            l.end();
        });
    }
    s.end();
}

fn write_ua(o: &mut Obj<'_>, e: &Ecs<'_>) {
    if let Some(ua) = &e.user_agent {
        let mut h = o.obj("http_request");
        h.str("user_agent", ua);
        h.end();
    }
}

/// `api` and `resources`: the operation (Dynamics: the SDK message), the workload as the
/// service, the correlation id as the request; Dynamics entities and `ObjectId` as
/// resources.
fn write_api(
    o: &mut Obj<'_>,
    f: &Fields<'_>,
    cls: &Classification,
    op: &str,
    workload: Option<&str>,
) {
    let message = cls.crm.and(f.nonempty("Message"));
    let mut a = o.obj("api");
    a.str(
        "operation",
        message
            .as_deref()
            .unwrap_or(if op.is_empty() { "Unknown" } else { op }),
    );
    if let Some(w) = workload {
        let mut s = a.obj("service");
        s.str("name", w);
        s.end();
    }
    if let Some(c) = f.nonempty("CorrelationId") {
        let mut r = a.obj("request");
        r.str("uid", &c);
        r.end();
    }
    a.end();
    let entity = cls.crm.and(f.nonempty("EntityName"));
    let entity_id = f
        .nonempty("EntityId")
        .filter(|id| !id.chars().all(|c| c == '0' || c == '-'));
    let object = f.nonempty("ObjectId");
    if entity.is_none() && object.is_none() {
        return;
    }
    let out = o.key("resources");
    out.push(b'[');
    let mut r = Obj::new(out);
    if let Some(entity) = &entity {
        r.str("type", entity);
        match (entity_id.as_deref(), f.nonempty("PrimaryFieldValue")) {
            (Some(id), name) => {
                r.str("uid", id);
                r.opt_str("name", name.as_deref());
            }
            (None, Some(name)) => r.str("name", &name),
            (None, None) => r.str("name", entity),
        }
    } else if let Some(obj) = &object {
        r.str("name", obj);
    }
    r.end();
    out.push(b']');
}

/// The file a SharePoint/OneDrive record is about: `SourceFileName`, else the last segment
/// of `ObjectId`.
fn file_name<'a>(f: &Fields<'a>, e: &Ecs<'a>) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(n) = e.file.name.clone().filter(|n| !n.is_empty()) {
        return Some(n);
    }
    let url = f.nonempty("ObjectId")?;
    let last = url.trim_end_matches('/').rsplit('/').next()?.to_string();
    (!last.is_empty()).then_some(std::borrow::Cow::Owned(last))
}

type Mail = (
    String,
    Vec<String>,
    Vec<String>,
    Option<String>,
    Option<String>,
);

/// A DLP mail's sender, recipients, copies, subject and message id, when the sender and at
/// least one recipient fit OCSF's address pattern (others are left out).
fn dlp_mail(f: &Fields<'_>) -> Option<Mail> {
    let meta = f
        .get("ExchangeMetaData")
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r.get()).ok())?;
    let list = |k: &str| -> Vec<String> {
        match meta.get(k) {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
        .into_iter()
        .filter(|m| is_email(m))
        .collect()
    };
    let from = meta
        .get("From")?
        .as_str()
        .filter(|m| is_email(m))?
        .to_string();
    let to = list("To");
    if to.is_empty() {
        return None;
    }
    let s = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(String::from);
    Some((from, to, list("CC"), s("Subject"), s("MessageID")))
}

/// The role of a role-membership change: `Role.DisplayName` among the modified properties
/// (Entra ID), else the `Identity` parameter (Exchange role groups).
fn role_name<'a>(f: &Fields<'a>) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(items) = f
        .get("ModifiedProperties")
        .and_then(crate::record::classify::array)
    {
        for (_, mp) in items {
            let Some(mp) = mp else { continue };
            if mp.str("Name").as_deref() == Some("Role.DisplayName")
                && let Some(v) = mp.str("NewValue").or_else(|| mp.str("OldValue"))
            {
                let v = v.trim_matches(|c| c == '"' || c == '[' || c == ']' || c == ' ');
                if !v.is_empty() {
                    return Some(std::borrow::Cow::Owned(v.to_string()));
                }
            }
        }
    }
    class::name_value(f, "Parameters", "Identity")
}

/// Keys whose values went to OCSF attributes, per class; every other top-level field goes
/// under `unmapped`, with our provenance.
fn consumed(class: Class, k: &str, e: &Ecs<'_>) -> bool {
    let common = [
        "Id",
        "CreationTime",
        "Operation",
        "Workload",
        "OrganizationId",
        "UserId",
    ];
    if common.contains(&k) || (e.moved.contains(k) && k.starts_with("Client")) {
        return true;
    }
    match class {
        Class::Authentication => matches!(k, "UserKey" | "ApplicationId" | "LogonError"),
        Class::AccountChange | Class::ApiActivity => k == "UserKey",
        Class::FileHosting => matches!(
            k,
            "UserKey"
                | "SourceFileName"
                | "SourceRelativeUrl"
                | "FileSizeBytes"
                | "ListItemUniqueId"
        ),
        Class::EmailActivity => false,
    }
}

fn write_unmapped(o: &mut Obj<'_>, origin: &Origin<'_>, f: &Fields<'_>, e: &Ecs<'_>, class: Class) {
    let mut u = o.obj("unmapped");
    for (k, v) in f.iter() {
        let ua_mapped = e.user_agent.is_some() && !e.ep_user_agent && class != Class::FileHosting;
        if consumed(class, k, e) || (k == "UserAgent" && ua_mapped) {
            continue;
        }
        u.draw(k, v.get());
    }
    let mut p = u.obj("o365fwd");
    p.str("tenant", origin.tenant);
    p.str("tenant_id", origin.tenant_id);
    p.str("content_type", origin.content_type.as_str());
    p.end();
    u.end();
}

/// A record that is not a JSON object: an OCSF Base Event that carries its text.
fn write_unparsed(rec: &Record, origin: &Origin<'_>, out: &mut Vec<u8>) {
    let mut o = Obj::new(out);
    o.num("class_uid", 0);
    o.str("class_name", "Base Event");
    o.num("category_uid", 0);
    o.str("category_name", "Uncategorized");
    o.num("activity_id", 0);
    o.str("activity_name", "Unknown");
    o.num("type_uid", 0);
    o.num(
        "time",
        rec.creation_time
            .unwrap_or_else(Utc::now)
            .timestamp_millis(),
    );
    o.num("severity_id", 1);
    o.num("status_id", 0);
    o.str("message", "audit record is not a JSON object");
    let mut m = o.obj("metadata");
    m.str("version", OCSF_VERSION);
    let mut p = m.obj("product");
    p.str("name", "Microsoft 365");
    p.str("vendor_name", "Microsoft");
    p.end();
    m.str("uid", rec.id());
    m.str("log_name", origin.content_type.as_str());
    m.end();
    o.str("raw_data", rec.raw.get());
    o.end();
}

#[cfg(test)]
mod tests;
