//! Keeps the Elasticsearch receiver honest: Elastic's official Python client (installed by
//! `.ci/http.sh`) runs bulk creates against it and must see what a real cluster answers.

use std::process::Command;

use crate::receivers::es::Es;

/// Whether an external program may run (see [`crate::harness::external_ready`]).
pub fn external_available(name: &str, ok: bool) -> bool {
    ok || crate::harness::external_ready(
        "HTTP receiver check",
        &[name.to_string()],
        "`sh .ci/http.sh`",
    )
}

fn python() -> String {
    std::env::var("O365FWD_PYTHON").unwrap_or_else(|_| "python3".into())
}

const SCRIPT: &str = r#"
import sys, json
from elasticsearch import Elasticsearch, helpers
url, key = sys.argv[1], sys.argv[2]
es = Elasticsearch(url, api_key=key, request_timeout=10)
assert es.info()["version"]["number"].startswith("8."), "info"
ds = "logs-o365.audit-default"
docs = [{"_op_type": "create", "_index": ds, "_id": f"py-{i}",
         "_source": {"@timestamp": "2024-06-10T06:13:20Z", "event": {"id": f"py-{i}"}}}
        for i in range(10)]
ok, errors = helpers.bulk(es, docs, raise_on_error=False)
assert ok == 10 and not errors, errors
# The same ids again: every item 409, reported per item in a 200.
ok, errors = helpers.bulk(es, docs[:3], raise_on_error=False)
assert ok == 0 and [e["create"]["status"] for e in errors] == [409] * 3, errors
assert errors[0]["create"]["error"]["type"] == "version_conflict_engine_exception", errors
# A data stream takes only create, and only with @timestamp.
_, errors = helpers.bulk(es, [
    {"_op_type": "index", "_index": ds, "_id": "x", "_source": {"@timestamp": "2024-06-10T06:13:20Z"}},
    {"_op_type": "create", "_index": ds, "_id": "y", "_source": {"a": 1}},
], raise_on_error=False)
assert [list(e.values())[0]["status"] for e in errors] == [400, 400], errors
# gzip request bodies, the low-level API, an index.
es2 = Elasticsearch(url, api_key=key, http_compress=True)
r = es2.bulk(operations=[{"create": {"_index": "o365-raw", "_id": "gz-1"}}, {"Id": "gz-1"}])
assert r["errors"] is False and r["items"][0]["create"]["status"] == 201, r
# Wrong credentials: the client raises AuthenticationException (401).
try:
    Elasticsearch(url, api_key="bad", request_timeout=5).info()
    raise SystemExit("401 expected")
except Exception as e:
    assert type(e).__name__ == "AuthenticationException", repr(e)
print("OK")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_agrees_with_the_es_receiver() {
    let py = python();
    let has = Command::new(&py)
        .args(["-c", "import elasticsearch"])
        .status()
        .is_ok_and(|s| s.success());
    if !external_available(
        "python elasticsearch client (PyPI elasticsearch==8.15.1)",
        has,
    ) {
        return;
    }
    let key = "cHktY2xpZW50OnNlY3JldA==";
    let es = Es::start(&[&format!("ApiKey {key}")]).await;
    let url = es.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .args(["-c", SCRIPT, &url, key])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("OK"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(es.docs("logs-o365.audit-default").len(), 10);
    assert!(es.docs("o365-raw").contains_key("gz-1"));
    es.with(|s| {
        assert!(s.gzip_requests >= 1);
        // The official client sends bulk as PUT; our sink as POST: both are accepted.
        assert!(s.methods.iter().any(|m| m == "PUT"), "{:?}", s.methods);
    });
}
