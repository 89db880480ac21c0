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
mod tests {
    use super::super::tests::{minimal, ok, one, problems};
    use crate::sink::config::SinkKind;
    use crate::sink::http::config::EsTarget;

    fn with_sink(sink: &str) -> String {
        minimal().replace("[sinks.out]\ntype = \"stdout\"\n", sink)
    }

    const ES: &str =
        "[sinks.es]\ntype = \"elasticsearch\"\nendpoint = \"https://es.example:9200\"\n";

    #[test]
    fn integration_mode_targets_the_integration_data_stream() {
        let c = ok(&with_sink(&format!("{ES}integration = true\n")));
        let SinkKind::Elasticsearch(es) = &c.sinks["es"].kind else {
            panic!()
        };
        assert_eq!(
            es.target,
            EsTarget::DataStream("logs-o365.audit-default".into())
        );
        assert_eq!(es.integration.as_ref().unwrap().namespace, "default");
        assert_eq!(es.pipeline, None);
        let c = ok(&with_sink(&format!(
            "{ES}integration = true\nnamespace = \"prod\"\npipeline = \"logs-o365.audit-2.18.0\"\n"
        )));
        let SinkKind::Elasticsearch(es) = &c.sinks["es"].kind else {
            panic!()
        };
        assert_eq!(
            es.target,
            EsTarget::DataStream("logs-o365.audit-prod".into())
        );
        assert_eq!(es.pipeline.as_deref(), Some("logs-o365.audit-2.18.0"));
        // A pipeline override without integration mode, on our own ECS documents.
        let c = ok(&with_sink(&format!(
            "{ES}format = \"ecs\"\npipeline = \"geo\"\n"
        )));
        let SinkKind::Elasticsearch(es) = &c.sinks["es"].kind else {
            panic!()
        };
        assert!(es.integration.is_none());
        assert_eq!(es.pipeline.as_deref(), Some("geo"));
    }

    #[test]
    fn integration_mode_problems_are_located() {
        one(
            &with_sink(&format!("{ES}integration = true\nnamespace = \"Prod-1\"\n")),
            "sinks.es.namespace",
            10,
            13,
            "not a valid namespace",
        );
        one(
            &with_sink(&format!("{ES}namespace = \"prod\"\n")),
            "sinks.es.namespace",
            9,
            13,
            "integration = true",
        );
        one(
            &with_sink(&format!(
                "{ES}integration = true\ndata_stream = \"logs-x-y\"\n"
            )),
            "sinks.es.data_stream",
            10,
            15,
            "set namespace instead",
        );
        one(
            &with_sink(&format!("{ES}pipeline = \"a b\"\nformat = \"ecs\"\n")),
            "sinks.es.pipeline",
            9,
            12,
            "ingest pipeline",
        );
        let ps = problems(&with_sink(&format!(
            "{ES}integration = true\nformat = \"ecs\"\n"
        )));
        assert!(
            ps.iter()
                .any(|p| p.key == "sinks.es.format" && p.message.contains("leave format unset")),
            "{ps:#?}"
        );
    }
}
