//! From a parsed record to the ECS values, following Elastic's `o365` ingest pipeline
//! (field by field, same precedence), plus our Dynamics 365 additions.

use std::borrow::Cow;

use crate::record::Record;
use crate::record::classify::{
    Classification, ClientAddr, Fields, array, parse_client, raw_scalar_text, raw_str,
    record_type_name,
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
}

impl<'a> Ecs<'a> {
    /// Takes a top-level string field into an ECS value and marks it moved.
    fn take(&mut self, f: &Fields<'a>, key: &'static str) -> Option<Cow<'a, str>> {
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
            e.url = e.take(f, "ObjectId");
            e.file.directory = e.take(f, "SourceRelativeUrl");
            e.file.name = e.take(f, "SourceFileName");
            e.file.extension = e.take(f, "SourceFileExtension");
        }
        Some("SecurityComplianceAlerts") => alert(f, &mut e),
        Some("ComplianceDLPSharePoint") | Some("ComplianceDLPExchange") => dlp(f, &mut e),
        Some("MicrosoftTeams") if cls.action == Some("deleted-user-account") => {
            e.target.id = e.take(f, "ObjectId");
        }
        _ => {}
    }
    if code == Some("CRM") || rec.workload() == Some("CRM") {
        e.url = e.take(f, "ItemUrl");
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
fn name_value_str<'a>(f: &Fields<'a>, list: &str, name: &str) -> Option<Cow<'a, str>> {
    let raw = f.get(list)?;
    let items = crate::record::classify::array(raw)?;
    items.into_iter().find_map(|(_, nv)| {
        let nv = nv?;
        (nv.str("Name").as_deref() == Some(name))
            .then(|| nv.get("Value").and_then(raw_str))
            .flatten()
    })
}

/// `OriginatingServer`: `HOST (IP)` with stray CR/LF, as Elastic reads it.
fn server_addr(s: &str) -> Option<ClientAddr> {
    let s: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let s = s.trim();
    let inner = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    let c = parse_client(inner)?;
    Some(
        if c.domain.is_some() && c.ip.is_none() && c.port.is_none() {
            // A bare host name: Elastic keeps it as server.address.
            ClientAddr {
                address: c.domain,
                ..ClientAddr::default()
            }
        } else {
            c
        },
    )
}

fn alert<'a>(f: &Fields<'a>, e: &mut Ecs<'a>) {
    e.message = e.take(f, "Comments");
    let v = e.take(f, "Name");
    e.rule.name.extend(v);
    let v = e.take(f, "PolicyId");
    e.rule.id.extend(v);
    e.rule.category = e.take(f, "Category");
    e.rule.ruleset = e.take(f, "EntityType");
    let entity = f.str("AlertEntityId");
    match (e.rule.ruleset.as_deref(), entity) {
        (Some("User"), Some(id)) if e.user.id.is_none() => e.user.id = Some(id),
        (Some("Recipients") | Some("Sender"), Some(mail)) => e.user.email = Some(mail),
        _ => {}
    }
    e.rule.description = e.take(f, "AlertEntityId");
}

/// DLP: metadata is copied (Elastic moves nested values; we keep the nested originals),
/// rules become `rule.id`/`rule.name`, the highest rule severity `event.severity`.
fn dlp<'a>(f: &Fields<'a>, e: &mut Ecs<'a>) {
    if let Some(sp) = f
        .get("SharePointMetaData")
        .and_then(|r| Fields::parse(r.get()))
    {
        if e.user.id.is_none() {
            e.user.id = sp.str("From");
        }
        e.file.name = sp.str("FileName");
        e.url = sp.str("FilePathUrl");
        e.file.inode = sp.str("UniqueId").or_else(|| sp.str("UniqueID"));
        e.file.owner = sp.str("FileOwner");
        e.file.mtime = sp
            .str("LastModifiedTime")
            .and_then(|t| crate::record::parse_creation_time(&t))
            .map(|t| Cow::Owned(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()));
    }
    if let Some(ex) = f
        .get("ExchangeMetaData")
        .and_then(|r| Fields::parse(r.get()))
    {
        e.source_user_email = ex.str("From");
        e.message = ex.str("Subject");
        for key in ["To", "CC", "BCC"] {
            let Some(raw) = ex.get(key) else { continue };
            if let Some(s) = raw_str(raw) {
                e.destination_user_emails.push(s);
            } else if let Ok(list) = serde_json::from_str::<Vec<Cow<'a, str>>>(raw.get()) {
                e.destination_user_emails.extend(list);
            }
        }
    }
    let v = e.take(f, "PolicyId");
    e.rule.id.extend(v);
    let v = e.take(f, "PolicyName");
    e.rule.name.extend(v);
    // One scan of the policy list, values borrowed from the record (no JSON tree).
    let Some(policies) = f.get("PolicyDetails").and_then(array) else {
        return;
    };
    let mut max = 0;
    let rules = policies
        .iter()
        .filter_map(|(_, p)| p.as_ref()?.get("Rules").and_then(array))
        .flatten()
        .filter_map(|(_, rule)| rule);
    for rule in rules {
        if let (Some(id), Some(name)) = (rule.str("RuleId"), rule.str("RuleName")) {
            e.rule.id.push(id);
            e.rule.name.push(name);
        }
        let sev = match rule.str("Severity").map(|s| s.to_ascii_lowercase()) {
            Some(s) if s == "informational" => 1,
            Some(s) if s == "low" => 2,
            Some(s) if s == "medium" => 3,
            Some(s) if s == "high" => 4,
            _ => 0,
        };
        max = max.max(sev);
    }
    e.severity = Some(max);
}
