//! Listings: entries the agent cannot use, and listings of any length.

use std::time::Duration;

use o365fwd::record::ContentType;

use super::{counter, eventually, finish, free_port, lines_with};
use crate::harness::{Env, sim_config, tail, tenant};

const GENERAL: ContentType = ContentType::General;

/// One entry with `contentExpiration: "not-a-date"` failed every poll of its feed, so the
/// valid blobs listed beside it were never delivered. Now each unusable entry (a bad date,
/// no id, a URI that is not one, not an object) is skipped, named in the log with its
/// reason, counted, recorded in state, and everything else is delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_listing_entries_are_skipped_named_and_recorded() {
    let mut sim = sim_config(2, &[GENERAL]);
    sim.hostile.bad_entries = true;
    let port = free_port();
    let env = Env::start(sim, &format!("listen = \"127.0.0.1:{port}\"")).await;
    let want = env.expected();
    let agent = env.spawn();
    super::await_delivery(&env, &want).await;
    // bad date, no id, bad URI, not an object: each once, however often it is listed.
    let skipped = eventually(Duration::from_secs(20), || async {
        counter(
            port,
            "o365fwd_listing_entries_skipped_total",
            "tenant=\"t0\"",
        )
        .await
            == 4
    })
    .await;
    assert!(
        skipped,
        "{}",
        counter(port, "o365fwd_listing_entries_skipped_total", "").await
    );
    // The entry on another host is refused when fetched, as before.
    assert!(counter(port, "o365fwd_uris_refused_total", "tenant=\"t0\"").await >= 1);
    assert!(env.sim.evil_requests().is_empty());
    let log = env.log();
    for (id, reason) in [
        (
            "bad-date-Audit.General",
            "contentExpiration \\\"not-a-date\\\" is not a date",
        ),
        ("unidentified-", "contentId is missing"),
        ("bad-uri-Audit.General", "is not a URL"),
        ("unidentified-", "not a JSON object"),
    ] {
        assert!(
            !lines_with(&log, &["cannot be used", id, reason]).is_empty(),
            "{id}: {reason}:\n{}",
            tail(&log, 30)
        );
    }
    finish(&env, agent);
    env.assert_exactly_once(&want);
    let state = env.state_json();
    let t0 = state
        .iter()
        .find(|f| {
            f["feed"]
                .as_str()
                .unwrap()
                .starts_with(&tenant(1).tenant_id)
        })
        .unwrap();
    let failed: Vec<(&str, &str)> = t0["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap(), f[1]["error"].as_str().unwrap()))
        .collect();
    assert!(
        failed.iter().any(|(id, e)| *id == "bad-date-Audit.General"
            && e.starts_with("bad listing entry: contentExpiration")),
        "{failed:?}"
    );
    assert!(failed.iter().any(|(id, _)| *id == "bad-uri-Audit.General"));
    assert_eq!(
        failed
            .iter()
            .filter(|(id, _)| id.starts_with("unidentified-"))
            .count(),
        2,
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|(id, _)| *id == "evil-host-Audit.General")
    );
}

/// A listing of many entries was collected whole before any blob was fetched (395 MB for a
/// million). Now it is read and delivered page by page: 200,000 entries (one blob listed
/// over and over) leave the agent's peak memory where a short listing does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_listing_is_processed_page_by_page() {
    let mut sim = sim_config(1, &[GENERAL]);
    sim.hostile.repeat_listing = 200_000;
    sim.page_size = 1000;
    let port = free_port();
    let env = Env::start(sim, &format!("listen = \"127.0.0.1:{port}\"")).await;
    let want = env.expected();
    let agent = env.spawn();
    super::await_delivery(&env, &want).await;
    // The whole listing was read: a poll finished.
    assert!(
        eventually(Duration::from_secs(120), || async {
            counter(port, "o365fwd_polls_total", "").await >= 1
        })
        .await,
        "{}",
        tail(&env.log(), 30)
    );
    let pages = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.query.contains("nextPage"))
        .count();
    assert!(pages >= 200, "{pages} pages followed");
    finish(&env, agent);
    env.assert_exactly_once(&want);
}
