//! Entra ID, Exchange, SharePoint and DLP records (reference §7, §8).

use super::{Ctx, Obj, USER_AGENTS, User, client_ip, creation_time, event_ms, head, str_array};
use crate::sim::rng::{Rng, hash};

const SHAREPOINT_ONLINE_APP: &str = "00000003-0000-0ff1-ce00-000000000000";

/// Entra ID sign-ins (`RecordType` 15).
pub(super) fn aad(c: &Ctx<'_>, out: &mut String) {
    let mut r = Rng::new(hash(&[c.seed, 15]));
    let t = c.tenant;
    let user = r.pick_ref(&t.users);
    let ctime = creation_time(event_ms(&mut r, c.created_ms));
    let failed = r.chance(0.15);
    let op = if failed {
        "UserLoginFailed"
    } else {
        "UserLoggedIn"
    };
    let status = if failed {
        "Failed"
    } else {
        r.pick(&["Success", "Success", "Succeeded"])
    };
    let ip = client_ip(&mut r);
    let actor_ip = ip.as_deref().map(strip_port).unwrap_or("");
    let ua = r.pick(USER_AGENTS);
    let request_type = r.pick(&["OAuth2:Authorize", "Login:login", "OAuth2:Token"]);
    let mut o = Obj::new(out);
    head(&mut o, c, &ctime, op, 15);
    o.str("ResultStatus", status)
        .str("UserKey", &user.object_id)
        .int("UserType", 0)
        .int("Version", 1)
        .str("Workload", "AzureActiveDirectory")
        .opt("ClientIP", ip.as_deref())
        .str("ObjectId", SHAREPOINT_ONLINE_APP)
        .str("UserId", &user.upn)
        .int("AzureActiveDirectoryEventType", 1)
        .pairs(
            "ExtendedProperties",
            &[
                (
                    "ResultStatusDetail",
                    if failed { "Redirect" } else { "Success" },
                ),
                ("UserAgent", ua),
                ("RequestType", request_type),
            ],
        )
        .with("ModifiedProperties", |out| out.push_str("[]"))
        .with("Actor", |out| {
            out.push('[');
            Obj::new(out)
                .str("ID", &user.object_id)
                .int("Type", 0)
                .end();
            out.push(',');
            Obj::new(out).str("ID", &user.upn).int("Type", 5).end();
            out.push(']');
        })
        .str("ActorContextId", &t.tenant_id)
        .str("ActorIpAddress", actor_ip)
        .str("InterSystemsId", &r.guid())
        .str("IntraSystemId", &r.guid())
        .str("SupportTicketId", "")
        .with("Target", |out| {
            out.push('[');
            Obj::new(out)
                .str("ID", SHAREPOINT_ONLINE_APP)
                .int("Type", 0)
                .end();
            out.push(']');
        })
        .str("TargetContextId", &t.tenant_id)
        .str("ApplicationId", "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7")
        .pairs(
            "DeviceProperties",
            &[
                ("OS", r.pick(&["Windows10", "MacOs", "Ios"])),
                ("BrowserType", r.pick(&["Edge", "Chrome", "Safari"])),
                ("IsCompliantAndManaged", "False"),
                ("SessionId", &r.guid()),
            ],
        );
    if failed {
        o.str("ErrorNumber", "50126")
            .str("LogonError", "InvalidUserNameOrPassword");
    } else {
        o.str("ErrorNumber", "0");
    }
    o.end();
}

/// `ActorIpAddress` is the bare address.
fn strip_port(ip: &str) -> &str {
    if let Some(rest) = ip.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match ip.split_once(':') {
        Some((a, p)) if !p.contains(':') => a,
        _ => ip,
    }
}

fn server(r: &mut Rng) -> String {
    format!(
        "{}PR{:02}MB{:04} (15.20.{}.{:03})",
        r.pick(&["AM6", "BN6", "DM6", "SN6"]),
        r.range(1, 20),
        r.range(1000, 9999),
        r.range(7000, 8000),
        r.below(100)
    )
}

/// Exchange: `MailItemsAccessed` (50) and admin cmdlets (1).
pub(super) fn exchange(c: &Ctx<'_>, out: &mut String) {
    let mut r = Rng::new(hash(&[c.seed, 2]));
    if r.chance(0.7) {
        mail_items_accessed(c, r, out);
    } else {
        set_mailbox(c, r, out);
    }
}

fn mail_items_accessed(c: &Ctx<'_>, mut r: Rng, out: &mut String) {
    let t = c.tenant;
    let user: &User = r.pick_ref(&t.users);
    let ctime = creation_time(event_ms(&mut r, c.created_ms));
    let ip = client_ip(&mut r).unwrap_or_else(|| "10.0.0.1".into());
    let mut o = Obj::new(out);
    head(&mut o, c, &ctime, "MailItemsAccessed", 50);
    o.str("ResultStatus", "Succeeded")
        .str("UserKey", &user.puid)
        .int("UserType", 0)
        .int("Version", 1)
        .str("Workload", "Exchange")
        .str("ClientIP", &ip)
        .str("UserId", &user.upn)
        .str("AppId", &r.guid())
        .str("ClientAppId", "")
        .str("ClientIPAddress", &ip)
        .str(
            "ClientInfoString",
            r.pick(&[
                "Client=OWA;Action=ViaProxy",
                "Client=REST;Client=RESTSystem;;",
            ]),
        )
        .bool("ExternalAccess", false)
        .int("InternalLogonType", 0)
        .int("LogonType", 0)
        .str("LogonUserSid", &user.sid)
        .str("MailboxGuid", &r.guid())
        .str("MailboxOwnerSid", &user.sid)
        .str("MailboxOwnerUPN", &user.upn)
        .pairs(
            "OperationProperties",
            &[("MailAccessType", "Bind"), ("IsThrottled", "False")],
        )
        .str("OrganizationName", &t.domain)
        .str("OriginatingServer", &server(&mut r))
        .str("SessionId", &r.guid());
    let n = r.range(1, 3);
    let msg_ids: Vec<(String, i64)> = (0..n)
        .map(|_| {
            (
                format!(
                    "<{:016X}@{}.prod.outlook.com>",
                    r.next_u64(),
                    server(&mut r).split(' ').next().unwrap_or("")
                ),
                r.range(2_000, 2_000_000) as i64,
            )
        })
        .collect();
    let folder = r.pick(&["\\Inbox", "\\Sent Items", "\\Archive\\2024"]);
    let folder_id = format!("LgAAAA{:016X}AQ", r.next_u64());
    o.with("Folders", |out| {
        out.push('[');
        let mut f = Obj::new(out);
        f.with("FolderItems", |out| {
            out.push('[');
            for (i, (id, size)) in msg_ids.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                Obj::new(out)
                    .str("InternetMessageId", id)
                    .int("SizeInBytes", *size)
                    .end();
            }
            out.push(']');
        })
        .str("Id", &folder_id)
        .str("Path", folder)
        .end();
        out.push(']');
    })
    .int("OperationCount", n as i64)
    .end();
}

fn set_mailbox(c: &Ctx<'_>, mut r: Rng, out: &mut String) {
    let t = c.tenant;
    let admin = &t.users[0];
    let target: &User = r.pick_ref(&t.users);
    let ctime = creation_time(event_ms(&mut r, c.created_ms));
    let status = r.pick(&["True", "True", "True", "False", "TRUE"]);
    let system = r.chance(0.3);
    let mut o = Obj::new(out);
    head(&mut o, c, &ctime, "Set-Mailbox", 1);
    o.str("ResultStatus", status);
    if system {
        o.str(
            "UserKey",
            "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
        )
        .int("UserType", 3);
    } else {
        o.str("UserKey", &admin.puid).int("UserType", 2);
    }
    let mailbox = target.upn.split('@').next().unwrap_or("");
    o.int("Version", 1)
        .str("Workload", "Exchange")
        .opt("ClientIP", client_ip(&mut r).as_deref())
        .str(
            "ObjectId",
            &format!(
                "EURPR04A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/{}/{mailbox}",
                t.domain
            ),
        )
        .str(
            "UserId",
            if system {
                "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)"
            } else {
                &admin.upn
            },
        )
        .str("AppId", "")
        .str("ClientAppId", "")
        .bool("ExternalAccess", system)
        .str("OrganizationName", &t.domain)
        .str("OriginatingServer", &server(&mut r))
        .pairs(
            "Parameters",
            &[
                ("Identity", &target.upn),
                ("AuditEnabled", "True"),
                ("AuditOwner", "MailboxLogin, HardDelete, MailItemsAccessed"),
            ],
        )
        .str("SessionId", "")
        .end();
}

const FILES: &[(&str, &str)] = &[
    ("sites/Finance/Shared Documents", "Q3 Budget.xlsx"),
    (
        "sites/Sales/Shared Documents/Proposals",
        "Fourth Coffee – proposal.docx",
    ),
    ("sites/HR/Policies", "Travel policy.pdf"),
    ("sites/IT/Shared Documents", "vpn-config.zip"),
];

/// SharePoint and OneDrive file operations (`RecordType` 6).
pub(super) fn sharepoint(c: &Ctx<'_>, out: &mut String) {
    let mut r = Rng::new(hash(&[c.seed, 6]));
    let t = c.tenant;
    let user: &User = r.pick_ref(&t.users);
    let ctime = creation_time(event_ms(&mut r, c.created_ms));
    let op = r.pick(&[
        "FileAccessed",
        "FileAccessed",
        "FileDownloaded",
        "FileModified",
        "FileUploaded",
    ]);
    let onedrive = r.chance(0.25);
    let (site_url, rel, file) = if onedrive {
        let personal = user.upn.replace(['.', '@'], "_");
        (
            format!("https://{}-my.sharepoint.com/personal/{personal}/", t.org),
            "Documents".to_string(),
            r.pick(&["notes.docx", "Expenses March.xlsx", "photo 1.jpg"]),
        )
    } else {
        let (rel, file) = r.pick(FILES);
        let site = rel.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
        (
            format!("https://{}.sharepoint.com/{site}/", t.org),
            rel.splitn(3, '/').nth(2).unwrap_or("").to_string(),
            file,
        )
    };
    let ext = file.rsplit('.').next().unwrap_or("");
    let mut o = Obj::new(out);
    o.with("AppAccessContext", |out| {
        Obj::new(out)
            .str("AADSessionId", &r.guid())
            .str("CorrelationId", &r.guid())
            .str("UniqueTokenId", &format!("{:016x}Ag", r.next_u64()))
            .end();
    });
    head(&mut o, c, &ctime, op, 6);
    o.str(
        "UserKey",
        &format!(
            "i:0h.f|membership|{}@live.com",
            user.puid.to_ascii_lowercase()
        ),
    )
    .int("UserType", 0)
    .int("Version", 1)
    .str("Workload", if onedrive { "OneDrive" } else { "SharePoint" })
    .opt("ClientIP", client_ip(&mut r).as_deref())
    .str("ObjectId", &format!("{site_url}{rel}/{file}"))
    .str("UserId", &user.upn)
    .str("CorrelationId", &r.guid())
    .str("EventSource", "SharePoint")
    .str("ItemType", "File")
    .str("ListId", &r.guid())
    .str("ListItemUniqueId", &r.guid())
    .str("Site", &r.guid())
    .str("UserAgent", r.pick(USER_AGENTS))
    .str("WebId", &r.guid())
    .bool("HighPriorityMediaProcessing", false)
    .str("SourceFileExtension", ext)
    .str("SiteUrl", &site_url)
    .str("SourceFileName", file)
    .str("SourceRelativeUrl", &rel)
    .str("GeoLocation", r.pick(&["NAM", "EUR"]))
    .bool("IsManagedDevice", r.chance(0.5))
    .end();
}

/// DLP rule matches (`RecordType` 11 for SharePoint, 13 for Exchange).
pub(super) fn dlp(c: &Ctx<'_>, out: &mut String) {
    let mut r = Rng::new(hash(&[c.seed, 11]));
    let t = c.tenant;
    let user: &User = r.pick_ref(&t.users);
    let ctime = creation_time(event_ms(&mut r, c.created_ms));
    let exchange = r.chance(0.5);
    let (sit_name, sit_id) = r.pick(&[
        ("Credit Card Number", "50842eb7-edc8-4019-85dd-5a5c1f2bb085"),
        (
            "EU Debit Card Number",
            "0e9b3178-9678-47dd-a509-37222ca96b42",
        ),
        (
            "U.S. Social Security Number (SSN)",
            "a44669fe-0d48-453d-a9b1-2cc83f2cba77",
        ),
    ]);
    let count = r.range(1, 25) as i64;
    let subject = format!("Invoice #{}", r.range(1000, 9999));
    let object_id = if exchange {
        subject.clone()
    } else {
        format!(
            "https://{}.sharepoint.com/sites/Finance/Shared Documents/cards.xlsx",
            t.org
        )
    };
    let mut o = Obj::new(out);
    head(
        &mut o,
        c,
        &ctime,
        "DlpRuleMatch",
        if exchange { 13 } else { 11 },
    );
    o.str("UserKey", &user.puid)
        .int("UserType", 0)
        .int("Version", 1)
        .str("Workload", if exchange { "Exchange" } else { "SharePoint" })
        .str("ObjectId", &object_id)
        .str("UserId", &user.upn)
        .str("IncidentId", &r.guid());
    let policy_id = r.guid();
    let rule_id = r.guid();
    let mgmt_id = r.guid();
    o.with("PolicyDetails", |out| {
        out.push('[');
        Obj::new(out)
            .str("PolicyId", &policy_id)
            .str("PolicyName", "U.S. Financial Data")
            .with("Rules", |out| {
                out.push('[');
                Obj::new(out)
                    .with("Actions", |out| str_array(&["NotifyUser"], out))
                    .with("ConditionsMatched", |out| {
                        Obj::new(out)
                            .bool("ConditionMatchedInNewScheme", true)
                            .with("SensitiveInformation", |out| {
                                out.push('[');
                                Obj::new(out)
                                    .str("ClassifierType", "Content")
                                    .int("Confidence", 85)
                                    .int("Count", count)
                                    .null("Location")
                                    .null("SensitiveInformationDetections")
                                    .str("SensitiveInformationTypeName", sit_name)
                                    .str("SensitiveType", sit_id)
                                    .int("UniqueCount", count)
                                    .end();
                                out.push(']');
                            })
                            .end();
                    })
                    .str("ManagementRuleId", &mgmt_id)
                    .str("RuleId", &rule_id)
                    .str("RuleMode", "Enable")
                    .str("RuleName", "Low volume of content detected U.S. Financial")
                    .str("Severity", if count > 10 { "High" } else { "Low" })
                    .end();
                out.push(']');
            })
            .end();
        out.push(']');
    })
    .bool("SensitiveInfoDetectionIsIncluded", true);
    let unique = r.guid();
    if exchange {
        let to = r.pick_ref(&t.users).upn.clone();
        o.with("ExchangeMetaData", |out| {
            Obj::new(out)
                .with("BCC", |out| out.push_str("[]"))
                .with("CC", |out| out.push_str("[]"))
                .int("FileSize", count * 1024)
                .str("From", &user.upn)
                .str("MessageID", &format!("<{unique}@{}>", t.domain))
                .int("RecipientCount", 1)
                .str("Sent", &ctime)
                .str("Subject", &subject)
                .with("To", |out| str_array(&[&to], out))
                .str("UniqueID", &unique)
                .end();
        });
    } else {
        o.with("SharePointMetaData", |out| {
            Obj::new(out)
                .str("FileName", "cards.xlsx")
                .str("FilePathUrl", &object_id)
                .str("From", &user.upn)
                .str("ItemCreationTime", &ctime)
                .str("SiteCollectionGuid", &unique)
                .str(
                    "SiteCollectionUrl",
                    &format!("https://{}.sharepoint.com/sites/Finance", t.org),
                )
                .str("UniqueId", &unique)
                .end();
        });
    }
    o.end();
}
