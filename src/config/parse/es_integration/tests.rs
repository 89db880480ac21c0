use super::super::tests::{minimal, ok, one, problems};
use crate::sink::config::SinkKind;
use crate::sink::http::config::EsTarget;

fn with_sink(sink: &str) -> String {
    minimal().replace("[sinks.out]\ntype = \"stdout\"\n", sink)
}

const ES: &str = "[sinks.es]\ntype = \"elasticsearch\"\nendpoint = \"https://es.example:9200\"\n";

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
