//! The workload-specific parts of Elastic's `o365` pipeline: security alerts, DLP, Teams,
//! Yammer and Exchange items. Where Elastic renames a field, we take it (`Ecs::take`);
//! where it copies, the original stays under `o365.audit`.

use std::borrow::Cow;

use super::map::{Attachment, Ecs};
use crate::record::classify::{Classification, Fields, array, raw_str};

/// Security & Compliance alerts. Elastic renames `AlertEntityId` to `rule.description`
/// before its rules that would move it to `user.id`/`user.email`, so those never apply;
/// the user's e-mail comes from the alert data (`f3u`) instead.
pub(super) fn alert<'a>(f: &Fields<'a>, e: &mut Ecs<'a>) {
    let name = e.take(f, "Name");
    e.message = name.clone();
    e.rule.name.extend(name);
    let v = e.take(f, "PolicyId");
    e.rule.id.extend(v);
    e.rule.category = e.take(f, "Category");
    e.rule.ruleset = e.take(f, "EntityType");
    e.rule.description = e.take(f, "AlertEntityId");
    if let Some(links) = f.get("AlertLinks").and_then(array) {
        // Elastic keeps the string hrefs and drops the list (also when none is left).
        e.moved.push("AlertLinks");
        let hrefs = links
            .into_iter()
            .filter_map(|(_, l)| l?.str("AlertLinkHref"))
            .filter(|h| !h.is_empty());
        e.rule.reference.extend(hrefs);
    }
    let Some(data) = f
        .get("Data")
        .and_then(raw_str)
        .and_then(|s| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&s).ok())
    else {
        return;
    };
    let get = |k: &str| match data.get(k) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(Cow::Owned(s.clone())),
        _ => None,
    };
    let is_user = |s: &str| s.len() >= 3 && s.matches('@').count() == 1;
    for key in ["f3u", "suid", "tsd", "trc"] {
        if let Some(u) = get(key).filter(|u| is_user(u)) {
            e.users_after.push(u);
        }
    }
    if e.user.email.is_none() {
        e.user.email = get("f3u").filter(|u| is_user(u));
    }
    e.email.local_id = get("aii");
    e.email.message_id = get("imsgid");
    e.email.sender = get("tsd");
    e.email.subject = get("ms");
    e.email.to = get("trc");
}

/// Teams: the team's name is `group.name`; members' UPNs are related users.
pub(super) fn teams<'a>(f: &Fields<'a>, cls: &Classification, e: &mut Ecs<'a>) {
    e.group_name = e.take(f, "TeamName");
    if cls.action == Some("deleted-user-account") {
        // Elastic moves ObjectId; we keep the original too (detection rules query it).
        e.target.id = f.str("ObjectId");
    }
    if let Some(members) = f.get("Members").and_then(array) {
        let upns = members
            .into_iter()
            .filter_map(|(_, m)| m?.str("UPN"))
            .filter(|u| !u.is_empty());
        e.users_before.extend(upns);
    }
}

/// Yammer (Viva Engage): actor, target, group and file fields.
pub(super) fn yammer<'a>(f: &Fields<'a>, e: &mut Ecs<'a>) {
    e.user.email = e.take(f, "ActorUserId");
    if e.user.id.is_none() {
        e.user.id = f
            .get("ActorYammerUserId")
            .and_then(crate::record::classify::raw_scalar_text);
    }
    e.file.inode = e.take(f, "FileId");
    e.file.name = e.take(f, "FileName");
    e.group_name = e.take(f, "GroupName");
    if let Some(t) = e.take(f, "TargetUserId") {
        e.destination_user_emails.push(t);
    }
    e.destination_user_id = e.take(f, "TargetYammerUserId");
}

/// Exchange mailbox items: subject and attachments become `email.*` (the item stays
/// under `o365.audit`), and `Sender` is renamed `SenderEntity` as Elastic does.
pub(super) fn exchange_item<'a>(f: &Fields<'a>, e: &mut Ecs<'a>) {
    if f.get("Sender").is_some() {
        e.renamed.push(("Sender", "SenderEntity"));
    }
    let Some(item) = f.get("Item").and_then(|r| Fields::parse(r.get())) else {
        return;
    };
    e.email.subject = item.str("Subject");
    if let Some(list) = item.str("Attachments") {
        e.email.attachments = attachments(list);
    }
}

/// `Item.Attachments`: `name (SIZEb); name (SIZEb); …` into name, extension and size.
fn attachments(list: Cow<'_, str>) -> Vec<Attachment<'_>> {
    fn parse(list: &str) -> Vec<(&str, Option<&str>, Option<u64>)> {
        list.split("; ")
            .filter(|p| !p.trim().is_empty())
            .map(|part| {
                let part = part.trim();
                let (name, size) = match part.rsplit_once(" (") {
                    Some((n, rest)) => {
                        match rest.strip_suffix("b)").and_then(|d| d.parse::<u64>().ok()) {
                            Some(size) => (n, Some(size)),
                            None => (part, None),
                        }
                    }
                    None => (part, None),
                };
                let ext = name
                    .rsplit_once('.')
                    .map(|(_, x)| x)
                    .filter(|x| !x.is_empty() && !x.contains(' '));
                (name, ext, size)
            })
            .collect()
    }
    match list {
        Cow::Borrowed(b) => parse(b)
            .into_iter()
            .map(|(n, x, size)| Attachment {
                name: Cow::Borrowed(n),
                extension: x.map(Cow::Borrowed),
                size,
            })
            .collect(),
        Cow::Owned(s) => parse(&s)
            .into_iter()
            .map(|(n, x, size)| Attachment {
                name: Cow::Owned(n.to_string()),
                extension: x.map(|x| Cow::Owned(x.to_string())),
                size,
            })
            .collect(),
    }
}

/// DLP: metadata is copied (Elastic moves nested values; we keep the nested originals),
/// rules become `rule.id`/`rule.name`, the highest rule severity `event.severity`.
pub(super) fn dlp<'a>(f: &Fields<'a>, e: &mut Ecs<'a>) {
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
