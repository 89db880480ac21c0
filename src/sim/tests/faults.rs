//! Throttling, transient errors, malformed blobs and hostile URIs.

use std::time::Duration;

use super::{Client, PUBLISHER, start, whole_window};
use crate::record::{ContentType, parse_blob};
use crate::sim::SimConfig;

#[tokio::test]
async fn throttle_every_nth_with_retry_after_punishes_impatience() {
    let cfg = SimConfig {
        throttle_every: Some(3),
        throttle_status: 403,
        retry_after: Some(Duration::from_secs(2)),
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let (s, e) = whole_window(&h);
    let url = c.content_url(ContentType::General, &s, &e);
    assert_eq!(c.get(&url).await.status, 200);
    assert_eq!(c.get(&url).await.status, 200);
    let r = c.get(&url).await;
    assert_eq!((r.status, r.code().as_deref()), (403, Some("AF429")));
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert_eq!(
        msg,
        format!("Too many requests. Method=GetContents, PublisherId={PUBLISHER}")
    );
    let r = c.get(&url).await;
    assert_eq!(
        r.status, 403,
        "retrying before Retry-After elapsed is throttled again"
    );
    h.advance(Duration::from_secs(2));
    assert_eq!(c.get(&url).await.status, 200, "after waiting, served again");
    let log = h.requests();
    let throttled: Vec<_> = log
        .iter()
        .filter(|l| l.error_code.as_deref() == Some("AF429"))
        .collect();
    assert_eq!(throttled.len(), 2);
    assert_eq!(throttled[0].retry_after, Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn requests_per_minute_sliding_window() {
    let cfg = SimConfig {
        requests_per_minute: Some(5),
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let list = format!("{}/subscriptions/list", c.root());
    for _ in 0..5 {
        assert_eq!(c.get(&list).await.status, 200);
    }
    let r = c.get(&list).await;
    assert_eq!((r.status, r.code().as_deref()), (429, Some("AF429")));
    assert!(
        r.header("retry-after").is_none(),
        "no Retry-After unless configured"
    );
    assert!(
        r.body
            .contains("PublisherId=00000000-0000-0000-0000-000000000000")
    );
    h.advance(Duration::from_secs(61));
    assert_eq!(c.get(&list).await.status, 200);
}

#[tokio::test]
async fn injected_server_errors() {
    let cfg = SimConfig {
        error_rate: 1.0,
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let list = format!("{}/subscriptions/list", c.root());
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let r = c.get(&list).await;
        if r.status == 500 {
            assert_eq!(r.code().as_deref(), Some("AF50000"));
        }
        seen.insert(r.status);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![500, 503]);
}

#[tokio::test]
async fn malformed_blobs_heal_after_n_fetches() {
    let cfg = SimConfig {
        malformed_rate: 1.0,
        malformed_heal_after: Some(2),
        content_types: vec![ContentType::SharePoint],
        ..SimConfig::default()
    };
    let h = start(cfg.clone()).await;
    let c = Client::new(&h, 0).await;
    let (s, e) = whole_window(&h);
    let (entries, _) = c.list_all(ContentType::SharePoint, &s, &e).await;
    let mut kinds = std::collections::BTreeSet::new();
    for entry in entries.iter().take(8) {
        let uri = entry["contentUri"].as_str().unwrap();
        let cid = entry["contentId"].as_str().unwrap();
        for n in 1..=2 {
            let r = c.get(uri).await;
            assert_eq!(r.status, 200);
            assert!(
                parse_blob(cid, r.body.as_bytes()).is_err(),
                "fetch {n} is broken"
            );
            kinds.insert(r.header("content-type").unwrap());
        }
        let r = c.get(uri).await;
        assert!(
            parse_blob(cid, r.body.as_bytes()).is_ok(),
            "healed on the third fetch"
        );
        assert_eq!(h.fetch_count(&c.tenant, cid), 3);
    }
    assert_eq!(kinds.len(), 2, "truncated JSON and HTML pages: {kinds:?}");
    assert!(
        h.unreachable_content_ids(&c.tenant, ContentType::SharePoint)
            .is_empty()
    );

    let never = start(SimConfig {
        malformed_heal_after: None,
        ..cfg
    })
    .await;
    let t = &never.config().tenants[0].tenant_id;
    assert!(
        never.expected_ids(t, ContentType::SharePoint).is_empty(),
        "never-healing blobs are undeliverable"
    );
    assert_eq!(
        never
            .unreachable_content_ids(t, ContentType::SharePoint)
            .len(),
        60
    );
}

#[tokio::test]
async fn hostile_uris_point_at_the_evil_host() {
    let cfg = SimConfig {
        hostile_next_page: true,
        hostile_content_uri_rate: 0.3,
        page_size: 10,
        content_types: vec![ContentType::AzureActiveDirectory],
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let (s, e) = whole_window(&h);
    let url = c.content_url(ContentType::AzureActiveDirectory, &s, &e);
    let first = c.get(&url).await;
    let next = first.header("NextPageUri").unwrap();
    assert!(next.starts_with(&h.evil_base_url()), "{next}");
    let again = c.get(&url).await.header("NextPageUri").unwrap();
    assert!(again.starts_with(&c.base), "hostile only once per feed");

    let (entries, _) = c.list_all(ContentType::AzureActiveDirectory, &s, &e).await;
    let hostile: Vec<&str> = entries
        .iter()
        .filter(|e| {
            e["contentUri"]
                .as_str()
                .unwrap()
                .starts_with(&h.evil_base_url())
        })
        .map(|e| e["contentId"].as_str().unwrap())
        .collect();
    assert!(hostile.len() > 5 && hostile.len() < 40, "{}", hostile.len());
    let unreachable = h.unreachable_content_ids(&c.tenant, ContentType::AzureActiveDirectory);
    assert_eq!(unreachable, hostile.iter().map(|s| s.to_string()).collect());

    // A careful client follows without the token; a careless one leaks it. The log tells.
    c.http.get(&next).send().await.unwrap();
    c.get(&next).await;
    let evil = h.evil_requests();
    assert_eq!(evil.len(), 2);
    assert!(!evil[0].had_authorization && evil[1].had_authorization);
    assert!(evil[0].path.ends_with("/subscriptions/content"));
    assert!(h.requests().iter().all(|l| !l.path.is_empty()));
}
