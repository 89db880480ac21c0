//! The ECS values of one record, as `map` and the workload rules fill them and the
//! encoder writes them.

use std::borrow::Cow;

use crate::record::classify::{ClientAddr, Fields};

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
    pub(super) fn upn(&mut self, s: Cow<'a, str>) -> bool {
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

    pub(super) fn remove(&mut self, key: &str) {
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
