//! Per-sink record filters: which records a sink receives.
//!
//! A filter has `include` rules and `exclude` conditions. Each condition names one field
//! and a list of values; it holds when the record's field matches ANY of the values.
//! An include rule holds when ALL its conditions hold; a record is admitted when it
//! satisfies at least one include rule (or there is none) and NO exclude condition holds —
//! exclude wins. So include narrows (`{ workload = ["CRM"], crm_access = ["Create"] }` is
//! CRM *and* Create) and each exclude condition removes one kind of noise on its own
//! (`exclude = { operation = [...], user_type = [...] }` drops either).
//!
//! Filters are compiled once when the configuration is loaded; matching a record does not
//! allocate. Fields the pipeline has not parsed already (`UserType`, `UserId`,
//! `EntityName`, the Dynamics message) are read from the raw JSON only when a condition
//! needs them, at most once per record.

mod fields;
mod glob;

use std::fmt;

use crate::format::Origin;
use crate::record::classify::CrmAccess;
use crate::record::{ContentType, Record};

pub use fields::{USER_TYPES, record_type, user_type};
pub use glob::Pattern;

/// The fields a condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Workload,
    RecordType,
    Operation,
    UserType,
    UserId,
    Tenant,
    ContentType,
    EntityName,
    CrmAccess,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Workload,
        Field::RecordType,
        Field::Operation,
        Field::UserType,
        Field::UserId,
        Field::Tenant,
        Field::ContentType,
        Field::EntityName,
        Field::CrmAccess,
    ];

    /// The key in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Field::Workload => "workload",
            Field::RecordType => "record_type",
            Field::Operation => "operation",
            Field::UserType => "user_type",
            Field::UserId => "user_id",
            Field::Tenant => "tenant",
            Field::ContentType => "content_type",
            Field::EntityName => "entity_name",
            Field::CrmAccess => "crm_access",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Needs the raw JSON (not pulled out at parse time).
    fn needs_raw(self) -> bool {
        matches!(
            self,
            Field::UserType | Field::UserId | Field::EntityName | Field::CrmAccess
        )
    }
}

/// Why a record was not admitted; the metric's bounded `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No include rule held; with a single include rule, the first condition that failed.
    NotIncluded(Option<Field>),
    /// This exclude condition held.
    Excluded(Field),
}

impl Reason {
    pub fn label(self) -> &'static str {
        use Field as F;
        match self {
            Reason::NotIncluded(None) => "not_included",
            Reason::NotIncluded(Some(f)) => match f {
                F::Workload => "not_included:workload",
                F::RecordType => "not_included:record_type",
                F::Operation => "not_included:operation",
                F::UserType => "not_included:user_type",
                F::UserId => "not_included:user_id",
                F::Tenant => "not_included:tenant",
                F::ContentType => "not_included:content_type",
                F::EntityName => "not_included:entity_name",
                F::CrmAccess => "not_included:crm_access",
            },
            Reason::Excluded(f) => match f {
                F::Workload => "excluded:workload",
                F::RecordType => "excluded:record_type",
                F::Operation => "excluded:operation",
                F::UserType => "excluded:user_type",
                F::UserId => "excluded:user_id",
                F::Tenant => "excluded:tenant",
                F::ContentType => "excluded:content_type",
                F::EntityName => "excluded:entity_name",
                F::CrmAccess => "excluded:crm_access",
            },
        }
    }
}

/// One value as written in the configuration.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Str(&'a str),
    Int(i64),
}

#[derive(Debug, Clone)]
enum Values {
    Patterns(Vec<Pattern>),
    Ints(Vec<i64>),
    ContentTypes(Vec<ContentType>),
    Access(Vec<CrmAccess>),
}

/// `field` matches any of the values.
#[derive(Debug, Clone)]
pub struct Condition {
    field: Field,
    /// The values as written, for summaries and explanations.
    shown: Vec<String>,
    values: Values,
}

impl Condition {
    /// An empty condition (matches nothing until values are pushed).
    pub fn new(field: Field) -> Condition {
        let values = match field {
            Field::RecordType | Field::UserType => Values::Ints(Vec::new()),
            Field::ContentType => Values::ContentTypes(Vec::new()),
            Field::CrmAccess => Values::Access(Vec::new()),
            _ => Values::Patterns(Vec::new()),
        };
        Condition {
            field,
            shown: Vec::new(),
            values,
        }
    }

    pub fn field(&self) -> Field {
        self.field
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// Adds a value; the error is a config problem message for that value.
    pub fn push(&mut self, v: Value<'_>) -> Result<(), String> {
        let field = self.field.name();
        match (&mut self.values, v) {
            (Values::Ints(list), Value::Int(n)) if n >= 0 => list.push(n),
            (Values::Ints(_), Value::Int(n)) => return Err(format!("{n} is not a valid {field}")),
            (Values::Ints(list), Value::Str(s)) => {
                let n = if self.field == Field::UserType {
                    user_type(s).ok_or_else(|| {
                        format!(
                            "unknown user_type {s:?} (a number, or one of {})",
                            USER_TYPES.join(", ")
                        )
                    })?
                } else {
                    record_type(s).ok_or_else(|| {
                        format!(
                            "unknown record_type {s:?} (a number, or a RecordType name such as CRM or AzureActiveDirectoryStsLogon)"
                        )
                    })?
                };
                list.push(n);
            }
            (Values::ContentTypes(list), Value::Str(s)) => {
                list.push(s.parse().map_err(|e| format!("{e}"))?)
            }
            (Values::Access(list), Value::Str(s)) => list.push(access(s).ok_or_else(|| {
                format!(
                    "unknown crm_access {s:?} (one of Read, ReadMultiple, Create, Update, Delete, Other)"
                )
            })?),
            (Values::Patterns(list), Value::Str(s)) => list.push(Pattern::new(s)?),
            (_, Value::Int(n)) => return Err(format!("expected a string for {field}, found {n}")),
        }
        self.shown.push(match v {
            Value::Str(s) => s.to_string(),
            Value::Int(n) => n.to_string(),
        });
        Ok(())
    }

    fn holds(&self, s: &mut Subject<'_>) -> bool {
        let pats = |list: &[Pattern], v: Option<&str>| {
            v.is_some_and(|v| list.iter().any(|p| p.matches(v)))
        };
        match &self.values {
            Values::Patterns(list) => match self.field {
                Field::Workload => pats(list, s.rec.workload()),
                Field::Operation => pats(list, s.rec.operation()),
                Field::Tenant => {
                    pats(list, Some(s.origin.tenant)) || pats(list, Some(s.origin.tenant_id))
                }
                Field::UserId => s
                    .extra
                    .user_id()
                    .is_some_and(|t| t.with(|v| pats(list, Some(v)))),
                Field::EntityName => s
                    .extra
                    .entity_name()
                    .is_some_and(|t| t.with(|v| pats(list, Some(v)))),
                _ => false,
            },
            Values::Ints(list) => {
                let v = match self.field {
                    Field::RecordType => s.rec.record_type,
                    _ => s.extra.user_type(),
                };
                v.is_some_and(|v| list.contains(&v))
            }
            Values::ContentTypes(list) => list.contains(&s.origin.content_type),
            Values::Access(list) => s.crm_access().is_some_and(|a| list.contains(&a)),
        }
    }

    /// The record's value of this field, for explanations (`filter-test`).
    fn value_of(&self, s: &mut Subject<'_>) -> String {
        let o = |v: Option<&str>| v.unwrap_or("(none)").to_string();
        match self.field {
            Field::Workload => o(s.rec.workload()),
            Field::Operation => o(s.rec.operation()),
            Field::RecordType => s.rec.record_type.map_or("(none)".into(), |n| n.to_string()),
            Field::Tenant => s.origin.tenant.to_string(),
            Field::ContentType => s.origin.content_type.as_str().to_string(),
            Field::UserType => {
                s.extra
                    .user_type()
                    .map_or("(none)".into(), |n| match USER_TYPES.get(n as usize) {
                        Some(name) => format!("{name} ({n})"),
                        None => n.to_string(),
                    })
            }
            Field::UserId => o(s.extra.user_id().map(|t| t.to_owned_string()).as_deref()),
            Field::EntityName => o(s
                .extra
                .entity_name()
                .map(|t| t.to_owned_string())
                .as_deref()),
            Field::CrmAccess => match s.crm_access() {
                Some(a) => access_name(a).to_string(),
                None => "(not a Dynamics 365 record)".into(),
            },
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in [{}]", self.field.name(), self.shown.join(", "))
    }
}

fn access(s: &str) -> Option<CrmAccess> {
    use CrmAccess as A;
    [
        A::Read,
        A::ReadMultiple,
        A::Create,
        A::Update,
        A::Delete,
        A::Other,
    ]
    .into_iter()
    .find(|a| access_name(*a).eq_ignore_ascii_case(s.trim()))
}

fn access_name(a: CrmAccess) -> &'static str {
    match a {
        CrmAccess::Other => "Other",
        a => a.label(""),
    }
}

/// An include rule: every condition must hold.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub conditions: Vec<Condition>,
}

/// A compiled filter (see the module docs for the semantics).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Admitted when any rule holds; no rules admits everything.
    pub include: Vec<Rule>,
    /// Dropped when any condition holds.
    pub exclude: Vec<Condition>,
}

/// One record with its origin, and the raw fields once read.
struct Subject<'r> {
    rec: &'r Record,
    origin: &'r Origin<'r>,
    extra: fields::Extra<'r>,
}

impl<'r> Subject<'r> {
    /// The Dynamics 365 access class, for Dynamics records only (the `Message`, or the
    /// operation when it has none, classified as ECS and CEF classify it).
    fn crm_access(&mut self) -> Option<CrmAccess> {
        let rec = self.rec;
        let crm = rec.record_type == Some(21)
            || rec
                .workload()
                .is_some_and(|w| w.eq_ignore_ascii_case("CRM"));
        if !crm {
            return None;
        }
        let op = rec.operation().unwrap_or("");
        Some(match self.extra.message().filter(|m| !m.is_blank()) {
            Some(m) => m.with(CrmAccess::of),
            None => CrmAccess::of(op),
        })
    }
}

impl Filter {
    /// True when it admits every record (no rules at all).
    pub fn is_all(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// True when some condition reads the raw JSON (costs a parse per record).
    pub fn reads_raw(&self) -> bool {
        self.conditions().any(|c| c.field.needs_raw())
    }

    fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.include
            .iter()
            .flat_map(|r| r.conditions.iter())
            .chain(self.exclude.iter())
    }

    /// Whether the record goes to the sink; if not, why.
    pub fn check(&self, rec: &Record, origin: &Origin<'_>) -> Result<(), Reason> {
        self.decide(&mut Subject {
            rec,
            origin,
            extra: fields::Extra::of(rec),
        })
        .map_err(|(reason, _)| reason)
    }

    fn decide<'c>(&'c self, s: &mut Subject<'_>) -> Result<(), (Reason, &'c Condition)> {
        if !self.include.is_empty() {
            let mut first_failed = None;
            let admitted = self.include.iter().any(|rule| {
                let failed = rule.conditions.iter().find(|c| !c.holds(s));
                if first_failed.is_none() {
                    first_failed = failed;
                }
                failed.is_none()
            });
            if !admitted {
                let c = first_failed.expect("a rule failed on some condition");
                let which = (self.include.len() == 1).then_some(c.field);
                return Err((Reason::NotIncluded(which), c));
            }
        }
        match self.exclude.iter().find(|c| c.holds(s)) {
            Some(c) => Err((Reason::Excluded(c.field), c)),
            None => Ok(()),
        }
    }

    /// `check`, with a readable reason naming the record's value (`filter-test`).
    pub fn explain(&self, rec: &Record, origin: &Origin<'_>) -> Result<(), String> {
        let mut s = Subject {
            rec,
            origin,
            extra: fields::Extra::of(rec),
        };
        let (reason, c) = match self.decide(&mut s) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let value = c.value_of(&mut s);
        Err(match reason {
            Reason::Excluded(f) => format!("excluded: {}={value} matches {c}", f.name()),
            Reason::NotIncluded(Some(f)) => {
                format!(
                    "not included: {}={value} is not in [{}]",
                    f.name(),
                    c.shown.join(", ")
                )
            }
            Reason::NotIncluded(None) => format!(
                "not included: no include rule holds (e.g. {}={value} is not in [{}])",
                c.field.name(),
                c.shown.join(", ")
            ),
        })
    }
}

impl fmt::Display for Filter {
    /// One line: `workload in [CRM]; not operation in [WhoAmI], not user_type in [System]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.include.is_empty() {
            f.write_str("all records")?;
        }
        let many = self.include.len() > 1;
        for (i, rule) in self.include.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            if many {
                f.write_str("(")?;
            }
            for (j, c) in rule.conditions.iter().enumerate() {
                if j > 0 {
                    f.write_str(" and ")?;
                }
                write!(f, "{c}")?;
            }
            if many {
                f.write_str(")")?;
            }
        }
        for (i, c) in self.exclude.iter().enumerate() {
            f.write_str(if i == 0 { "; not " } else { ", not " })?;
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
