//! `elasticsearch` against the bulk receiver: create with `_id`, 409 as delivered, per-item
//! 429 and permanent errors, whole-request 429, down, slow, bad credentials.

use std::time::Duration;

use super::*;
use crate::receivers::es::Es;

const KEY: &str = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";

fn es_toml(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[sinks.{name}]\ntype = \"elasticsearch\"\nendpoint = \"{url}\"\nindex = \"o365-raw\"\nformat = \"raw\"\n\
         api_key = \"{KEY}\"\nbatch_timeout = \"50ms\"\nretry_max_backoff = \"300ms\"\n{extra}"
    )
}

fn stored(es: &Es) -> std::collections::BTreeMap<String, usize> {
    es.docs("o365-raw").keys().map(|k| (k.clone(), 1)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_by_id_and_a_resend_is_a_delivered_duplicate() {
    let es = Es::start(&[&format!("ApiKey {KEY}")]).await;
    let sink = start_sink(&es_toml("es_once", &es.url(), "batch_max_events = 40\n")).await;
    let recs = records("es", 100);
    let want = ids(&recs);
    let mut rx = sink.submit(recs.clone()).await;
    let ack = ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert!(ack.rejected.is_empty());
    assert_once(&stored(&es), &want);
    let docs = es.docs("o365-raw");
    assert_eq!(
        docs["es-3"]["Operation"], "UserLoggedIn",
        "the record is the document"
    );
    assert!(docs["es-3"].get("_id").is_none());
    // The same records again (a re-send after a crash): 409 on every item, all delivered.
    let mut rx = sink.submit(recs).await;
    let ack = ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert!(ack.rejected.is_empty(), "{:?}", ack.rejected);
    assert_once(&stored(&es), &want);
    assert_eq!(
        o365fwd::telemetry::metric::SINK_DUPLICATES.get(["es_once"]),
        100
    );
    es.with(|s| {
        assert_eq!(s.gzip_requests, s.bulk_requests);
        assert!(
            s.items_per_request.iter().all(|n| *n <= 40),
            "{:?}",
            s.items_per_request
        );
    });
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_429s_are_retried_alone_and_bad_items_are_rejected() {
    let es = Es::start(&[]).await;
    es.with(|s| {
        s.item_429 = 5;
        s.poison.insert("items-7".into());
    });
    let sink = start_sink(&es_toml("es_items", &es.url(), "")).await;
    let recs = records("items", 30);
    let mut want = ids(&recs);
    let mut rx = sink.submit(recs).await;
    let ack = ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert_eq!(ack.rejected.len(), 1, "{:?}", ack.rejected);
    assert_eq!(ack.rejected[0].0, 7);
    assert!(
        ack.rejected[0].1.contains("400 document_parsing_exception"),
        "{}",
        ack.rejected[0].1
    );
    want.remove(7);
    assert_once(&stored(&es), &want);
    // The first five items got 429: only they were sent again.
    assert_eq!(es.with(|s| s.items_per_request.clone()), vec![30, 5]);
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_down_and_slow_receiver_loses_nothing() {
    let es = Es::start(&[]).await;
    es.with(|s| s.http_429 = 3);
    let sink = start_sink(&es_toml(
        "es_faults",
        &es.url(),
        "request_timeout = \"400ms\"\n",
    ))
    .await;
    let a = records("fa", 20);
    let mut ra = sink.submit(a.clone()).await;
    ack_within(&mut ra, Duration::from_secs(10))
        .await
        .expect("acked after 429s");
    es.front.down().await;
    let b = records("fb", 20);
    let mut rb = sink.submit(b.clone()).await;
    assert!(ack_within(&mut rb, Duration::from_secs(1)).await.is_none());
    // Back, but slower than the request timeout for a while: timeouts, then success. A
    // request that timed out but was applied is a 409 on the re-send: still once.
    es.with(|s| s.delay = Duration::from_millis(700));
    es.front.up().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    es.with(|s| s.delay = Duration::ZERO);
    ack_within(&mut rb, Duration::from_secs(10))
        .await
        .expect("acked once reachable");
    let want: Vec<String> = ids(&a).into_iter().chain(ids(&b)).collect();
    assert_once(&stored(&es), &want);
    assert!(o365fwd::telemetry::metric::SINK_RETRIES.get(["es_faults", "busy"]) >= 3);
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_stop_the_sink() {
    let es = Es::start(&["ApiKey other"]).await;
    let sink = start_sink(&es_toml("es_auth", &es.url(), "")).await;
    let mut rx = sink.submit(records("auth", 3)).await;
    assert!(ack_within(&mut rx, Duration::from_secs(2)).await.is_none());
    assert_eq!(sink.stopped(), 1);
    assert_eq!(
        es.with(|s| s.bulk_requests),
        0,
        "the health check caught it"
    );
    sink.abort().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_stream_without_timestamp_is_rejected_per_item_not_dropped() {
    // Raw records into a data stream are refused by config; with an index that the
    // receiver treats as a data stream they fail per item, and each is reported.
    let es = Es::start(&[]).await;
    let toml = format!(
        "[sinks.es_ds]\ntype = \"elasticsearch\"\nendpoint = \"{}\"\nindex = \"logs-o365.audit-raw\"\nformat = \"raw\"\nbatch_timeout = \"10ms\"\n",
        es.url()
    );
    let sink = start_sink(&toml).await;
    let mut rx = sink.submit(records("ds", 4)).await;
    let ack = ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert_eq!(ack.rejected.len(), 4);
    assert!(
        ack.rejected[0].1.contains("@timestamp"),
        "{}",
        ack.rejected[0].1
    );
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_mode_sends_what_elastic_agent_sends() {
    // The o365 integration's assets read `o365audit` (the record as an object), take
    // @timestamp from it, name the tenant from `_conf.tenants`, and run the named pipeline.
    let es = Es::start(&[]).await;
    let toml = format!(
        "[sinks.es_int]\ntype = \"elasticsearch\"\nendpoint = \"{}\"\nintegration = true\nnamespace = \"prod\"\n\
         pipeline = \"logs-o365.audit-custom\"\nbatch_timeout = \"10ms\"\n",
        es.url()
    );
    let sink = start_sink(&toml).await;
    let recs = records("int", 12);
    let want = ids(&recs);
    let mut rx = sink.submit(recs.clone()).await;
    let ack = ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert!(ack.rejected.is_empty(), "{:?}", ack.rejected);
    let docs = es.docs("logs-o365.audit-prod");
    let got: std::collections::BTreeMap<String, usize> =
        docs.keys().map(|k| (k.clone(), 1)).collect();
    assert_once(&got, &want);
    for r in &recs {
        let d = &docs[r.id()];
        let original: serde_json::Value = serde_json::from_str(r.raw.get()).unwrap();
        assert_eq!(d["o365audit"], original, "the record itself, as an object");
        assert_eq!(
            d["@timestamp"].as_str().unwrap(),
            format!("{}.000Z", original["CreationTime"].as_str().unwrap())
        );
        assert_eq!(
            d["data_stream"],
            serde_json::json!({"type":"logs","dataset":"o365.audit","namespace":"prod"})
        );
        assert_eq!(d["event"]["dataset"], "o365.audit");
        assert_eq!(d["input"]["type"], "cel");
        assert_eq!(
            d["_conf"]["tenants"][crate::http::GUID.to_ascii_lowercase()],
            "t"
        );
        assert!(
            d.get("tags").is_none(),
            "no preserve_original_event unless asked"
        );
        assert!(d["event"].get("original").is_none());
    }
    es.with(|s| {
        assert_eq!(s.pipelines.len(), 12);
        assert!(s.pipelines.values().all(|p| p == "logs-o365.audit-custom"));
    });
    // A re-send is a duplicate, counted as delivered.
    let mut rx = sink.submit(recs).await;
    let ack = ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert!(ack.rejected.is_empty());
    assert_eq!(es.docs("logs-o365.audit-prod").len(), 12);
    sink.close().await;
}
