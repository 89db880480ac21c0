//! The HTTP sinks' keys: defaults, every key, secrets, and each problem located.

use std::ffi::OsString;
use std::time::Duration;

use super::super::parse_with_env;
use super::super::tests::{SECRET, minimal, ok, one, problems, source};
use crate::config::Config;
use crate::format::Format;
use crate::secret::SecretOrigin;
use crate::sink::config::SinkKind;
use crate::sink::http::config::Encoding;
use crate::sink::http::config::{EsAuth, EsTarget};

/// `minimal()` with its stdout sink replaced by `sink` (starting on line 6).
fn with_sink(sink: &str) -> String {
    minimal().replace("[sinks.out]\ntype = \"stdout\"\n", sink)
}

fn env(name: &str) -> Option<OsString> {
    (name == "HEC_TOKEN").then(|| OsString::from(SECRET))
}

fn ok_env(text: &str) -> Config {
    parse_with_env(text, &source(), &env).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn splunk_hec_defaults_and_every_key() {
    let c = ok(&with_sink(
        "[sinks.splunk]\ntype = \"splunk_hec\"\nendpoint = \"https://splunk.example:8088\"\ntoken = \"abc\"\n",
    ));
    let SinkKind::SplunkHec(h) = &c.sinks["splunk"].kind else {
        panic!()
    };
    assert_eq!(h.token.expose(), "abc");
    assert!(!h.indexer_ack);
    assert_eq!(h.sourcetype, "o365:management:activity");
    assert_eq!(
        (h.index.as_deref(), h.host.as_deref(), h.source.as_deref()),
        (None, None, None)
    );
    assert!(h.http.compression);
    assert_eq!(h.http.batch, crate::sink::http::config::HEC_LIMITS);
    assert!(h.http.tls.verify);

    let c = ok_env(&with_sink(
        "[sinks.splunk]\ntype = \"splunk_hec\"\nendpoint = \"http://127.0.0.1:8088\"\ntoken_env = \"HEC_TOKEN\"\n\
         indexer_ack = true\nack_poll_interval = \"50ms\"\nack_timeout = \"2m\"\nindex = \"o365\"\nsource = \"src\"\n\
         host = \"fwd01\"\nsourcetype = \"custom\"\nformat = \"cef\"\ncompression = \"none\"\nbatch_max_events = 10\n\
         batch_max_bytes = 5000\nbatch_timeout = \"0s\"\nconcurrency = 3\nrequest_timeout = \"5s\"\nretry_max_backoff = \"2s\"\n\
         tls_verify = false\n",
    ));
    let s = &c.sinks["splunk"];
    assert_eq!(s.format, Format::Cef);
    let SinkKind::SplunkHec(h) = &s.kind else {
        panic!()
    };
    assert_eq!(h.token.expose(), SECRET);
    assert_eq!(h.token_origin, SecretOrigin::Env("HEC_TOKEN".into()));
    assert!(h.indexer_ack);
    assert_eq!(h.ack_poll_interval, Duration::from_millis(50));
    assert_eq!(h.ack_timeout, Duration::from_secs(120));
    assert_eq!(h.index.as_deref(), Some("o365"));
    assert_eq!(h.sourcetype, "custom");
    assert!(!h.http.compression && !h.http.tls.verify);
    assert_eq!(
        (h.http.batch.max_events, h.http.batch.max_bytes),
        (10, 5000)
    );
    assert_eq!(h.http.batch.timeout, Duration::ZERO);
    assert_eq!(h.http.concurrency, 3);
    assert_eq!(h.http.request_timeout, Duration::from_secs(5));
    let summary = c.summary();
    assert!(
        summary.contains(
            "splunk: splunk_hec http://127.0.0.1:8088/ (token: environment variable HEC_TOKEN"
        ),
        "{summary}"
    );
    assert!(!summary.contains(SECRET));
}

#[test]
fn splunk_hec_token_from_file_and_default_sourcetype_per_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hec.token");
    super::super::tests::write_secret(&path, "from-file\n");
    let c = ok(&with_sink(&format!(
        "[sinks.splunk]\ntype = \"splunk_hec\"\nendpoint = \"https://s:8088\"\ntoken_file = \"{}\"\nformat = \"ecs\"\n",
        path.display()
    )));
    let SinkKind::SplunkHec(h) = &c.sinks["splunk"].kind else {
        panic!()
    };
    assert_eq!(h.token.expose(), "from-file");
    assert_eq!(h.token_origin, SecretOrigin::File(path));
    assert_eq!(h.sourcetype, "_json");
}

#[test]
fn splunk_hec_problems_are_located() {
    let base = "[sinks.splunk]\ntype = \"splunk_hec\"\n";
    one(
        &with_sink(&format!("{base}token = \"t\"\n")),
        "sinks.splunk.endpoint",
        6,
        1,
        "missing required key `endpoint`",
    );
    one(
        &with_sink(&format!("{base}endpoint = \"https://s\"\n")),
        "sinks.splunk.token",
        6,
        1,
        "set one of token, token_file or token_env",
    );
    one(
        &with_sink(&format!(
            "{base}endpoint = \"http://splunk.example:8088\"\ntoken = \"t\"\n"
        )),
        "sinks.splunk.endpoint",
        8,
        12,
        "only allowed to a loopback host",
    );
    one(
        &with_sink(&format!(
            "{base}endpoint = \"https://s\"\ntoken = \"t\"\ntoken_env = \"X\"\n"
        )),
        "sinks.splunk.token_env",
        10,
        13,
        "set only one of token",
    );
    one(
        &with_sink(&format!(
            "{base}endpoint = \"https://s\"\ntoken = \"t\"\nindexer_akc = true\n"
        )),
        "sinks.splunk.indexer_akc",
        10,
        1,
        "did you mean `indexer_ack`",
    );
    one(
        &with_sink(&format!(
            "{base}endpoint = \"https://s\"\ntoken = \"t\"\ncompression = \"zstd\"\n"
        )),
        "sinks.splunk.compression",
        10,
        15,
        "expected gzip or none",
    );
    one(
        &with_sink(&format!(
            "{base}endpoint = \"https://s\"\ntoken = \"t\"\ntls_cert_file = \"/etc/hostname\"\n"
        )),
        "sinks.splunk.tls_key_file",
        6,
        1,
        "needs both",
    );
    one(
        &with_sink(&format!(
            "{base}endpoint = \"https://s\"\ntoken = \"t\"\ntls_ca_file = \"/nonexistent/ca.pem\"\n"
        )),
        "sinks.splunk.tls_ca_file",
        10,
        15,
        "cannot read /nonexistent/ca.pem",
    );
    one(
        &with_sink(&format!(
            "{base}endpoint = \"https://s\"\ntoken = \"bad\\ntoken\"\n"
        )),
        "sinks.splunk.token",
        6,
        1,
        "not allowed in an HTTP header",
    );
}

#[test]
fn elasticsearch_defaults_targets_and_auth() {
    let base = "[sinks.es]\ntype = \"elasticsearch\"\nendpoint = \"https://es:9200\"\n";
    let c = ok(&with_sink(base));
    let s = &c.sinks["es"];
    assert_eq!(s.format, Format::Ecs, "ECS by default");
    let SinkKind::Elasticsearch(e) = &s.kind else {
        panic!()
    };
    assert_eq!(
        e.target,
        EsTarget::DataStream("logs-o365.audit-default".into())
    );
    assert_eq!(e.auth, EsAuth::None);

    let c = ok(&with_sink(&format!(
        "{base}index = \"o365-raw\"\nformat = \"raw\"\napi_key = \"k==\"\n"
    )));
    let SinkKind::Elasticsearch(e) = &c.sinks["es"].kind else {
        panic!()
    };
    assert_eq!(e.target, EsTarget::Index("o365-raw".into()));
    assert!(
        matches!(&e.auth, EsAuth::ApiKey { key, origin: SecretOrigin::Inline } if key.expose() == "k==")
    );

    let c = ok(&with_sink(&format!(
        "{base}data_stream = \"logs-o365.audit-prod\"\nusername = \"fwd\"\npassword = \"{SECRET}\"\n"
    )));
    let SinkKind::Elasticsearch(e) = &c.sinks["es"].kind else {
        panic!()
    };
    assert!(
        matches!(&e.auth, EsAuth::Basic { username, password, .. } if username == "fwd" && password.expose() == SECRET)
    );
    assert!(
        c.summary()
            .contains("data stream logs-o365.audit-prod; user fwd, password: inline"),
        "{}",
        c.summary()
    );
    assert!(!c.summary().contains(SECRET));
}

#[test]
fn elasticsearch_problems_are_located() {
    let base = "[sinks.es]\ntype = \"elasticsearch\"\nendpoint = \"https://es:9200\"\n";
    one(
        &with_sink(&format!("{base}format = \"raw\"\n")),
        "sinks.es.format",
        9,
        10,
        "needs @timestamp",
    );
    one(
        &with_sink(&format!("{base}format = \"cef\"\nindex = \"x\"\n")),
        "sinks.es.format",
        9,
        10,
        "JSON documents",
    );
    one(
        &with_sink(&format!("{base}index = \"a\"\ndata_stream = \"b\"\n")),
        "sinks.es.index",
        9,
        9,
        "not both",
    );
    one(
        &with_sink(&format!("{base}index = \"Upper\"\n")),
        "sinks.es.index",
        9,
        9,
        "not a valid name",
    );
    one(
        &with_sink(&format!("{base}password = \"p\"\n")),
        "sinks.es.username",
        6,
        1,
        "missing required key `username`",
    );
    one(
        &with_sink(&format!("{base}username = \"u\"\n")),
        "sinks.es.password",
        6,
        1,
        "set one of password, password_file or password_env",
    );
    let ps = problems(&with_sink(&format!(
        "{base}api_key = \"k\"\nusername = \"u\"\n"
    )));
    assert!(ps.iter().any(|p| p.message.contains("not both")), "{ps:#?}");
}

#[test]
fn webhook_keys_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key");
    super::super::tests::write_secret(&path, "file-secret\n");
    let c = ok_env(&with_sink(&format!(
        "[sinks.hook]\ntype = \"http\"\nurl = \"https://c.example/ingest\"\nencoding = \"json_array\"\nformat = \"ecs\"\n\
         [sinks.hook.headers]\nX-Source = \"o365fwd\"\nX-Key = {{ file = \"{}\" }}\nAuthorization = {{ env = \"HEC_TOKEN\" }}\n",
        path.display()
    )));
    let SinkKind::Http(w) = &c.sinks["hook"].kind else {
        panic!()
    };
    assert_eq!(w.encoding, Encoding::JsonArray);
    assert!(!w.http.compression, "no gzip by default for webhooks");
    let h: Vec<(&str, &str)> = w
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.expose()))
        .collect();
    assert_eq!(
        h,
        [
            ("X-Source", "o365fwd"),
            ("X-Key", "file-secret"),
            ("Authorization", SECRET)
        ]
    );
    let summary = c.summary();
    assert!(
        summary.contains("Authorization (environment variable HEC_TOKEN)"),
        "{summary}"
    );
    assert!(!summary.contains(SECRET) && !summary.contains("file-secret"));

    let base = "[sinks.hook]\ntype = \"http\"\nurl = \"https://c.example/\"\n";
    one(
        &with_sink(&format!("{base}encoding = \"xml\"\n")),
        "sinks.hook.encoding",
        9,
        12,
        "ndjson or json_array",
    );
    one(
        &with_sink(&format!(
            "{base}[sinks.hook.headers]\nContent-Type = \"x\"\n"
        )),
        "sinks.hook.headers.Content-Type",
        10,
        1,
        "set by o365fwd",
    );
    one(
        &with_sink(&format!(
            "{base}[sinks.hook.headers]\n\"Bad Name\" = \"x\"\n"
        )),
        "sinks.hook.headers.Bad Name",
        10,
        1,
        "not a valid header name",
    );
    one(
        &with_sink(&format!(
            "{base}[sinks.hook.headers]\nX = {{ env = \"NOPE\" }}\n"
        )),
        "sinks.hook.headers.X.env",
        10,
        13,
        "NOPE is not set",
    );
    let ps = problems(&with_sink(&format!(
        "{base}[sinks.hook.headers]\nX = {{ flie = \"a\" }}\n"
    )));
    assert_eq!(ps.len(), 2, "{ps:#?}");
    assert!(
        ps[0].message.contains("set one of value, file or env"),
        "{ps:#?}"
    );
    assert!(ps[1].message.contains("did you mean `file`"), "{ps:#?}");
    one(
        &with_sink(&format!("{base}[sinks.hook.headers]\nX = 5\n")),
        "sinks.hook.headers.X",
        10,
        5,
        "expected a string or a table",
    );
    one(
        &with_sink("[sinks.hook]\ntype = \"http\"\nurl = \"ftp://c.example/\"\n"),
        "sinks.hook.url",
        8,
        7,
        "unsupported scheme",
    );
}
