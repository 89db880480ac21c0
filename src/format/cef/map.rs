//! What goes where in a CEF event: product, human name, default severity, and the
//! extension pairs (standard dictionary keys plus labelled custom strings).

use std::borrow::Cow;

use serde_json::Value;

use crate::format::Origin;
use crate::record::Record;
use crate::record::classify::{
    Classification, CrmAccess, Fields, Outcome, parse_client, raw_scalar_text, raw_str,
    record_type_name,
};
use crate::record::split::{PARTIAL_KEY, PARTS_KEY};

/// Device product per `Workload`.
pub fn product(workload: Option<&str>) -> &'static str {
    match workload.unwrap_or("") {
        "CRM" => "Dynamics 365",
        "Exchange" => "Exchange Online",
        "SharePoint" => "SharePoint Online",
        "OneDrive" => "OneDrive for Business",
        "AzureActiveDirectory" => "Azure Active Directory",
        "MicrosoftTeams" => "Teams",
        "PowerBI" => "Power BI",
        "Yammer" => "Viva Engage",
        "SecurityComplianceCenter" => "Security and Compliance Center",
        "ThreatIntelligence" => "Defender for Office 365",
        "MicrosoftFlow" => "Power Automate",
        "PowerApps" => "Power Apps",
        "MicrosoftForms" => "Forms",
        "MicrosoftStream" => "Stream",
        _ => "Office 365",
    }
}

/// A readable name: `UserLoggedIn` → `User logged in`; names that are not plain
/// CamelCase words (`Add user.`, `Set-Mailbox`) are kept. Dynamics adds the entity.
pub fn human_name(op: &str, entity: Option<&str>) -> String {
    let mut name = String::with_capacity(op.len() + 16);
    if op.is_empty() {
        name.push_str("Unknown operation");
    } else if op.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let b = op.as_bytes();
        let mut start = 0;
        let mut words = Vec::new();
        for i in 1..b.len() {
            let up = b[i].is_ascii_uppercase();
            let after_lower = b[i - 1].is_ascii_lowercase() || b[i - 1].is_ascii_digit();
            let acronym_end = b[i - 1].is_ascii_uppercase()
                && b.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if up && (after_lower || acronym_end) {
                words.push(&op[start..i]);
                start = i;
            }
        }
        words.push(&op[start..]);
        for (i, w) in words.iter().enumerate() {
            if i == 0 {
                name.push_str(w);
                continue;
            }
            name.push(' ');
            let capitalised = w[1..].bytes().all(|c| !c.is_ascii_uppercase());
            if capitalised {
                name.push_str(&w[..1].to_ascii_lowercase());
                name.push_str(&w[1..]);
            } else {
                name.push_str(w);
            }
        }
    } else {
        name.push_str(op);
    }
    if let Some(e) = entity.filter(|e| !e.is_empty()) {
        name.push_str(" (");
        name.push_str(e);
        name.push(')');
    }
    name
}

fn is_delete(op: &str) -> bool {
    let l = op.to_ascii_lowercase();
    [
        "delete",
        "remove-",
        "harddelete",
        "softdelete",
        "movetodeleteditems",
        "purge",
    ]
    .iter()
    .any(|p| l.starts_with(p))
        || l.ends_with("deleted")
}

/// The built-in severity: alerts, bulk exports and permission changes 8; deletions and
/// admin changes 7; failed sign-ins 6; other changes and failures 5; multi-record reads
/// 4; everything else 3.
pub fn default_severity(c: &Classification, op: &str) -> u8 {
    if c.kind == "alert" || c.bulk_export || c.permission {
        8
    } else if c.types.contains("deletion") || is_delete(op) || c.admin {
        7
    } else if c.logon && c.outcome == Outcome::Failure {
        6
    } else if c.types.contains("creation")
        || c.types.contains("change")
        || c.outcome == Outcome::Failure
    {
        5
    } else if c.crm == Some(CrmAccess::ReadMultiple) {
        4
    } else {
        3
    }
}

/// `spriv` from `UserType`.
fn privilege(user_type: i64) -> Option<&'static str> {
    Some(match user_type {
        0 => "User",
        2 | 3 => "Administrator",
        4 => "System",
        5 => "Application",
        6 => "ServicePrincipal",
        7 => "CustomPolicy",
        8 => "SystemPolicy",
        9 => "PartnerTechnician",
        10 => "Guest",
        _ => return None,
    })
}

/// The extension pairs, in output order.
pub type Ext<'k, 'v> = Vec<(&'k str, Cow<'v, str>)>;

/// The built-in extension of a record object.
pub fn extension<'v>(
    f: &Fields<'v>,
    rec: &Record,
    origin: &Origin<'v>,
    c: &Classification,
    enrich: Option<&crate::format::enrich::Enricher>,
) -> Ext<'static, 'v> {
    let mut x: Ext<'static, 'v> = Vec::with_capacity(32);
    let s = |k: &str| f.nonempty(k);
    let mut put = |k: &'static str, v: Option<Cow<'v, str>>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            x.push((k, v));
        }
    };
    let op = rec.operation().unwrap_or("");
    let code = rec.record_type.and_then(record_type_name);
    let crm = c.crm.is_some();
    put(
        "rt",
        rec.creation_time
            .map(|t| t.timestamp_millis().to_string().into()),
    );
    put("externalId", Some(Cow::Owned(rec.id().to_string())));
    put("act", s("Operation"));
    put("outcome", Some(c.outcome.as_str().into()));
    let message = s("Message");
    put(
        "cat",
        match c.crm {
            Some(a) => Some(Cow::Owned(
                a.label(message.as_deref().unwrap_or(op)).to_string(),
            )),
            None => code.map(Cow::Borrowed),
        },
    );
    let user = f.get("UserId").and_then(raw_scalar_text);
    let upn = match &user {
        Some(u) if u.contains('@') => Some(u.clone()),
        _ => s("UserUpn").or(user),
    };
    put("suser", upn);
    put("suid", f.get("UserKey").and_then(raw_scalar_text));
    let ut = f.get("UserType").and_then(|v| v.get().parse::<i64>().ok());
    put("spriv", ut.and_then(privilege).map(Cow::Borrowed));
    let client = ["ClientIPAddress", "ClientIP", "ActorIpAddress"]
        .iter()
        .find_map(|k| f.str(k))
        .and_then(|s| parse_client(&s));
    if let Some(cl) = client {
        match cl.ip {
            Some(ip) if ip.is_ipv4() => put("src", Some(ip.to_string().into())),
            Some(ip) => {
                put("c6a2", Some(ip.to_string().into()));
                put("c6a2Label", Some("Source IPv6 Address".into()));
            }
            None => put("shost", cl.domain.map(Cow::Owned)),
        }
        put("spt", cl.port.map(|p| p.to_string().into()));
        // The dictionary's geo keys (sourceGeoLatitude / sourceGeoLongitude).
        if let (Some(en), Some(ip)) = (enrich, cl.ip)
            && let Some(Some((lat, lon))) = en.geo(ip, |g| g.location())
        {
            put("slat", Some(lat.to_string().into()));
            put("slong", Some(lon.to_string().into()));
        }
    }
    if code == Some("AzureActiveDirectory") {
        put("duser", s("ObjectId"));
    }
    let sp = f
        .get("SharePointMetaData")
        .and_then(|r| Fields::parse(r.get()));
    let sp_str = |k: &str| {
        sp.as_ref()
            .and_then(|m| m.str(k))
            .map(|v| Cow::Owned(v.into_owned()))
    };
    let file_op = matches!(
        code,
        Some("SharePointFileOperation") | Some("SharePointSharingOperation")
    );
    put(
        "request",
        if crm {
            s("ItemUrl")
        } else if file_op {
            s("ObjectId")
        } else {
            sp_str("FilePathUrl")
        },
    );
    let ua = s("UserAgent").or_else(|| user_agent_ep(f));
    put("requestClientApplication", ua);
    put(
        "fname",
        if file_op {
            s("SourceFileName")
        } else {
            sp_str("FileName")
        },
    );
    put("reason", s("LogonError"));
    let subject = f
        .get("ExchangeMetaData")
        .and_then(|r| Fields::parse(r.get()))
        .and_then(|m| m.str("Subject").map(|v| Cow::Owned(v.into_owned())));
    put("msg", if crm { s("Query") } else { subject });
    put("dvchost", Some(Cow::Borrowed(origin.tenant)));
    put("deviceExternalId", Some(Cow::Borrowed(origin.tenant_id)));
    let mut cs = |n: &'static str, label: &'static str, v: Option<Cow<'v, str>>| {
        if v.as_ref().is_some_and(|v| !v.is_empty()) {
            put(n, v);
            put(label_key(n), Some(Cow::Borrowed(label)));
        }
    };
    cs("cs1", "EntityName", s("EntityName"));
    cs("cs2", "EntityId", s("EntityId"));
    cs("cs3", "OrganizationId", s("OrganizationId"));
    cs("cs4", "CorrelationId", s("CorrelationId"));
    cs("cs5", "Workload", s("Workload"));
    cs(
        "cs6",
        "RecordType",
        f.get("RecordType").and_then(raw_scalar_text),
    );
    if crm
        && let Some(q) = f
            .get("QueryResults")
            .filter(|q| !crate::record::classify::is_null(*q))
    {
        let n = crate::record::split::query_result_ids(
            &serde_json::from_str(q.get()).unwrap_or(Value::Null),
        )
        .iter()
        .filter(|s| !s.is_empty())
        .count();
        cs("cn1", "QueryResultCount", Some(n.to_string().into()));
    }
    if let Some(parts) = f.get(PARTS_KEY) {
        let n = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(parts.get())
            .map_or(0, |v| v.len());
        let partial = f.get(PARTIAL_KEY).is_some_and(|p| p.get() == "true");
        let label = if partial {
            "SplitPartsPartial"
        } else {
            "SplitParts"
        };
        cs("cn2", label, Some(n.to_string().into()));
    }
    x
}

/// `csN` → `csNLabel`.
fn label_key(n: &str) -> &'static str {
    match n {
        "cs1" => "cs1Label",
        "cs2" => "cs2Label",
        "cs3" => "cs3Label",
        "cs4" => "cs4Label",
        "cs5" => "cs5Label",
        "cs6" => "cs6Label",
        "cn1" => "cn1Label",
        "cn2" => "cn2Label",
        _ => "cn3Label",
    }
}

fn user_agent_ep<'v>(f: &Fields<'v>) -> Option<Cow<'v, str>> {
    let raw = f.get("ExtendedProperties")?;
    let items = crate::record::classify::array(raw)?;
    items.into_iter().find_map(|(_, nv)| {
        let nv = nv?;
        if nv.str("Name").as_deref() != Some("UserAgent") {
            return None;
        }
        nv.get("Value")
            .and_then(raw_str)
            .map(|v| Cow::Owned(v.into_owned()))
    })
}

/// Resolves a record field path: `A.B` walks objects; in a Name/Value list a segment
/// selects the element with that `Name` and continues in its `Value`; a number indexes
/// an array; a string holding JSON (`Fields`, `Data`) is looked into. Scalars become
/// text, objects and arrays compact JSON; null and missing are `None`.
pub fn lookup(root: &Value, path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split('.').collect();
    walk(root, &segs)
}

fn walk(cur: &Value, segs: &[&str]) -> Option<String> {
    let Some((seg, rest)) = segs.split_first() else {
        return match cur {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
    };
    let next = match cur {
        Value::Object(m) => m.get(*seg)?,
        Value::Array(a) => match seg.parse::<usize>() {
            Ok(i) => a.get(i)?,
            Err(_) => a
                .iter()
                .find(|e| e.get("Name").and_then(Value::as_str) == Some(*seg))?
                .get("Value")?,
        },
        Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
            let inner: Value = serde_json::from_str(s).ok()?;
            return walk(&inner, segs);
        }
        _ => return None,
    };
    walk(next, rest)
}
