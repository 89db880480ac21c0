//! A sink's format options: `keep_original`, `[sinks.NAME.cef_fields]` and
//! `[[sinks.NAME.cef_severity]]`.

use super::table::{Ctx, Table};
use crate::format::FormatOptions;
use crate::format::cef::{SeverityRule, validate_field_overrides};

pub(super) fn options(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>) -> FormatOptions {
    FormatOptions {
        keep_original: t.bool(ctx, "keep_original", false),
        cef_fields: cef_fields(ctx, t),
        cef_severity: cef_severity(ctx, t),
        // Set when the sinks start, from `[enrich]`.
        enrich: None,
    }
}

/// `reassemble_split_records` with its bounds `split_horizon` (quiet time after the last
/// part, default 2 h), `split_max_age` (default 24 h) and `split_max_groups` (10000).
pub(super) fn reassembly(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
) -> Option<crate::record::split::SplitConfig> {
    use std::time::Duration;
    let on = t.bool(ctx, "reassemble_split_records", false);
    let d = crate::record::split::SplitConfig::default();
    let week = Duration::from_secs(7 * 24 * 3600);
    let horizon = t.duration(
        ctx,
        "split_horizon",
        d.horizon,
        Duration::from_secs(1)..=week,
    );
    let max_age = t.duration(
        ctx,
        "split_max_age",
        d.max_age,
        Duration::from_secs(1)..=week,
    );
    let max_groups = t.int(ctx, "split_max_groups", 1..=1_000_000, d.max_groups);
    on.then_some(crate::record::split::SplitConfig {
        horizon,
        max_age: max_age.max(horizon),
        max_groups,
        ..d
    })
}

/// `[sinks.NAME.cef_fields]`: CEF key = record field path (`""` removes, `"=x"` constant).
fn cef_fields(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>) -> Vec<(String, String)> {
    let Some(ft) = t.table(ctx, "cef_fields") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, span, v) in ft.entries() {
        let key = ft.key(k);
        match v.get_ref().as_str() {
            Some(path) => {
                let pair = (k.to_string(), path.to_string());
                for problem in validate_field_overrides(std::slice::from_ref(&pair)) {
                    ctx.report(&key, Some(&span), problem);
                }
                out.push(pair);
            }
            None => ctx.report(
                &key,
                Some(&v.span()),
                "expected a record field path (a string)",
            ),
        }
    }
    out
}

/// `[[sinks.NAME.cef_severity]]`: `operation` (exact, or prefix with `*`), optional
/// `workload`, `severity` 0–10. Tried in order before the built-in table.
fn cef_severity(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>) -> Vec<SeverityRule> {
    let Some(v) = t.get("cef_severity") else {
        return Vec::new();
    };
    let key = t.key("cef_severity");
    let Some(items) = v.get_ref().as_array() else {
        t.wrong_type(
            ctx,
            "cef_severity",
            v,
            "an array of tables ([[...cef_severity]])",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(rt) = item.get_ref().as_table() else {
            ctx.report(
                &key,
                Some(&item.span()),
                "expected a table with operation and severity",
            );
            continue;
        };
        let mut r = Table::new(rt, format!("{key}[{i}]"), Some(item.span()));
        let operation = r.required_str(
            ctx,
            "operation",
            "the Operation to match; `*` at the end matches a prefix",
        );
        let workload = r.str(ctx, "workload").map(|(s, _)| s.to_string());
        let present = rt.get("severity").is_some();
        let severity: u8 = r.int(ctx, "severity", 0..=10, 0);
        if !present {
            r.missing(ctx, "severity", "0 to 10");
        }
        r.finish(ctx);
        if let Some((op, _)) = operation {
            out.push(SeverityRule {
                operation: op.to_string(),
                workload,
                severity,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
