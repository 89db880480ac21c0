//! Classification of audit records: the Dynamics 365 access classes, the ECS
//! categorisation (`event.kind/category/type/outcome`) and the flags CEF severity uses.
//!
//! One place decides what a record *is*, so ECS and CEF never disagree about it.

pub mod client;
mod tables;
pub mod view;

pub use client::{ClientAddr, parse_client};
pub use tables::record_type_name;
pub use view::{Fields, Json, array, is_null, raw_scalar_text, raw_str};

use crate::record::Record;

/// `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
}

/// Normalises `ResultStatus` case-insensitively. Absent or empty means success, as in
/// Elastic's pipeline (most workloads only set it on failure-capable operations); a value
/// we do not recognise is `unknown` rather than a guess.
pub fn outcome_of(status: Option<&str>) -> Outcome {
    let Some(s) = status.map(str::trim).filter(|s| !s.is_empty()) else {
        return Outcome::Success;
    };
    const OK: [&str; 4] = ["succeeded", "success", "partiallysucceeded", "true"];
    const KO: [&str; 3] = ["failed", "false", "failure"];
    if OK.iter().any(|o| s.eq_ignore_ascii_case(o)) {
        Outcome::Success
    } else if KO.iter().any(|o| s.eq_ignore_ascii_case(o)) {
        Outcome::Failure
    } else {
        Outcome::Unknown
    }
}

/// The Dynamics 365 access class of an SDK message, as the Dynamics documentation defines
/// it by message-name prefix (`ReadMultiple` prefixes are checked first: `RetrieveMultiple`
/// also starts with `Retrieve`, `ExportToExcel` with `Export`). Write messages get their
/// own classes; anything else is reported as the message itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrmAccess {
    ReadMultiple,
    Read,
    Create,
    Update,
    Delete,
    /// Any other message (`Assign`, `Merge`, `GrantAccess`, …): the label is the message.
    Other,
}

const READ_MULTIPLE: [&str; 7] = [
    "RetrieveMultiple",
    "ExportToExcel",
    "RollUp",
    "RetrieveEntitiesForAggregateQuery",
    "RetrieveRecordWall",
    "RetrievePersonalWall",
    "ExecuteFetch",
];
const READ: [&str; 4] = ["Retrieve", "Search", "Get", "Export"];

fn has_prefix_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

impl CrmAccess {
    pub fn of(message: &str) -> CrmAccess {
        let m = message.trim();
        if READ_MULTIPLE.iter().any(|p| has_prefix_ci(m, p)) {
            return CrmAccess::ReadMultiple;
        }
        if READ.iter().any(|p| has_prefix_ci(m, p)) {
            return CrmAccess::Read;
        }
        let is = |names: &[&str]| names.iter().any(|n| m.eq_ignore_ascii_case(n));
        if is(&["Create", "CreateMultiple"]) {
            CrmAccess::Create
        } else if is(&["Update", "UpdateMultiple", "Upsert", "UpsertMultiple"]) {
            CrmAccess::Update
        } else if is(&["Delete", "DeleteMultiple", "BulkDelete"]) {
            CrmAccess::Delete
        } else {
            CrmAccess::Other
        }
    }

    /// The class name; for [`CrmAccess::Other`] the message itself.
    pub fn label(self, message: &str) -> &str {
        match self {
            CrmAccess::ReadMultiple => "ReadMultiple",
            CrmAccess::Read => "Read",
            CrmAccess::Create => "Create",
            CrmAccess::Update => "Update",
            CrmAccess::Delete => "Delete",
            CrmAccess::Other => message,
        }
    }
}

/// Dynamics messages that change who may see what.
const CRM_PERMISSION: [&str; 9] = [
    "GrantAccess",
    "ModifyAccess",
    "RevokeAccess",
    "AddPrivilegesRole",
    "ReplacePrivilegesRole",
    "RemovePrivilegeRole",
    "AddMembersTeam",
    "RemoveMembersTeam",
    "AssociateEntities",
];
/// Dynamics messages that change data without being plain Create/Update/Delete.
const CRM_CHANGE: [&str; 10] = [
    "Assign",
    "SetState",
    "Merge",
    "Associate",
    "Disassociate",
    "Publish",
    "Import",
    "Win",
    "Lose",
    "Qualify",
];

/// A short set of ECS tags (`event.category`, `event.type`) without duplicates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tags {
    items: [&'static str; 4],
    len: u8,
}

impl Tags {
    pub fn of(items: &[&'static str]) -> Tags {
        let mut t = Tags::default();
        for i in items {
            t.push(i);
        }
        t
    }
    pub fn push(&mut self, tag: &'static str) {
        let n = self.len as usize;
        if n < self.items.len() && !self.contains(tag) {
            self.items[n] = tag;
            self.len += 1;
        }
    }
    pub fn contains(&self, tag: &str) -> bool {
        self.as_slice().contains(&tag)
    }
    pub fn as_slice(&self) -> &[&'static str] {
        &self.items[..self.len as usize]
    }
}

/// What a record is, in ECS terms, plus the flags CEF severity is derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub kind: &'static str,
    pub category: Tags,
    pub types: Tags,
    pub outcome: Outcome,
    /// Elastic's rewritten `event.action` for a few directory/Teams operations.
    pub action: Option<&'static str>,
    /// Dynamics 365 records: the access class of `Message` (else `Operation`).
    pub crm: Option<CrmAccess>,
    /// An administrative change (directory, Exchange admin cmdlets, tenant settings).
    pub admin: bool,
    /// A change of permissions, roles, sharing or membership.
    pub permission: bool,
    /// A bulk export of data (`ExportToExcel`, full sync downloads).
    pub bulk_export: bool,
    /// A sign-in record.
    pub logon: bool,
}

const FILE_ACCESS: [&str; 2] = ["FileAccessed", "FileDownloaded"];
const FILE_CHANGE: [&str; 8] = [
    "FileModified",
    "FileMoved",
    "FileRenamed",
    "FileRestored",
    "FolderModified",
    "FolderMoved",
    "FolderRenamed",
    "FolderRestored",
];
const FILE_DELETE: [&str; 2] = ["FileDeleted", "FolderDeleted"];
const FILE_CREATE: [&str; 3] = ["FileUploaded", "FolderCopied", "FolderCreated"];

/// Classifies a record. `f` is the parsed record; `rec` carries the pre-parsed head.
pub fn classify(f: &Fields<'_>, rec: &Record) -> Classification {
    let op = rec.operation().unwrap_or("");
    let code = rec.record_type.and_then(record_type_name);
    let status = f.str("ResultStatus");
    let mut c = Classification {
        kind: "event",
        category: Tags::of(&["web"]),
        types: Tags::of(&["info"]),
        outcome: outcome_of(status.as_deref()),
        action: None,
        crm: None,
        admin: false,
        permission: permission_op(op),
        bulk_export: false,
        logon: false,
    };
    let iam = |c: &mut Classification, action, ty| {
        c.action = Some(action);
        c.category.push("iam");
        c.types.push("user");
        c.types.push(ty);
    };
    match code {
        Some("AzureActiveDirectory") => {
            c.admin = true;
            match op {
                "Add user." => iam(&mut c, "added-user-account", "creation"),
                "Update user." => iam(&mut c, "modified-user-account", "change"),
                "Delete user." => iam(&mut c, "deleted-user-account", "deletion"),
                _ => {}
            }
        }
        Some("AzureActiveDirectoryStsLogon") | Some("AzureActiveDirectoryAccountLogon") => {
            c.logon = true;
            c.category.push("authentication");
            c.types.push("start");
            c.types.push("access");
            // A failed sign-in is logged as UserLoginFailed with ResultStatus "Success"
            // (the HTTP exchange worked); the logon result is in LogonError.
            if op.eq_ignore_ascii_case("UserLoginFailed") || f.nonempty("LogonError").is_some() {
                c.outcome = Outcome::Failure;
            }
        }
        Some("ExchangeAdmin")
        | Some("SecurityComplianceCenterEOPCmdlet")
        | Some("DataCenterSecurityCmdlet")
        | Some("MicrosoftTeamsAdmin") => c.admin = true,
        // Elastic's pipeline means to add a category by `Category` but renames that field
        // to `rule.category` first, so its documents carry `web` alone; we match them.
        Some("SecurityComplianceAlerts") => c.kind = "alert",
        Some("ExchangeItem") => c.category.push("email"),
        Some("ExchangeItemAggregated") => {
            c.category.push("email");
            c.types.push("access");
        }
        Some("Yammer") => yammer(op, &mut c),
        Some("ComplianceDLPSharePoint") | Some("ComplianceDLPExchange") => {
            c.kind = "alert";
            c.category.push("file");
            c.types.push("access");
            c.outcome = dlp_outcome(f, op);
        }
        Some("MicrosoftTeams") => match op {
            "TeamCreated" => {
                c.action = Some("added-group-account-to");
                c.category.push("iam");
                c.types.push("group");
                c.types.push("creation");
            }
            "MemberAdded" => {
                c.action = Some("added-users-to-group");
                c.category.push("iam");
                c.types.push("group");
                c.types.push("change");
            }
            "Delete user." => iam(&mut c, "deleted-user-account", "deletion"),
            _ => {}
        },
        _ => {}
    }
    if FILE_ACCESS.contains(&op) {
        c.category.push("file");
        c.types.push("access");
    } else if FILE_CHANGE.contains(&op) {
        c.category.push("file");
        c.types.push("change");
    } else if FILE_DELETE.contains(&op) {
        c.category.push("file");
        c.types.push("deletion");
    } else if FILE_CREATE.contains(&op) {
        c.category.push("file");
        c.types.push("creation");
    } else if op == "ComplianceSettingChanged" {
        c.category.push("configuration");
        c.types.push("change");
        c.admin = true;
    } else if op == "FileSyncDownloadedFull" {
        c.bulk_export = true;
    }
    if code == Some("CRM") || rec.workload() == Some("CRM") {
        classify_crm(f, op, &mut c);
    }
    c
}

/// Yammer (Viva Engage) categorisation, operation by operation as Elastic's pipeline has it.
fn yammer(op: &str, c: &mut Classification) {
    const CONFIG: [&str; 5] = [
        "NetworkConfigurationUpdated",
        "NetworkSecurityConfigurationUpdated",
        "SoftDeleteSettingsUpdated",
        "ProcessProfileFields",
        "SupervisorAdminToggled",
    ];
    const IAM: [&str; 5] = [
        "NetworkSecurityConfigurationUpdated",
        "GroupCreation",
        "GroupDeletion",
        "NetworkUserSuspended",
        "UserSuspension",
    ];
    const FILE: [&str; 6] = [
        "FileCreated",
        "FileDownloaded",
        "FileShared",
        "FileUpdateDescription",
        "FileUpdateName",
        "FileVisited",
    ];
    let is = |list: &[&str]| list.contains(&op);
    if is(&CONFIG) {
        c.category.push("configuration");
        c.admin = true;
    }
    if is(&IAM) {
        c.category.push("iam");
    }
    if is(&FILE) {
        c.category.push("file");
    }
    if is(&CONFIG) {
        c.types.push("change");
    }
    if op == "NetworkSecurityConfigurationUpdated" {
        c.types.push("admin");
    }
    if is(&["FileCreated", "GroupCreation", "FileUpdateName"]) {
        c.types.push("creation");
    }
    if op == "GroupDeletion" {
        c.types.push("deletion");
    }
    if is(&[
        "FileDownloaded",
        "FileShared",
        "FileUpdateDescription",
        "FileVisited",
    ]) {
        c.types.push("access");
    }
    if is(&["GroupCreation", "GroupDeletion"]) {
        c.types.push("group");
    }
}

fn classify_crm(f: &Fields<'_>, op: &str, c: &mut Classification) {
    let message = f.nonempty("Message");
    let message = message.as_deref().unwrap_or(op);
    let access = CrmAccess::of(message);
    c.crm = Some(access);
    // Dataverse SDK messages are API calls on a database; `api` is also the ECS category
    // that expects creation/deletion, which `database` does not.
    c.category.push("database");
    c.category.push("api");
    match access {
        CrmAccess::Read | CrmAccess::ReadMultiple => c.types.push("access"),
        CrmAccess::Create => c.types.push("creation"),
        CrmAccess::Update => c.types.push("change"),
        CrmAccess::Delete => c.types.push("deletion"),
        CrmAccess::Other => {
            let m = message.trim();
            if CRM_PERMISSION.iter().any(|p| m.eq_ignore_ascii_case(p)) {
                c.permission = true;
                c.category.push("iam");
                c.types.push("change");
            } else if CRM_CHANGE.iter().any(|p| has_prefix_ci(m, p)) {
                c.types.push("change");
            }
        }
    }
    if access == CrmAccess::ReadMultiple && has_prefix_ci(message.trim(), "Export") {
        c.bulk_export = true;
    }
}

/// Operation names that change permissions, roles, sharing or membership.
fn permission_op(op: &str) -> bool {
    let l = op.to_ascii_lowercase();
    let changes = [
        "add", "remove", "set", "update", "grant", "revoke", "assign", "new-",
    ];
    (l.contains("permission") || l.contains("role") || l.contains("delegat"))
        && changes.iter().any(|c| l.contains(c))
        || matches!(
            op,
            "SharingSet"
                | "SharingInvitationCreated"
                | "AnonymousLinkCreated"
                | "AddedToGroup"
                | "Add member to group."
                | "Add owner to group."
                | "Consent to application."
                | "Add app role assignment grant to user."
        )
}

/// DLP outcome as Elastic derives it: allowed unless a matched rule blocked access;
/// a block is still a success for `DlpRuleUndo` or an override (`ExceptionInfo`), and a
/// failure otherwise.
fn dlp_outcome(f: &Fields<'_>, op: &str) -> Outcome {
    let is_block =
        |x: &(view::Json<'_>, Option<Fields<'_>>)| raw_str(x.0).as_deref() == Some("BlockAccess");
    let blocks = |rule: &Option<Fields<'_>>| {
        rule.as_ref()
            .and_then(|r| r.get("Actions"))
            .and_then(array)
            .is_some_and(|actions| actions.iter().any(is_block))
    };
    let blocked = f.get("PolicyDetails").and_then(array).is_some_and(|pd| {
        pd.iter().any(|(_, p)| {
            p.as_ref()
                .and_then(|p| p.get("Rules"))
                .and_then(array)
                .is_some_and(|rules| rules.iter().any(|(_, r)| blocks(r)))
        })
    });
    if !blocked || op == "DlpRuleUndo" {
        return Outcome::Success;
    }
    if op == "DlpInfo" {
        return Outcome::Failure;
    }
    let excepted = f.get("ExceptionInfo").is_some_and(|e| {
        let t = e.get();
        !(t == "null" || t == "\"\"" || t == "{}" || t == "[]")
    });
    if excepted {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

#[cfg(test)]
mod tests;
