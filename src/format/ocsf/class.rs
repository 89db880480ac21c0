//! Which OCSF 1.1 class and activity a record is: Authentication for sign-ins, Account Change
//! for user and role management, File Hosting Activity for SharePoint/OneDrive file and
//! sharing operations, Email Activity for DLP-scanned mail with valid addresses, and API
//! Activity for everything else (Dynamics 365 included). `docs/mapping.md` §5 has the table.

use crate::record::classify::{Classification, CrmAccess, Fields};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Authentication,
    AccountChange,
    FileHosting,
    EmailActivity,
    ApiActivity,
}

impl Class {
    pub fn uid(self) -> u32 {
        match self {
            Class::Authentication => 3002,
            Class::AccountChange => 3001,
            Class::FileHosting => 6006,
            Class::EmailActivity => 4009,
            Class::ApiActivity => 6003,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Class::Authentication => "Authentication",
            Class::AccountChange => "Account Change",
            Class::FileHosting => "File Hosting Activity",
            Class::EmailActivity => "Email Activity",
            Class::ApiActivity => "API Activity",
        }
    }

    /// `(category_uid, category_name)`.
    pub fn category(self) -> (u32, &'static str) {
        match self {
            Class::Authentication | Class::AccountChange => (3, "Identity & Access Management"),
            Class::EmailActivity => (4, "Network Activity"),
            Class::FileHosting | Class::ApiActivity => (6, "Application Activity"),
        }
    }
}

/// A class with its activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    pub class: Class,
    pub id: u32,
    pub name: &'static str,
}

const OTHER: u32 = 99;

/// Entra ID directory operations that change an account, with their Account Change
/// activity (1 Create, 2 Enable, 3 Password Change, 4 Password Reset, 5 Disable, 6 Delete,
/// 7 Attach Policy, 8 Detach Policy, 10 MFA Factor Enable, 11 MFA Factor Disable).
const ACCOUNT_OPS: &[(&str, u32, &str)] = &[
    ("Add user.", 1, "Create"),
    ("Enable account.", 2, "Enable"),
    ("Change user password.", 3, "Password Change"),
    ("Reset user password.", 4, "Password Reset"),
    ("Set force change user password.", 4, "Password Reset"),
    ("Disable account.", 5, "Disable"),
    ("Delete user.", 6, "Delete"),
    ("Hard Delete user.", 6, "Delete"),
    ("Add member to role.", 7, "Attach Policy"),
    ("Add eligible member to role.", 7, "Attach Policy"),
    ("Remove member from role.", 8, "Detach Policy"),
    ("Remove eligible member from role.", 8, "Detach Policy"),
    ("User registered security info.", 10, "MFA Factor Enable"),
    ("User deleted security info.", 11, "MFA Factor Disable"),
    ("Update user.", OTHER, "Other"),
    ("Restore user.", OTHER, "Other"),
    ("Change user license.", OTHER, "Other"),
    ("Set license properties.", OTHER, "Other"),
    ("Update StsRefreshTokenValidFrom Timestamp.", OTHER, "Other"),
];

/// Exchange role-group cmdlets: role management (Attach / Detach Policy).
const ROLE_CMDLETS: &[(&str, u32, &str)] = &[
    ("Add-RoleGroupMember", 7, "Attach Policy"),
    ("New-ManagementRoleAssignment", 7, "Attach Policy"),
    ("Remove-RoleGroupMember", 8, "Detach Policy"),
    ("Remove-ManagementRoleAssignment", 8, "Detach Policy"),
];

/// SharePoint / OneDrive file and sharing operations, with their File Hosting activity.
const FILE_OPS: &[(&str, u32, &str)] = &[
    ("FileUploaded", 1, "Upload"),
    ("FileSyncUploadedFull", 1, "Upload"),
    ("FileSyncUploadedPartial", 1, "Upload"),
    ("FolderCreated", 1, "Upload"),
    ("FileDownloaded", 2, "Download"),
    ("FileSyncDownloadedFull", 2, "Download"),
    ("FileSyncDownloadedPartial", 2, "Download"),
    ("FileModified", 3, "Update"),
    ("FileModifiedExtended", 3, "Update"),
    ("FolderModified", 3, "Update"),
    ("FileDeleted", 4, "Delete"),
    ("FileDeletedFirstStageRecycleBin", 4, "Delete"),
    ("FileDeletedSecondStageRecycleBin", 4, "Delete"),
    ("FileRecycled", 4, "Delete"),
    ("FolderDeleted", 4, "Delete"),
    ("FolderRecycled", 4, "Delete"),
    ("FileRenamed", 5, "Rename"),
    ("FolderRenamed", 5, "Rename"),
    ("FileCopied", 6, "Copy"),
    ("FolderCopied", 6, "Copy"),
    ("FileMoved", 7, "Move"),
    ("FolderMoved", 7, "Move"),
    ("FileRestored", 8, "Restore"),
    ("FolderRestored", 8, "Restore"),
    ("FilePreviewed", 9, "Preview"),
    ("FileCheckedOut", 10, "Lock"),
    ("FileCheckedIn", 11, "Unlock"),
    ("SharingSet", 12, "Share"),
    ("SharingInvitationCreated", 12, "Share"),
    ("AnonymousLinkCreated", 12, "Share"),
    ("CompanyLinkCreated", 12, "Share"),
    ("SecureLinkCreated", 12, "Share"),
    ("AddedToSecureLink", 12, "Share"),
    ("SharingRevoked", 13, "Unshare"),
    ("SharingInvitationRevoked", 13, "Unshare"),
    ("AnonymousLinkRemoved", 13, "Unshare"),
    ("CompanyLinkRemoved", 13, "Unshare"),
    ("SecureLinkDeleted", 13, "Unshare"),
    ("RemovedFromSecureLink", 13, "Unshare"),
    ("FileAccessed", 14, "Open"),
    ("FileAccessedExtended", 14, "Open"),
];

fn find(table: &[(&str, u32, &'static str)], op: &str) -> Option<(u32, &'static str)> {
    table
        .iter()
        .find(|(o, _, _)| *o == op)
        .map(|&(_, id, name)| (id, name))
}

/// Decides the class and activity. `file_named` says the record names a file (File
/// Hosting needs one); `email_ok` that its mail addresses fit OCSF (Email Activity needs a
/// sender and a recipient).
pub fn choose(
    code: Option<&str>,
    op: &str,
    cls: &Classification,
    file_named: bool,
    email_ok: bool,
) -> Activity {
    let act = |class, (id, name)| Activity { class, id, name };
    if cls.logon || matches!(op, "UserLoggedIn" | "UserLoginFailed" | "UserLoggedOut") {
        let a = if op == "UserLoggedOut" {
            (2, "Logoff")
        } else {
            (1, "Logon")
        };
        return act(Class::Authentication, a);
    }
    if code == Some("AzureActiveDirectory")
        && let Some(a) = find(ACCOUNT_OPS, op)
    {
        return act(Class::AccountChange, a);
    }
    if code == Some("ExchangeAdmin")
        && let Some(a) = find(ROLE_CMDLETS, op)
    {
        return act(Class::AccountChange, a);
    }
    if file_named
        && matches!(
            code,
            Some("SharePointFileOperation") | Some("SharePointSharingOperation")
        )
        && let Some(a) = find(FILE_OPS, op)
    {
        return act(Class::FileHosting, a);
    }
    if email_ok && code == Some("ComplianceDLPExchange") {
        return act(Class::EmailActivity, (3, "Scan"));
    }
    let (id, name) = match cls.crm {
        Some(CrmAccess::Create) => (1, "Create"),
        Some(CrmAccess::Read | CrmAccess::ReadMultiple) => (2, "Read"),
        Some(CrmAccess::Update) => (3, "Update"),
        Some(CrmAccess::Delete) => (4, "Delete"),
        Some(CrmAccess::Other) => (OTHER, "Other"),
        None if cls.types.contains("creation") => (1, "Create"),
        None if cls.types.contains("access") => (2, "Read"),
        None if cls.types.contains("change") => (3, "Update"),
        None if cls.types.contains("deletion") => (4, "Delete"),
        None => (OTHER, "Other"),
    };
    act(Class::ApiActivity, (id, name))
}

/// OCSF's e-mail address pattern (`^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`),
/// checked by hand: a value that does not fit is left out rather than made invalid.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b));
    let Some((first, rest)) = domain.split_once('.') else {
        return false;
    };
    local_ok
        && !first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// OCSF's host name pattern: dot-separated labels of ASCII letters, digits and inner `-`.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The `(Name, Value)` string of a Name/Value list entry.
pub fn name_value<'a>(f: &Fields<'a>, list: &str, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    crate::format::ecs::map::name_value_str(f, list, name)
}

#[cfg(test)]
mod tests;
