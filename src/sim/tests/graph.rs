//! The Graph audit search of the simulator, over HTTP: the query's life, paging, the same
//! records as the Management API, history beyond 7 days, and its faults.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Client, Resp, start};
use crate::record::ContentType;
use crate::sim::{SimConfig, SimHandle};

const GRAPH: &str = "https://graph.microsoft.com/.default";

fn cfg() -> SimConfig {
    SimConfig {
        content_types: vec![ContentType::General, ContentType::Exchange],
        backlog: Duration::from_secs(20 * 86_400),
        blob_interval: Duration::from_secs(3600),
        records_per_blob: (2, 6),
        ..SimConfig::default()
    }
}

fn queries(c: &Client) -> String {
    format!("{}/v1.0/security/auditLog/queries", c.base)
}

async fn create(c: &Client, from: &str, to: &str, extra: Value) -> Resp {
    let mut body =
        json!({"displayName": "t", "filterStartDateTime": from, "filterEndDateTime": to});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let req = c
        .http
        .post(queries(c))
        .header("content-type", "application/json")
        .body(body.to_string());
    c.send(req).await
}

/// Every record of a finished query, following `@odata.nextLink`; (records, pages).
async fn all_records(h: &SimHandle, c: &Client, id: &str) -> (Vec<Value>, usize) {
    let mut url = format!("{}/{id}/records", queries(c));
    let (mut out, mut pages) = (Vec::new(), 0);
    loop {
        let mut r = c.get(&url).await;
        while r.status == 429 {
            h.advance(Duration::from_secs(2));
            r = c.get(&url).await;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        pages += 1;
        out.extend(v["value"].as_array().unwrap().iter().cloned());
        match v["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => return (out, pages),
        }
    }
}

fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[tokio::test]
async fn a_query_runs_then_pages_the_same_records_as_the_management_api() {
    let h = start(cfg()).await;
    let c = Client::with_scope(&h, 0, GRAPH).await;
    let now = h.now();
    let (from, to) = (
        now - chrono::Duration::days(15),
        now - chrono::Duration::days(5),
    );
    let r = create(&c, &stamp(from), &stamp(to), json!({})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let q = r.json();
    assert_eq!(q["status"], "notStarted");
    let id = q["id"].as_str().unwrap().to_string();
    let early = c.get(&format!("{}/{id}/records", queries(&c))).await;
    assert_eq!(early.status, 400, "no records before the query has run");
    h.advance(Duration::from_secs(3));
    assert_eq!(
        c.get(&format!("{}/{id}", queries(&c))).await.json()["status"],
        "running"
    );
    h.advance(Duration::from_secs(5));
    let done = c.get(&format!("{}/{id}", queries(&c))).await.json();
    assert_eq!(done["status"], "succeeded");
    let (records, pages) = all_records(&h, &c, &id).await;
    assert!(pages > 1, "paged");
    assert_eq!(done["approximateReturnedRecordCount"], records.len());
    assert_eq!(done["isRecordCountLimitExceeded"], false);
    let ids: BTreeSet<String> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), records.len(), "each record once");
    assert_eq!(ids, h.graph_expected_ids(&c.tenant, from, to));
    for r in &records {
        let t = r["createdDateTime"].as_str().unwrap();
        assert!(t >= stamp(from).as_str() && t < stamp(to).as_str(), "{t}");
        assert_eq!(
            r["auditData"]["@odata.type"],
            "#microsoft.graph.security.auditData"
        );
        assert_eq!(r["auditData"]["Id"], r["id"]);
    }
    // Records the Management API still serves (its last 7 days) are the same JSON.
    let (lo, hi) = (
        now - chrono::Duration::days(6),
        now - chrono::Duration::hours(3),
    );
    let q = create(
        &c,
        &stamp(lo),
        &stamp(hi),
        json!({"recordTypeFilters": ["crm"]}),
    )
    .await
    .json();
    h.advance(Duration::from_secs(10));
    let (crm, _) = all_records(&h, &c, q["id"].as_str().unwrap()).await;
    let live = h.expected_records(&c.tenant, ContentType::General);
    assert!(crm.len() > 20, "{}", crm.len());
    let mut compared = 0;
    for r in &crm {
        assert_eq!(r["auditLogRecordType"], "crm");
        assert_eq!(r["auditData"]["RecordType"], 21);
        if let Some(text) = live.get(r["id"].as_str().unwrap()) {
            let mut audit = r["auditData"].clone();
            audit.as_object_mut().unwrap().remove("@odata.type");
            assert_eq!(audit, serde_json::from_str::<Value>(text).unwrap());
            compared += 1;
        }
    }
    assert!(compared > 10, "{compared}");
    let list = c.get(&queries(&c)).await.json();
    assert_eq!(list["value"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn limits_failures_throttling_and_tokens() {
    let mut cfg = cfg();
    cfg.graph.record_limit = 10;
    cfg.graph.failures = 1;
    cfg.graph.throttle_every = Some(4);
    cfg.graph.retention = Duration::from_secs(10 * 86_400);
    let h = start(cfg).await;
    let c = Client::with_scope(&h, 0, GRAPH).await;
    let now = h.now();
    let day = chrono::Duration::days(1);
    let failed = create(&c, &stamp(now - day * 3), &stamp(now - day * 2), json!({}))
        .await
        .json();
    let big = create(&c, &stamp(now - day * 3), &stamp(now - day), json!({}))
        .await
        .json();
    let old = create(
        &c,
        &stamp(now - day * 15),
        &stamp(now - day * 12),
        json!({}),
    )
    .await;
    assert_eq!(old.status, 201);
    // The fourth request is throttled, and so is every request until Retry-After passes.
    let t = c
        .get(&format!(
            "{}/{}",
            queries(&c),
            failed["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(t.status, 429);
    assert_eq!(t.header("retry-after").as_deref(), Some("1"));
    let again = c.get(&queries(&c)).await;
    assert_eq!(again.status, 429);
    assert_eq!(h.graph_stats().too_early, 1);
    h.advance(Duration::from_secs(10));
    let f = c
        .get(&format!(
            "{}/{}",
            queries(&c),
            failed["id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(f["status"], "failed", "the first query fails");
    let b = c
        .get(&format!("{}/{}", queries(&c), big["id"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(b["status"], "succeeded");
    assert_eq!(b["isRecordCountLimitExceeded"], true);
    assert!(b["approximateReturnedRecordCount"].as_u64().unwrap() > 10);
    let (records, _) = all_records(&h, &c, big["id"].as_str().unwrap()).await;
    assert_eq!(records.len(), 10, "cut at the limit");
    let o = old.json();
    let (gone, _) = all_records(&h, &c, o["id"].as_str().unwrap()).await;
    assert!(gone.is_empty(), "beyond the retention nothing is kept");

    // Tokens are bound to their audience.
    let manage = Client::new(&h, 0).await;
    assert_eq!(manage.get(&queries(&manage)).await.status, 401);
    let r = c
        .get(&format!(
            "{}/subscriptions/list?PublisherIdentifier={}",
            manage.root(),
            super::PUBLISHER
        ))
        .await;
    assert_eq!(
        r.status, 401,
        "a Graph token is no good for the Management API"
    );
    let bad = create(
        &c,
        &stamp(now - day),
        &stamp(now),
        json!({"recordTypeFilters": ["nope"]}),
    )
    .await;
    assert_eq!(
        (bad.status, bad.code().as_deref()),
        (400, Some("BadRequest"))
    );
}
