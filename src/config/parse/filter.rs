//! `[sinks.NAME.filter]`: `include` (one table, or an array of tables: any of them) and
//! `exclude` (one table), each mapping field names to lists of values. Compiled here, once
//! per load, into a [`Filter`].

use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use super::checks::closest;
use super::table::{Ctx, Span, Table, Value, type_name};
use crate::filter::{Condition, Field, Filter, Pattern, Rule, Value as FValue};

const FIELDS: [&str; 9] = [
    "workload",
    "record_type",
    "operation",
    "user_type",
    "user_id",
    "tenant",
    "content_type",
    "entity_name",
    "crm_access",
];

/// A `tenant` value with where it is written, to check once every tenant is known.
pub(super) struct TenantValue {
    pub key: String,
    pub span: Span,
    pub pattern: Pattern,
}

pub(super) fn filter(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    tenants: &mut Vec<TenantValue>,
) -> Option<Arc<Filter>> {
    let mut ft = t.table(ctx, "filter")?;
    let mut f = Filter::default();
    if let Some(v) = ft.get("include") {
        let key = ft.key("include");
        match v.get_ref() {
            DeValue::Table(tbl) => f.include.push(Rule {
                conditions: conditions(ctx, tbl, key, v.span(), tenants),
            }),
            DeValue::Array(items) if items.is_empty() => {
                ctx.report(&key, Some(&v.span()), "is empty: it would admit nothing")
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item.get_ref() {
                        DeValue::Table(tbl) => f.include.push(Rule {
                            conditions: conditions(
                                ctx,
                                tbl,
                                format!("{key}[{i}]"),
                                item.span(),
                                tenants,
                            ),
                        }),
                        other => ctx.report(
                            &key,
                            Some(&item.span()),
                            format!(
                                "expected a table of field = [values], found {}",
                                type_name(other)
                            ),
                        ),
                    }
                }
            }
            _ => ft.wrong_type(
                ctx,
                "include",
                v,
                "a table of field = [values] (or an array of such tables)",
            ),
        }
    }
    if let Some(v) = ft.get("exclude") {
        match v.get_ref() {
            DeValue::Table(tbl) => {
                f.exclude = conditions(ctx, tbl, ft.key("exclude"), v.span(), tenants)
            }
            _ => ft.wrong_type(ctx, "exclude", v, "a table of field = [values]"),
        }
    }
    if ft.get("include").is_none() && ft.get("exclude").is_none() {
        let span = ft.span.clone();
        ctx.report(
            &ft.path,
            span.as_ref(),
            "a filter needs `include` or `exclude` (remove the table to receive every record)",
        );
    }
    ft.finish(ctx);
    // An include rule left empty by errors would admit everything: drop it (the error is
    // reported, so this filter is never used).
    f.include.retain(|r| !r.conditions.is_empty());
    Some(Arc::new(f))
}

/// One table of `field = [values]`: every field known, every value valid, no empty list.
fn conditions(
    ctx: &mut Ctx<'_>,
    tbl: &DeTable<'_>,
    key: String,
    span: Span,
    tenants: &mut Vec<TenantValue>,
) -> Vec<Condition> {
    let t = Table::new(tbl, key, Some(span.clone()));
    let entries = t.entries();
    if entries.is_empty() {
        ctx.report(&t.path, Some(&span), "is empty: name at least one field");
    }
    let mut out = Vec::new();
    for (name, name_span, v) in entries {
        let key = t.key(name);
        let Some(field) = Field::parse(name) else {
            let hint = match closest(name, &FIELDS) {
                Some(g) => format!("did you mean `{g}`?"),
                None => format!("expected one of: {}", FIELDS.join(", ")),
            };
            ctx.report(
                &key,
                Some(&name_span),
                format!("unknown field `{name}` ({hint})"),
            );
            continue;
        };
        let items: Vec<&Value<'_>> = match v.get_ref() {
            DeValue::Array(a) => a.iter().collect(),
            _ => vec![v],
        };
        if items.is_empty() {
            ctx.report(&key, Some(&v.span()), "is empty: list at least one value");
            continue;
        }
        let mut c = Condition::new(field);
        for item in items {
            let value = match item.get_ref() {
                DeValue::String(s) => FValue::Str(s.as_ref()),
                DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) => FValue::Int(n),
                    Err(_) => {
                        ctx.report(&key, Some(&item.span()), format!("{i} is out of range"));
                        continue;
                    }
                },
                other => {
                    ctx.report(
                        &key,
                        Some(&item.span()),
                        format!(
                            "expected a string or an integer, found {}",
                            type_name(other)
                        ),
                    );
                    continue;
                }
            };
            match c.push(value) {
                Err(m) => ctx.report(&key, Some(&item.span()), m),
                Ok(()) => {
                    if let (Field::Tenant, FValue::Str(s)) = (field, value) {
                        if let Ok(pattern) = Pattern::new(s) {
                            tenants.push(TenantValue {
                                key: key.clone(),
                                span: item.span(),
                                pattern,
                            });
                        }
                    }
                }
            }
        }
        if !c.is_empty() {
            out.push(c);
        }
    }
    out
}

/// A `tenant` value that matches no configured tenant (name or tenant id) is a mistake: in
/// `include` the sink would silently get nothing from it, in `exclude` it does nothing.
pub(super) fn check_tenants(
    ctx: &mut Ctx<'_>,
    values: &[TenantValue],
    tenants: &std::collections::BTreeMap<String, crate::api::TenantConfig>,
) {
    for v in values {
        let known = tenants
            .values()
            .any(|t| v.pattern.matches(&t.name) || v.pattern.matches(&t.tenant_id));
        if !known {
            let names: Vec<&str> = tenants.keys().map(String::as_str).collect();
            ctx.report(
                &v.key,
                Some(&v.span),
                format!(
                    "{:?} matches no configured tenant's name or tenant_id (tenants: {})",
                    v.pattern.as_str(),
                    names.join(", ")
                ),
            );
        }
    }
}
