//! `http` (webhook) against the collector: NDJSON and JSON array, headers from env and file,
//! Retry-After on 429, 5xx retried, other 4xx stop the sink.

use std::time::Duration;

use super::*;
use crate::receivers::webhook::Hook;

fn hook_toml(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[sinks.{name}]\ntype = \"http\"\nurl = \"{url}\"\nbatch_timeout = \"20ms\"\nretry_max_backoff = \"300ms\"\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_and_json_array_with_secret_headers() {
    let hook = Hook::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    crate::harness::write_private(&key, b"k-from-file\n");
    hook.with(|s| s.required = Some(("x-api-key".into(), "k-from-file".into())));
    let sink = start_sink(&hook_toml(
        "hook_nd",
        &hook.url(),
        &format!(
            "compression = \"gzip\"\n[sinks.hook_nd.headers]\nX-Api-Key = {{ file = \"{}\" }}\n",
            key.display()
        ),
    ))
    .await;
    let recs = records("nd", 30);
    let want = ids(&recs);
    let mut rx = sink.submit(recs).await;
    ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert_once(&hook.ids(), &want);
    hook.with(|s| {
        assert!(
            s.requests
                .iter()
                .all(|(_, ct)| ct == "application/x-ndjson")
        );
        assert_eq!(s.gzip_requests as usize, s.requests.len());
    });
    sink.close().await;

    let hook = Hook::start().await;
    let sink = start_sink(&hook_toml(
        "hook_arr",
        &hook.url(),
        "encoding = \"json_array\"\nbatch_max_events = 7\n",
    ))
    .await;
    let recs = records("arr", 20);
    let want = ids(&recs);
    let mut rx = sink.submit(recs).await;
    ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert_once(&hook.ids(), &want);
    hook.with(|s| {
        assert_eq!(s.requests.len(), 3, "20 records in arrays of at most 7");
        assert!(s.requests.iter().all(|(_, ct)| ct == "application/json"));
    });
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_respected_and_5xx_retried() {
    let hook = Hook::start().await;
    hook.with(|s| {
        s.throttle = 1;
        s.retry_after = 2;
        s.fail = 2;
    });
    let sink = start_sink(&hook_toml("hook_retry", &hook.url(), "")).await;
    let recs = records("ra", 10);
    let want = ids(&recs);
    let mut rx = sink.submit(recs).await;
    ack_within(&mut rx, Duration::from_secs(15))
        .await
        .expect("acked");
    assert_once(&hook.ids(), &want);
    let times: Vec<_> = hook.with(|s| s.requests.iter().map(|(t, _)| *t).collect());
    assert_eq!(times.len(), 4, "429, 503, 503, 200");
    let waited = times[1] - times[0];
    assert!(
        waited >= Duration::from_millis(1950),
        "Retry-After: 2 respected, waited {waited:?}"
    );
    // The 5xx retries use the (short) backoff, not the last Retry-After.
    assert!(times[3] - times[1] < Duration::from_secs(2));
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_4xx_stops_the_sink_and_keeps_the_data() {
    let hook = Hook::start().await;
    hook.with(|s| s.status = Some(400));
    let sink = start_sink(&hook_toml("hook_400", &hook.url(), "")).await;
    let mut rx = sink.submit(records("p", 5)).await;
    assert!(ack_within(&mut rx, Duration::from_secs(2)).await.is_none());
    assert_eq!(sink.stopped(), 1);
    assert_eq!(hook.with(|s| s.requests.len()), 1, "not retried");
    sink.abort().await;
    // A redirect is not followed: the same.
    let hook = Hook::start().await;
    hook.with(|s| s.status = Some(308));
    let sink = start_sink(&hook_toml("hook_308", &hook.url(), "")).await;
    let mut rx = sink.submit(records("r", 5)).await;
    assert!(ack_within(&mut rx, Duration::from_secs(2)).await.is_none());
    assert_eq!(sink.stopped(), 1);
    sink.abort().await;
}
