//! From a parsed record to the ECS values, following Elastic's `o365` ingest pipeline
//! (field by field, same precedence), plus our Dynamics 365 additions.

use std::borrow::Cow;

use super::workloads;
use crate::record::Record;
use crate::record::classify::{
    Classification, ClientAddr, Fields, parse_client, raw_scalar_text, raw_str, record_type_name,
};

/// `user.*` or `user.target.*`.
#[derive(Debug, Default)]
pub struct UserPart<'a> {
    pub id: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub domain: Option<Cow<'a, str>>,
    pub email: Option<Cow<'a, str>>,
    pub full_name: Option<Cow<'a, str>>,
}

impl<'a> UserPart<'a> {
    /// Fills email, name and domain from a UPN (exactly one `@`), as Elastic does.
    fn upn(&mut self, s: Cow<'a, str>) -> bool {
        let Some((local, domain)) = s.split_once('@') else {
            return false;
        };
        if domain.contains('@') || local.is_empty() || domain.is_empty() {
            return false;
        }
        let (local, domain) = match &s {
            // Borrowed from the record: the parts are too (no copies).
            Cow::Borrowed(b) => {
                let (l, d) = b.split_at(local.len());
                (Cow::Borrowed(l), Cow::Borrowed(&d[1..]))
            }
            Cow::Owned(_) => (
                Cow::Owned(local.to_string()),
                Cow::Owned(domain.to_string()),
            ),
        };
        self.name = Some(local);
        self.domain = Some(domain);
        self.email = Some(s);
        true
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.name.is_none()
            && self.domain.is_none()
            && self.email.is_none()
            && self.full_name.is_none()
    }
}

#[derive(Debug, Default)]
pub struct FilePart<'a> {
    pub name: Option<Cow<'a, str>>,
    pub directory: Option<Cow<'a, str>>,
    pub extension: Option<Cow<'a, str>>,
    pub inode: Option<Cow<'a, str>>,
    pub owner: Option<Cow<'a, str>>,
    pub mtime: Option<Cow<'a, str>>,
}

impl FilePart<'_> {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.directory.is_none()
            && self.extension.is_none()
            && self.inode.is_none()
            && self.owner.is_none()
            && self.mtime.is_none()
    }
}

#[derive(Debug, Default)]
pub struct RulePart<'a> {
    pub id: Vec<Cow<'a, str>>,
    pub name: Vec<Cow<'a, str>>,
    pub category: Option<Cow<'a, str>>,
    pub ruleset: Option<Cow<'a, str>>,
    pub description: Option<Cow<'a, str>>,
    pub reference: Vec<Cow<'a, str>>,
}

/// One `email.attachments[]` element.
#[derive(Debug)]
pub struct Attachment<'a> {
    pub name: Cow<'a, str>,
    pub extension: Option<Cow<'a, str>>,
    pub size: Option<u64>,
}

/// `email.*`: Exchange items and alert data. Elastic writes every member as an array.
#[derive(Debug, Default)]
pub struct EmailPart<'a> {
    pub subject: Option<Cow<'a, str>>,
    pub attachments: Vec<Attachment<'a>>,
    pub local_id: Option<Cow<'a, str>>,
    pub message_id: Option<Cow<'a, str>>,
    pub sender: Option<Cow<'a, str>>,
    pub to: Option<Cow<'a, str>>,
}

impl EmailPart<'_> {
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.attachments.is_empty()
            && self.local_id.is_none()
            && self.message_id.is_none()
            && self.sender.is_none()
            && self.to.is_none()
    }
}

/// The top-level keys a record's ECS values were taken from: a dozen at most, kept inline
/// (this was an allocation per record).
#[derive(Debug, Default)]
pub struct Moved {
    keys: [&'static str; 32],
    len: usize,
}

impl Moved {
    pub fn push(&mut self, key: &'static str) {
        // More than 32 cannot happen (map() takes fewer keys on every path); were it to,
        // the key would simply also stay under `o365.audit`.
        if let Some(slot) = self.keys.get_mut(self.len) {
            *slot = key;
            self.len += 1;
        }
    }

    pub fn as_slice(&self) -> &[&'static str] {
        &self.keys[..self.len]
    }

    pub fn contains(&self, key: &str) -> bool {
        self.as_slice().contains(&key)
    }

    fn remove(&mut self, key: &str) {
        let mut kept = 0;
        for i in 0..self.len {
            if self.keys[i] != key {
                self.keys[kept] = self.keys[i];
                kept += 1;
            }
        }
        self.len = kept;
    }
}

/// Every ECS value of one record. Top-level keys listed in `moved` went to an ECS field
/// and are not repeated under `o365.audit` (Elastic renames them); everything else stays.
#[derive(Debug, Default)]
pub struct Ecs<'a> {
    pub action: Option<Cow<'a, str>>,
    pub code: Option<Cow<'a, str>>,
    pub provider: Option<Cow<'a, str>>,
    pub severity: Option<i64>,
    pub user: UserPart<'a>,
    pub target: UserPart<'a>,
    pub client: Option<ClientAddr>,
    pub server: Option<ClientAddr>,
    pub org_id: Option<Cow<'a, str>>,
    pub org_name: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub url: Option<Cow<'a, str>>,
    pub file: FilePart<'a>,
    pub process_name: Option<Cow<'a, str>>,
    pub rule: RulePart<'a>,
    pub message: Option<Cow<'a, str>>,
    pub source_user_email: Option<Cow<'a, str>>,
    pub destination_user_emails: Vec<Cow<'a, str>>,
    pub moved: Moved,
    /// `ExtendedProperties.UserAgent` became `user_agent.original`.
    pub ep_user_agent: bool,
    pub group_name: Option<Cow<'a, str>>,
    /// `AppAccessContext.UniqueTokenId` (Elastic's `token.id`, which detection rules query).
    pub token_id: Option<Cow<'a, str>>,
    pub email: EmailPart<'a>,
    pub destination_user_id: Option<Cow<'a, str>>,
    /// `related.user` entries before the user's own name (Teams members).
    pub users_before: Vec<Cow<'a, str>>,
    /// `related.user` entries after the user's own (`Parameters.User`, alert data users).
    pub users_after: Vec<Cow<'a, str>>,
    /// Top-level keys written under another name in `o365.audit` (Elastic's renames).
    pub renamed: Vec<(&'static str, &'static str)>,
}

impl<'a> Ecs<'a> {
    /// Takes a top-level string field into an ECS value and marks it moved.
    pub(super) fn take(&mut self, f: &Fields<'a>, key: &'static str) -> Option<Cow<'a, str>> {
        let v = f.str(key)?;
        self.moved.push(key);
        Some(v)
    }
}

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
