//! From a parsed record to the ECS values, following Elastic's `o365` ingest pipeline
//! (field by field, same precedence), plus our Dynamics 365 additions.

use std::borrow::Cow;

use super::values::Ecs;
use super::workloads;
use crate::record::Record;
use crate::record::classify::{
    Classification, ClientAddr, Fields, parse_client, raw_scalar_text, raw_str, record_type_name,
};

/// Builds the ECS values of a record object.
pub fn map<'a>(f: &Fields<'a>, rec: &Record, cls: &Classification) -> Ecs<'a> {
    let mut e = Ecs::default();
    let code = rec.record_type.and_then(record_type_name);
    e.code = match (code, f.get("RecordType")) {
        (Some(name), _) => Some(Cow::Borrowed(name)),
        (None, Some(raw)) => raw_scalar_text(raw),
        _ => None,
    };
    e.provider = e.take(f, "Workload");
    e.action = e.take(f, "Operation");
    if let Some(a) = cls.action {
        e.action = Some(Cow::Borrowed(a));
    }
    if f.str("Id").is_some() {
        e.moved.push("Id");
    }
    if let Some(org) = e.take(f, "OrganizationId") {
        e.org_id = Some(if org.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(org.to_ascii_lowercase())
        } else {
            org
        });
    }
    e.user_agent = e.take(f, "UserAgent");
    if let Some(ua) = name_value_str(f, "ExtendedProperties", "UserAgent") {
        // Elastic lets the ExtendedProperties copy win; the top-level one then stays.
        if e.user_agent.is_some() {
            e.moved.remove("UserAgent");
        }
        e.user_agent = Some(ua);
        e.ep_user_agent = true;
    }
    for key in ["ClientIPAddress", "ClientIP", "ActorIpAddress"] {
        if let Some(s) = f.str(key) {
            e.moved.push(key);
            e.client = parse_client(&s);
            break;
        }
    }
    e.user.id = f.get("UserId").and_then(raw_scalar_text);
    e.severity = match f.str("Severity").as_deref() {
        Some("informational") => Some(1),
        Some("low") => Some(2),
        Some("medium") => Some(3),
        Some("high") => Some(4),
        _ => None,
    };
    match code {
        Some("ExchangeAdmin") => {
            e.org_name = e.take(f, "OrganizationName");
            e.server = e.take(f, "OriginatingServer").and_then(|s| server_addr(&s));
        }
        Some("ExchangeItem") => {
            if let Some(upn) = e.take(f, "MailboxOwnerUPN") {
                e.user.email = Some(upn);
            }
            if e.user.id.is_none() {
                e.user.id = f.get("LogonUserSid").and_then(raw_scalar_text);
            }
            e.user.full_name = e.take(f, "LogonUserDisplayName");
            e.org_name = e.take(f, "OrganizationName");
            e.server = e.take(f, "OriginatingServer").and_then(|s| server_addr(&s));
            e.process_name = e.take(f, "ClientProcessName");
        }
        Some("AzureActiveDirectory") => e.target.id = f.get("ObjectId").and_then(raw_scalar_text),
        Some("SharePointFileOperation") | Some("SharePointSharingOperation") => {
            // ObjectId stays under o365.audit too: detection rules query it there.
            e.url = f.str("ObjectId");
            e.file.directory = e.take(f, "SourceRelativeUrl");
            e.file.name = e.take(f, "SourceFileName");
            e.file.extension = e.take(f, "SourceFileExtension");
        }
        Some("SecurityComplianceAlerts") => workloads::alert(f, &mut e),
        Some("ComplianceDLPSharePoint") | Some("ComplianceDLPExchange") => {
            workloads::dlp(f, &mut e)
        }
        Some("MicrosoftTeams") => workloads::teams(f, cls, &mut e),
        Some("Yammer") => workloads::yammer(f, &mut e),
        Some("ExchangeItemAggregated") => {
            e.renamed.push(("Messages", "ExchangeAggregatedMessages"));
            e.renamed.push(("Folders", "ExchangeAggregatedFolders"));
        }
        _ => {}
    }
    if code == Some("ExchangeItem") {
        workloads::exchange_item(f, &mut e);
    }
    e.token_id = f
        .get("AppAccessContext")
        .and_then(|r| Fields::parse(r.get()))
        .and_then(|ctx| ctx.str("UniqueTokenId"));
    if let Some(u) = name_value_str(f, "Parameters", "User") {
        e.users_after.insert(0, u);
    }
    if code == Some("CRM") || rec.workload() == Some("CRM") {
        // Our addition; ItemUrl stays under o365.audit as Elastic leaves it.
        e.url = f.str("ItemUrl");
    }
    // user.email/name/domain from a UPN user id; Dynamics records whose UserId is a GUID
    // fall back to UserUpn (our addition: a GUID never becomes an e-mail).
    if let Some(id) = e.user.id.clone() {
        let email_before = e.user.email.take();
        if !e.user.upn(id) {
            e.user.email = email_before;
            if let Some(upn) = f.str("UserUpn") {
                e.user.upn(upn);
            }
        }
    }
    if let Some(tid) = e.target.id.clone() {
        e.target.upn(tid);
    }
    e
}

/// `Value` of the element named `name` in a Name/Value list.
pub(crate) fn name_value_str<'a>(f: &Fields<'a>, list: &str, name: &str) -> Option<Cow<'a, str>> {
    let raw = f.get(list)?;
    let items = crate::record::classify::array(raw)?;
    items.into_iter().find_map(|(_, nv)| {
        let nv = nv?;
        (nv.str("Name").as_deref() == Some(name))
            .then(|| nv.get("Value").and_then(raw_str))
            .flatten()
    })
}

/// `OriginatingServer`: `HOST (ADDRESS)` with stray CR/LF, as Elastic's grok reads it
/// (`server.address` is what is in the parentheses, `server.ip` only when that is an IP:
/// Exchange often writes a build number there).
fn server_addr(s: &str) -> Option<ClientAddr> {
    let s: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let s = s.trim();
    let inner = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    if let Some((host, rest)) = inner.split_once(" (")
        && let Some(addr) = rest.strip_suffix(')')
        && !host.is_empty()
        && !host.contains(char::is_whitespace)
        && !addr.contains(')')
    {
        let ip = parse_client(addr).and_then(|c| c.ip.filter(|_| c.port.is_none()));
        return Some(ClientAddr {
            address: Some(addr.to_string()),
            ip,
            port: None,
            domain: Some(host.to_string()),
        });
    }
    if inner.is_empty() {
        return None;
    }
    let c = parse_client(inner);
    Some(match c {
        Some(c) if c.ip.is_some() && c.port.is_none() => c,
        // Anything else: Elastic's last pattern keeps the text as server.address.
        _ => ClientAddr {
            address: Some(inner.to_string()),
            ..ClientAddr::default()
        },
    })
}
