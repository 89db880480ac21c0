//! The Elasticsearch sink's `integration`, `namespace` and `pipeline` keys.

use super::table::{Ctx, Table};
use crate::format::Format;
use crate::sink::http::es_integration::{self as rules, EsIntegration};

/// Reads `integration = true` (with `namespace`) and `pipeline`. In integration mode the
/// document shape is fixed and the target is the integration's data stream, so `format`
/// (other than `raw`), `data_stream` and `index` are refused.
pub(super) fn parse(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    format: Format,
    format_set: bool,
) -> (Option<EsIntegration>, Option<String>) {
    let pipeline = t.str(ctx, "pipeline").map(|(p, span)| {
        if let Err(e) = rules::pipeline(p) {
            ctx.report(&t.key("pipeline"), Some(&span), e);
        }
        p.to_string()
    });
    let on = t.bool(ctx, "integration", false);
    let namespace = t.str(ctx, "namespace");
    if !on {
        if let Some((_, span)) = namespace {
            ctx.report(
                &t.key("namespace"),
                Some(&span),
                "namespace belongs to integration mode: set integration = true, or name the target with data_stream",
            );
        }
        return (None, pipeline);
    }
    for key in ["data_stream", "index"] {
        if let Some((_, span)) = t.str(ctx, key) {
            ctx.report(
                &t.key(key),
                Some(&span),
                "integration mode writes to the integration's data stream logs-o365.audit-<namespace>: set namespace instead",
            );
        }
    }
    if format_set && format != Format::Raw {
        let span = t.span.clone();
        ctx.report(
            &t.key("format"),
            span.as_ref(),
            "integration mode sends the record as Elastic Agent does and Elastic's pipeline maps it: leave format unset",
        );
    }
    let namespace = match namespace {
        Some((ns, span)) => {
            if let Err(e) = rules::namespace(ns) {
                ctx.report(&t.key("namespace"), Some(&span), e);
            }
            ns.to_string()
        }
        None => rules::NAMESPACE.to_string(),
    };
    (Some(EsIntegration { namespace }), pipeline)
}

#[cfg(test)]
mod tests;
