//! `Audit.General`: mostly Dynamics 365 / Dataverse (`RecordType` 21, reference §9, §10),
//! plus some Power BI and Teams records.

use super::{Ctx, Obj, USER_AGENTS, client_ip, creation_time, event_ms, head, str_array, sub_guid};
use crate::sim::rng::{Rng, guid, hash, push_guid};

const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Crm(&'static str),
    PowerBi,
    Teams,
}

const CRM_OPS: &[(&str, u32)] = &[
    ("Retrieve", 30),
    ("RetrieveMultiple", 22),
    ("Update", 14),
    ("Create", 10),
    ("Delete", 4),
    ("ExportToExcel", 6),
    ("RetrieveCurrentOrganization", 4),
    ("RetrieveUserSettingsSystemUser", 3),
    ("ExecuteMultiple", 3),
];
const UNKNOWN_ENTITY_OPS: &[&str] = &[
    "RetrieveCurrentOrganization",
    "RetrieveUserSettingsSystemUser",
    "ExecuteMultiple",
];

struct Entity {
    name: &'static str,
    label: &'static str,
    primary: &'static [&'static str],
    fields: &'static [(&'static str, &'static [&'static str])],
}

const ENTITIES: &[Entity] = &[
    Entity {
        name: "account",
        label: "Account",
        primary: &[
            "Fourth Coffee",
            "Litware, Inc.",
            "Adventure Works",
            "Fabrikam, Inc.",
        ],
        fields: &[
            (
                "name",
                &["Fourth Coffee", "Litware, Inc.", "Adventure Works"],
            ),
            ("telephone1", &["425-555-0100", "206-555-0142"]),
            ("address1_city", &["Redmond", "Seattle", "Zürich"]),
            ("revenue", &["*"]),
        ],
    },
    Entity {
        name: "contact",
        label: "Contact",
        primary: &["Yvonne McKay", "Susanna Stubberod", "Nancy Anderson"],
        fields: &[
            ("firstname", &["Yvonne", "Susanna", "Nancy"]),
            ("lastname", &["McKay", "Stubberod", "Anderson"]),
            (
                "emailaddress1",
                &["yvonne@fourthcoffee.com", "nancy@litware.com"],
            ),
            ("new_taxid", &["*"]),
        ],
    },
    Entity {
        name: "lead",
        label: "Lead",
        primary: &["Interested in 20 coffee machines", "Renewal \"Gold\" plan"],
        fields: &[
            (
                "subject",
                &["Interested in 20 coffee machines", "New store"],
            ),
            ("companyname", &["Fourth Coffee", "Alpine Ski House"]),
            ("leadsourcecode", &["1", "4"]),
        ],
    },
    Entity {
        name: "opportunity",
        label: "Opportunity",
        primary: &["20 coffee machines", "Annual support contract"],
        fields: &[
            ("name", &["20 coffee machines", "Annual support contract"]),
            ("estimatedvalue", &["25000", "*"]),
            ("closeprobability", &["40", "70"]),
        ],
    },
    Entity {
        name: "incident",
        label: "Case",
        primary: &["Printer jams", "Cannot log in\\ VPN"],
        fields: &[
            ("title", &["Printer jams", "Cannot log in"]),
            ("prioritycode", &["1", "2"]),
            ("description", &["Line one\nline two", "*"]),
        ],
    },
];

fn plan(seed: u64) -> (Kind, u8) {
    let mut r = Rng::new(seed);
    let w = r.below(100);
    let kind = match w {
        0..=79 => Kind::Crm(r.weighted(CRM_OPS)),
        80..=89 => Kind::PowerBi,
        _ => Kind::Teams,
    };
    let parts = match kind {
        Kind::Crm(op) if splittable(op) && r.chance(0.35) => r.range(2, 3) as u8,
        _ => 1,
    };
    (kind, parts)
}

fn splittable(op: &str) -> bool {
    op == "RetrieveMultiple" || op == "ExportToExcel"
}

pub(super) fn planned_parts(seed: u64) -> u8 {
    plan(seed).1
}

pub(super) fn render(c: &Ctx<'_>, out: &mut String) {
    let (mut kind, _) = plan(c.seed);
    if c.parts > 1 && !matches!(kind, Kind::Crm(op) if splittable(op)) {
        // The blob layout forced a split (a group crossing into the next blob).
        let op = if c.seed % 3 == 0 {
            "ExportToExcel"
        } else {
            "RetrieveMultiple"
        };
        kind = Kind::Crm(op);
    }
    match kind {
        Kind::Crm(op) => crm(c, op, out),
        Kind::PowerBi => power_bi(c, out),
        Kind::Teams => teams(c, out),
    }
}

fn crm(c: &Ctx<'_>, op: &'static str, out: &mut String) {
    let mut r = Rng::new(hash(&[c.seed, 21]));
    let t = c.tenant;
    let user = r.pick_ref(&t.users);
    let ctime = creation_time(event_ms(&mut r, c.created_ms));
    let ip = client_ip(&mut r);
    let ua = r.pick(USER_AGENTS);
    let entity = r.pick_ref(ENTITIES);
    let unknown = UNKNOWN_ENTITY_OPS.contains(&op);
    let entity_name = if unknown {
        "Unknown"
    } else if r.chance(0.1) {
        entity.label
    } else {
        entity.name
    };
    let entity_id = if unknown || splittable(op) {
        ZERO_GUID.to_string()
    } else {
        r.guid()
    };
    let status = if r.chance(0.03) { "Failed" } else { "Success" };
    let correlation = sub_guid(c.seed, 1);
    let n_results = r.range(4, 40) as usize;
    let results: Vec<u64> = (0..n_results).map(|_| r.next_u64()).collect();

    let mut o = Obj::new(out);
    head(&mut o, c, &ctime, op, 21);
    o.str("ResultStatus", status)
        .str("UserKey", &user.puid)
        .int("UserType", 0)
        .int("Version", 1)
        .str("Workload", "CRM")
        .opt("ClientIP", ip.as_deref())
        .str("UserId", &user.upn)
        .str("CorrelationId", &correlation)
        .str("CrmOrganizationUniqueName", &t.crm_org)
        .str("InstanceUrl", &t.instance_url)
        .str("ItemType", entity_name);
    let parts = usize::from(c.parts.max(1));
    let part = usize::from(c.part).min(parts - 1);
    let chunk = &results[part * n_results / parts..(part + 1) * n_results / parts];
    let joined = || {
        let mut s = String::with_capacity(chunk.len() * 37);
        for (i, h) in chunk.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_guid(*h, &mut s);
        }
        s
    };
    if part > 0 {
        // Continuation parts repeat the common fields and carry their share of the results.
        o.str("EntityName", entity_name)
            .str("Message", op)
            .str("QueryResults", &joined())
            .str("SystemUserId", &user.system_user_id)
            .str("UserUpn", &user.upn)
            .end();
        return;
    }
    let item_url = (!unknown && !splittable(op)).then(|| {
        format!(
            "{}/main.aspx?etn={}&pagetype=entityrecord&id={entity_id}",
            t.instance_url, entity.name
        )
    });
    o.opt("ItemUrl", item_url.as_deref())
        .str("EntityId", &entity_id)
        .str("EntityName", entity_name)
        .str("Message", op);
    if !unknown && !splittable(op) && op != "Delete" {
        o.str("PrimaryFieldValue", r.pick(entity.primary));
    }
    match op {
        "Create" | "Update" => {
            let fields: Vec<(&str, &str)> = if op == "Update" && r.chance(0.25) {
                Vec::new()
            } else {
                let take = if op == "Create" {
                    entity.fields.len()
                } else {
                    r.range(1, entity.fields.len() as u64) as usize
                };
                entity.fields[..take]
                    .iter()
                    .map(|(n, vals)| (*n, r.pick(vals)))
                    .collect()
            };
            o.pairs("Fields", &fields);
        }
        _ => {
            o.pairs("Fields", &[]);
        }
    }
    if splittable(op) {
        let query = format!(
            "<filter type=\"and\"><condition column=\"ownerid\" operator=\"eq-userid\" /><condition column=\"statecode\" operator=\"eq\" value=\"{}\" /></filter>",
            r.below(2)
        );
        o.str("Query", &query);
        if parts == 1 && r.chance(0.05) {
            let ids: Vec<String> = chunk.iter().map(|h| guid(*h)).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            o.with("QueryResults", |out| str_array(&ids, out));
        } else if parts == 1 && r.chance(0.05) {
            o.str("QueryResults", "");
        } else {
            o.str("QueryResults", &joined());
        }
    } else if op == "Retrieve" {
        o.null("Query").str("QueryResults", &entity_id);
    } else {
        o.null("Query").null("QueryResults");
    }
    if r.chance(0.5) {
        o.str("ServiceContextId", &r.guid())
            .str("ServiceContextIdType", "WebClient");
    } else {
        o.null("ServiceContextId").null("ServiceContextIdType");
    }
    o.str("ServiceName", "CrmOrganizationService")
        .str("SystemUserId", &user.system_user_id)
        .str("UserAgent", ua)
        .str("UserUpn", &user.upn)
        .end();
}

fn power_bi(c: &Ctx<'_>, out: &mut String) {
    let mut r = Rng::new(hash(&[c.seed, 20]));
    let user = r.pick_ref(&c.tenant.users);
    let ctime = creation_time(event_ms(&mut r, c.created_ms));
    let op = r.pick(&["ViewReport", "ExportReport", "ViewDashboard"]);
    let (report, workspace) = r.pick(&[
        ("Sales Pipeline", "Sales"),
        ("Support KPIs", "Customer Service"),
        ("Finance – Q3", "Finance"),
    ]);
    let mut o = Obj::new(out);
    head(&mut o, c, &ctime, op, 20);
    o.int("UserType", 0)
        .str("UserKey", &user.puid)
        .str("Workload", "PowerBI")
        .str("UserId", &user.upn)
        .opt("ClientIP", client_ip(&mut r).as_deref())
        .str("UserAgent", r.pick(USER_AGENTS))
        .str("Activity", op)
        .str("ItemName", report)
        .str("WorkSpaceName", workspace)
        .str("DatasetName", report)
        .str("ReportName", report)
        .str("WorkspaceId", &r.guid())
        .str("ObjectId", report)
        .str("DatasetId", &r.guid())
        .str("ReportId", &r.guid())
        .bool("IsSuccess", true)
        .str("ReportType", "PowerBIReport")
        .str("RequestId", &r.guid())
        .str("ActivityId", &r.guid())
        .str("DistributionMethod", "Workspace")
        .str("ConsumptionMethod", "Power BI Web")
        .end();
}

fn teams(c: &Ctx<'_>, out: &mut String) {
    let mut r = Rng::new(hash(&[c.seed, 25]));
    let users = &c.tenant.users;
    let user = r.pick_ref(users);
    let member = r.pick_ref(users);
    let ctime = creation_time(event_ms(&mut r, c.created_ms));
    let op = r.pick(&[
        "MemberAdded",
        "TeamsSessionStarted",
        "ChannelAdded",
        "MessageSent",
    ]);
    let team = r.pick(&["Sales EMEA", "Project Falcon", "IT Ops"]);
    let mut o = Obj::new(out);
    head(&mut o, c, &ctime, op, 25);
    o.str("UserKey", &user.object_id)
        .int("UserType", 0)
        .int("Version", 1)
        .str("Workload", "MicrosoftTeams")
        .opt("ClientIP", client_ip(&mut r).as_deref())
        .str("UserId", &user.upn)
        .with("Members", |out| {
            out.push('[');
            Obj::new(out)
                .str("DisplayName", &member.display)
                .int("Role", 1)
                .str("UPN", &member.upn)
                .end();
            out.push(']');
        })
        .str("TeamName", team)
        .str(
            "TeamGuid",
            &format!("19:{:032x}@thread.tacv2", u128::from(r.next_u64())),
        )
        .str("AADGroupId", &r.guid())
        .str("CommunicationType", "Team")
        .str("ItemName", team)
        .end();
}
