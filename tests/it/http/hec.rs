//! `splunk_hec` against the HEC receiver: delivery, indexer ack, busy, throttling, partial
//! failures, bad token, receiver down.

use std::time::{Duration, Instant};

use super::*;
use crate::receivers::hec::{Hec, Token};

const TOKEN: &str = "11111111-2222-3333-4444-555555555555";

fn hec_toml(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[sinks.{name}]\ntype = \"splunk_hec\"\nendpoint = \"{url}\"\ntoken = \"{TOKEN}\"\nindex = \"o365\"\n\
         batch_timeout = \"50ms\"\nretry_max_backoff = \"300ms\"\nrequest_timeout = \"5s\"\n{extra}"
    )
}

async fn receiver(ack: bool) -> Hec {
    Hec::start(&[(
        TOKEN,
        Token {
            ack,
            ..Token::default()
        },
    )])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_every_record_once_gzipped_with_the_add_on_sourcetype() {
    let hec = receiver(false).await;
    let sink = start_sink(&hec_toml(
        "hec_plain",
        &hec.url(),
        "batch_max_events = 30\n",
    ))
    .await;
    let (a, b) = (records("p1", 70), records("p2", 5));
    let want: Vec<String> = ids(&a).into_iter().chain(ids(&b)).collect();
    let mut ra = sink.submit(a).await;
    let mut rb = sink.submit(b).await;
    let acka = ack_within(&mut ra, Duration::from_secs(10))
        .await
        .expect("acked");
    let ackb = ack_within(&mut rb, Duration::from_secs(10))
        .await
        .expect("acked");
    assert!(acka.rejected.is_empty() && ackb.rejected.is_empty());
    assert_once(&hec.ids(), &want);
    hec.with(|s| {
        assert!(
            s.event_requests >= 3,
            "70 records in batches of 30: {}",
            s.event_requests
        );
        assert_eq!(s.gzip_requests, s.event_requests, "every body gzipped");
        let e = s
            .indexed
            .iter()
            .find(|e| e["event"]["Id"] == "p1-20")
            .unwrap();
        assert_eq!(e["sourcetype"], "o365:management:activity");
        assert_eq!(e["index"], "o365");
        // CreationTime 2024-06-10T06:13:20 (UTC, no zone in the API) as epoch seconds.
        assert_eq!(e["time"].as_f64(), Some(1718000000.0));
        assert_eq!(e["event"]["Operation"], "UserLoggedIn");
        // One channel for the sink instance, sent on every request.
        let first = &s.channels_seen[0];
        assert!(s.channels_seen.iter().all(|c| c == first));
    });
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_ack_waits_for_indexing_and_resends_what_is_never_acked() {
    let hec = receiver(true).await;
    hec.with(|s| {
        s.ack_delay = Duration::from_millis(600);
        s.lose_next = 1;
    });
    let sink = start_sink(&hec_toml(
        "hec_ack",
        &hec.url(),
        "indexer_ack = true\nack_poll_interval = \"100ms\"\nack_timeout = \"1500ms\"\n",
    ))
    .await;
    let recs = records("ack", 40);
    let want = ids(&recs);
    let t0 = Instant::now();
    let mut rx = sink.submit(recs).await;
    // The 200 came back at once, but nothing is acknowledged before Splunk indexed it: the
    // first request was lost by the indexer, so only the re-send after ack_timeout counts.
    assert!(
        ack_within(&mut rx, Duration::from_millis(1200))
            .await
            .is_none()
    );
    let ack = ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert!(
        t0.elapsed() >= Duration::from_millis(2000),
        "{:?}",
        t0.elapsed()
    );
    assert!(ack.rejected.is_empty());
    assert_once(&hec.ids(), &want);
    assert!(hec.with(|s| s.ack_queries) >= 3);
    assert!(o365fwd::telemetry::metric::HEC_ACK_TIMEOUTS.get(["hec_ack"]) >= 1);
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_and_throttled_receiver_is_retried_without_loss_or_duplicates() {
    let hec = receiver(true).await;
    hec.with(|s| {
        s.busy = 2;
        s.throttle = 2;
        s.ack_delay = Duration::from_millis(50);
    });
    let sink = start_sink(&hec_toml(
        "hec_busy",
        &hec.url(),
        "indexer_ack = true\nack_poll_interval = \"50ms\"\n",
    ))
    .await;
    let recs = records("busy", 25);
    let want = ids(&recs);
    let mut rx = sink.submit(recs).await;
    let ack = ack_within(&mut rx, Duration::from_secs(15))
        .await
        .expect("acked");
    assert!(ack.rejected.is_empty());
    assert_once(&hec.ids(), &want);
    assert!(hec.with(|s| s.event_requests) >= 5);
    // A busy answer that took part of the batch: only the rest is sent again.
    hec.with(|s| s.busy_at = Some(7));
    let recs = records("busy-part", 20);
    let want2 = ids(&recs);
    let mut rx = sink.submit(recs).await;
    ack_within(&mut rx, Duration::from_secs(15))
        .await
        .expect("acked");
    let all: Vec<String> = want.into_iter().chain(want2).collect();
    assert_once(&hec.ids(), &all);
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failure_rejects_the_bad_event_and_resends_only_the_rest() {
    let hec = receiver(false).await;
    hec.with(|s| s.fail_event_at = Some(5));
    let sink = start_sink(&hec_toml("hec_partial", &hec.url(), "")).await;
    let recs = records("part", 20);
    let mut want = ids(&recs);
    let mut rx = sink.submit(recs).await;
    let ack = ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    assert_eq!(ack.rejected.len(), 1, "{:?}", ack.rejected);
    assert_eq!(ack.rejected[0].0, 5);
    assert!(
        ack.rejected[0].1.contains("code 6"),
        "{}",
        ack.rejected[0].1
    );
    want.remove(5);
    // Events before the bad one were ingested and are not sent twice.
    assert_once(&hec.ids(), &want);
    assert_eq!(hec.with(|s| s.event_requests), 2);
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_token_stops_the_sink_and_acknowledges_nothing() {
    let hec = receiver(false).await;
    let sink = start_sink(&hec_toml("hec_badtok", &hec.url(), "")).await;
    let mut rx = sink.submit(records("ok", 3)).await;
    ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("acked");
    // The token is revoked while running.
    hec.with(|s| s.tokens.clear());
    let mut rx = sink.submit(records("tok", 3)).await;
    assert!(
        ack_within(&mut rx, Duration::from_secs(2)).await.is_none(),
        "never acknowledged"
    );
    assert_eq!(sink.stopped(), 1);
    let requests = hec.with(|s| s.event_requests);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        hec.with(|s| s.event_requests),
        requests,
        "a stopped sink does not hammer the receiver"
    );
    // It still holds the data (the job was not dropped: no ack error either way), and a hard
    // stop ends it.
    sink.abort().await;
    assert!(matches!(
        rx.try_recv(),
        Err(oneshot::error::TryRecvError::Closed)
    ));

    // A token already bad at start is caught by the health check, before any data is sent.
    let sink = start_sink(&hec_toml("hec_badtok2", &hec.url(), "")).await;
    let mut rx = sink.submit(records("tok2", 3)).await;
    assert!(ack_within(&mut rx, Duration::from_secs(2)).await.is_none());
    assert_eq!(sink.stopped(), 1);
    assert_eq!(hec.with(|s| s.event_requests), requests);
    sink.abort().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_then_slow_stalls_then_delivers_everything() {
    let hec = receiver(true).await;
    hec.front.down().await;
    let sink = start_sink(&hec_toml(
        "hec_down",
        &hec.url(),
        "indexer_ack = true\nack_poll_interval = \"50ms\"\n",
    ))
    .await;
    let recs = records("down", 30);
    let want = ids(&recs);
    let mut rx = sink.submit(recs).await;
    assert!(
        ack_within(&mut rx, Duration::from_secs(2)).await.is_none(),
        "nothing acked while down"
    );
    hec.with(|s| s.delay = Duration::from_millis(300));
    hec.front.up().await;
    let ack = ack_within(&mut rx, Duration::from_secs(15))
        .await
        .expect("acked once up");
    assert!(ack.rejected.is_empty());
    assert_once(&hec.ids(), &want);
    assert!(o365fwd::telemetry::metric::SINK_RETRIES.get(["hec_down", "transport"]) >= 1);
    sink.close().await;
}
