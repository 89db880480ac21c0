//! Listing, paging, blobs and the ground truth.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value;

use super::{Client, start, whole_window};
use crate::record::{ContentType, parse_blob};
use crate::sim::{SimConfig, write_ndjson};

fn fmt(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[tokio::test]
async fn window_validation() {
    let h = start(SimConfig::default()).await;
    let c = Client::new(&h, 0).await;
    let now = h.now();
    let hours = |n: i64| now - chrono::Duration::hours(n);
    let cr = &c;
    let code = |s: String, e: String| {
        let url = cr.content_url(ContentType::Exchange, &s, &e);
        async move { cr.get(&url).await.code() }
    };
    assert_eq!(
        code(fmt(hours(25)), fmt(hours(0))).await.as_deref(),
        Some("AF20030")
    );
    assert_eq!(
        code(fmt(hours(1)), fmt(hours(2))).await.as_deref(),
        Some("AF20055")
    );
    assert_eq!(
        code(fmt(hours(24 * 7 + 2)), fmt(hours(24 * 7)))
            .await
            .as_deref(),
        Some("AF20030")
    );
    assert_eq!(
        code(fmt(hours(24 * 7)), fmt(hours(24 * 6 + 1))).await,
        None,
        "7 days back is fine"
    );
    let z = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    assert_eq!(
        code(z(hours(2)), z(hours(0))).await,
        None,
        "Z and fractional seconds"
    );
    let only_start = format!(
        "{}/subscriptions/content?contentType=Audit.Exchange&startTime={}",
        c.root(),
        fmt(hours(1))
    );
    assert_eq!(c.get(&only_start).await.code().as_deref(), Some("AF20030"));
    let none = c
        .get(&format!(
            "{}/subscriptions/content?contentType=Audit.Exchange",
            c.root()
        ))
        .await;
    assert_eq!(none.status, 200, "no window = the last 24 hours");
    assert_eq!(none.json().as_array().unwrap().len(), 60);
}

#[tokio::test]
async fn paging_with_tiny_pages_collects_exactly_the_window() {
    let cfg = SimConfig {
        page_size: 3,
        backlog: Duration::from_secs(4 * 3600),
        content_types: vec![ContentType::SharePoint],
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let now = h.now();
    let (s, e) = (
        now - chrono::Duration::minutes(150),
        now - chrono::Duration::minutes(30),
    );
    let (entries, links) = c.list_all(ContentType::SharePoint, &fmt(s), &fmt(e)).await;
    assert_eq!(entries.len(), 120, "one blob a minute for two hours");
    assert_eq!(links.len(), 39);
    let ids: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["contentId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), entries.len(), "no entry twice");
    let mut created = Vec::new();
    for entry in &entries {
        let cc = entry["contentCreated"].as_str().unwrap();
        assert!(cc.ends_with('Z') && cc.len() == 24, "{cc}");
        let t = chrono::DateTime::parse_from_rfc3339(cc).unwrap();
        assert!(t >= s && t < e);
        assert_eq!(
            e_time(&entry["contentExpiration"]) - t,
            chrono::Duration::days(7)
        );
        created.push(t);
        let id = entry["contentId"].as_str().unwrap();
        assert!(id.contains("$audit_sharepoint$Audit_SharePoint$"), "{id}");
        assert_eq!(
            entry["contentUri"].as_str().unwrap(),
            format!("{}/audit/{id}", c.root())
        );
    }
    assert!(
        created.windows(2).any(|w| w[0] > w[1]),
        "entries are shuffled within pages"
    );
    assert!(
        links
            .iter()
            .all(|l| l.contains("/api/v1/") && l.contains("nextPage="))
    );
    assert!(
        links.iter().any(|l| l.contains("&endtime=")),
        "sometimes lower-cased"
    );
    assert!(links.iter().any(|l| l.contains("&endTime=")));
    let listed: BTreeSet<String> = h
        .listed_content_ids(
            "41463f53-8812-40f4-890f-865bf6e35190",
            ContentType::SharePoint,
        )
        .into_iter()
        .collect();
    assert!(ids.iter().all(|id| listed.contains(*id)));

    let bad = format!(
        "{}&nextPage=2025010100R0000000001123456",
        c.content_url(ContentType::SharePoint, &fmt(s), &fmt(e))
    );
    assert_eq!(c.get(&bad).await.code().as_deref(), Some("AF20031"));
    // A page token is bound to its window.
    let other = links[0].replace(
        &fmt(s).replace(':', "%3A"),
        &fmt(s + chrono::Duration::minutes(1)).replace(':', "%3A"),
    );
    assert_ne!(other, links[0]);
    assert_eq!(c.get(&other).await.code().as_deref(), Some("AF20031"));
}

fn e_time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap()
}

/// Fetches every listed blob; returns id → raw JSON, all records in order, and blob bodies.
async fn fetch_all(
    c: &Client,
    entries: &[Value],
) -> (HashMap<String, String>, Vec<(String, String)>) {
    let mut by_id = HashMap::new();
    let mut all = Vec::new();
    for e in entries {
        let r = c.get(e["contentUri"].as_str().unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let cid = e["contentId"].as_str().unwrap();
        for rec in parse_blob(cid, r.body.as_bytes()).unwrap() {
            let raw = rec.raw.get().to_string();
            if let Some(prev) = by_id.insert(rec.id().to_string(), raw.clone()) {
                assert_eq!(prev, raw, "a duplicate record has the same JSON");
            }
            all.push((cid.to_string(), raw));
        }
    }
    (by_id, all)
}

#[tokio::test]
async fn ground_truth_duplicates_and_split_records() {
    let cfg = SimConfig {
        duplicate_rate: 0.3,
        backlog: Duration::from_secs(3 * 3600),
        records_per_blob: (2, 12),
        content_types: vec![ContentType::General, ContentType::AzureActiveDirectory],
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let (s, e) = whole_window(&h);
    let tenant = c.tenant.clone();
    for ct in [ContentType::General, ContentType::AzureActiveDirectory] {
        let (entries, _) = c.list_all(ct, &s, &e).await;
        assert_eq!(entries.len(), 180);
        let (by_id, all) = fetch_all(&c, &entries).await;
        let fetched: BTreeSet<String> = by_id.keys().cloned().collect();
        assert_eq!(
            fetched,
            h.expected_ids(&tenant, ct),
            "{ct}: ground truth = union of blobs"
        );
        assert!(
            all.len() > fetched.len() + 20,
            "{ct}: duplicates across blobs"
        );
        if ct != ContentType::General {
            continue;
        }
        // Split rows: several records (distinct Ids) share CorrelationId, some across blobs.
        let mut groups: HashMap<String, Vec<(String, Value)>> = HashMap::new();
        for (cid, raw) in &all {
            let v: Value = serde_json::from_str(raw).unwrap();
            if v["Workload"] == "CRM" {
                assert_eq!(v["RecordType"], 21);
                groups
                    .entry(v["CorrelationId"].as_str().unwrap().to_string())
                    .or_default()
                    .push((cid.clone(), v));
            }
        }
        let split: Vec<_> = groups
            .values()
            .filter(|g| {
                g.iter()
                    .map(|(_, v)| v["Id"].as_str().unwrap())
                    .collect::<BTreeSet<_>>()
                    .len()
                    > 1
            })
            .collect();
        assert!(split.len() > 5, "split groups: {}", split.len());
        assert!(split.iter().all(|g| g.iter().all(|(_, v)| {
            let op = v["Operation"].as_str().unwrap();
            op == "RetrieveMultiple" || op == "ExportToExcel"
        })));
        assert!(
            split
                .iter()
                .any(|g| g.iter().map(|(c, _)| c).collect::<BTreeSet<_>>().len() > 1),
            "a split crossing blobs"
        );
        let unknown = groups.values().flatten().any(|(_, v)| {
            v["EntityName"] == "Unknown" && v["EntityId"] == "00000000-0000-0000-0000-000000000000"
        });
        assert!(unknown, "Unknown entity with the zero GUID");
        let masked = all.iter().any(|(_, raw)| raw.contains(r#""Value":"*""#));
        assert!(masked, "column-secured values are masked");
    }
    let from = h.now() - chrono::Duration::hours(1);
    let part = h.expected_ids_between(&tenant, ContentType::General, from, h.now());
    let whole = h.expected_ids(&tenant, ContentType::General);
    assert!(!part.is_empty() && part.len() < whole.len() / 2);
}

#[tokio::test]
async fn late_blobs_appear_only_later() {
    let cfg = SimConfig {
        late_rate: 0.5,
        late_by: Duration::from_secs(30 * 60),
        content_types: vec![ContentType::Exchange],
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let tenant = c.tenant.clone();
    let (s, e) = whole_window(&h);
    let (before, _) = c.list_all(ContentType::Exchange, &s, &e).await;
    let ids_before = h.expected_ids(&tenant, ContentType::Exchange);
    assert!(before.len() < 60 && before.len() > 20, "{}", before.len());
    h.advance(Duration::from_secs(31 * 60));
    let (after, _) = c.list_all(ContentType::Exchange, &s, &e).await;
    assert_eq!(after.len(), 60, "every late blob is listed by now");
    let ids_after = h.expected_ids(&tenant, ContentType::Exchange);
    assert!(ids_before.is_subset(&ids_after) && ids_after.len() > ids_before.len());
    let old: BTreeSet<&str> = before
        .iter()
        .map(|e| e["contentId"].as_str().unwrap())
        .collect();
    let newly: Vec<&Value> = after
        .iter()
        .filter(|e| !old.contains(e["contentId"].as_str().unwrap()))
        .collect();
    // The late ones keep their original contentCreated, so they land in windows already read.
    assert!(newly.iter().any(|e| e_time(&e["contentCreated"])
        < e_time(&before[0]["contentCreated"]) + chrono::Duration::minutes(30)));
}

#[tokio::test]
async fn blob_errors_expiry_and_lenient_paths() {
    let cfg = SimConfig {
        backlog: Duration::from_secs(8 * 24 * 3600),
        blob_interval: Duration::from_secs(3600),
        content_types: vec![ContentType::DlpAll],
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let m = &h.shared.model;
    let f = m.feed(0, ContentType::DlpAll).unwrap();
    let expired = m.content_id(&f, 0);
    let r = c.get(&format!("{}/audit/{expired}", c.root())).await;
    assert_eq!(r.code().as_deref(), Some("AF20051"));
    assert!(
        !h.listed_content_ids(&c.tenant, ContentType::DlpAll)
            .contains(&expired),
        "expired blobs are not listed"
    );
    let live = m.content_id(&f, 8 * 24 - 2);
    let r = c.get(&format!("{}/audit/{live}", c.root())).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let mut forged = live.clone().into_bytes();
    forged[40] = if forged[40] == b'9' { b'8' } else { b'9' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(
        c.get(&format!("{}/audit/{forged}", c.root()))
            .await
            .code()
            .as_deref(),
        Some("AF20050")
    );
    assert_eq!(
        c.get(&format!("{}/audit/not-an-id", c.root()))
            .await
            .code()
            .as_deref(),
        Some("AF20052")
    );
    let shouty = format!(
        "{}/API/v1/{}/Activity/Feed/Audit/{}?publisheridentifier=x",
        c.base,
        c.tenant.to_uppercase(),
        live.replace('$', "%24")
    );
    let r2 = c.get(&shouty).await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert_eq!(r2.body, r.body, "blobs are immutable");
    assert_eq!(h.fetch_count(&c.tenant, &live), 2);
    assert_eq!(
        h.requests().last().unwrap().publisher_identifier.as_deref(),
        Some("x")
    );
    let dlp = c
        .get(&format!("{}/resources/dlpSensitiveTypes", c.root()))
        .await;
    assert_eq!(dlp.json()[0]["name"], "CreditCardNumber");
}

#[tokio::test]
async fn same_seed_same_records() {
    let cfg = SimConfig {
        duplicate_rate: 0.2,
        ..SimConfig::default()
    };
    let a = start(cfg.clone()).await;
    let b = start(cfg.clone()).await;
    let c = start(SimConfig { seed: 2, ..cfg }).await;
    let t = a.config().tenants[0].tenant_id.clone();
    for ct in ContentType::ALL {
        let ids = a.expected_ids(&t, ct);
        assert!(ids.len() > 100, "{ct}");
        assert_eq!(ids, b.expected_ids(&t, ct), "{ct}");
        assert!(
            ids.is_disjoint(&c.expected_ids(&t, ct)),
            "{ct}: another seed, other ids"
        );
    }
}

#[test]
fn ndjson_and_blob_rendering_are_deterministic() {
    let cfg = SimConfig {
        records_per_blob: (100, 100),
        backlog: Duration::from_secs(600),
        ..SimConfig::default()
    };
    let mut out = Vec::new();
    let n = write_ndjson(&cfg, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count() as u64, n);
    assert!(n >= 5 * 9 * 100, "{n}");
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }

    // Rendering the same blob twice gives the same bytes. (Its speed is the benchmarks'
    // business: a time limit here failed on a loaded machine, load average 13.)
    let m = crate::sim::model::Model::new(&cfg, chrono::Utc::now().timestamp_millis());
    let f = m.feed(0, ContentType::General).unwrap();
    let (mut body, mut again) = (String::new(), String::new());
    for i in 0..50 {
        body.clear();
        again.clear();
        m.render_blob(&f, i, &mut body);
        m.render_blob(&f, i, &mut again);
        assert_eq!(body, again);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v.as_array().map(Vec::len), Some(100));
    }
}

#[tokio::test]
async fn live_blobs_keep_coming_and_demo_config_serves_every_tenant() {
    let cfg = SimConfig {
        live: true,
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let t = h.config().tenants[0].tenant_id.clone();
    let before = h.listed_content_ids(&t, ContentType::General).len();
    h.advance(Duration::from_secs(600));
    let after = h.listed_content_ids(&t, ContentType::General).len();
    assert_eq!(after, before + 10, "one new blob per minute");
    let c = Client::new(&h, 0).await;
    let r = c
        .get(&format!(
            "{}/subscriptions/notifications?contentType=Audit.General",
            c.root()
        ))
        .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "[]"),
        "no webhook, no notifications"
    );

    let demo = start(SimConfig::demo()).await;
    assert!(demo.config().live && demo.config().tenants.len() == 3);
    for i in 0..3 {
        let c = Client::new(&demo, i).await;
        let (s, e) = whole_window(&demo);
        let (entries, _) = c.list_all(ContentType::General, &s, &e).await;
        assert!(entries.len() > 200, "tenant {i}: {}", entries.len());
    }
    assert!(
        !format!("{:?}", demo.config()).contains("sim-secret"),
        "Debug redacts secrets"
    );
}

/// The benchmark's peers read what `SimHandle::write_ndjson` writes, and the benchmark waits
/// for `served_records` lines: both must be exactly the records a client can fetch now (a
/// gzip bomb's blob holds none).
#[tokio::test]
async fn handle_ndjson_is_exactly_what_is_served() {
    let cfg = SimConfig {
        records_per_blob: (3, 7),
        backlog: Duration::from_secs(1800),
        blob_interval: Duration::from_secs(120),
        hostile: crate::sim::Hostile {
            gzip_bomb: Some((1, 1 << 20)),
            ..Default::default()
        },
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let mut out = Vec::new();
    let n = h.write_ndjson(&mut out).unwrap();
    assert_eq!(n, h.served_records());
    let text = String::from_utf8(out).unwrap();
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(
            ids.insert(v["Id"].as_str().unwrap().to_string()),
            "no repeats"
        );
    }
    assert_eq!(ids.len() as u64, n);
    let mut want = BTreeSet::new();
    for ct in ContentType::ALL {
        want.extend(h.expected_ids(&h.config().tenants[0].tenant_id, ct));
    }
    assert_eq!(ids, want);
}
