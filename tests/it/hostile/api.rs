//! Numbers and bodies from the API: a Retry-After and a token lifetime that overflow the
//! clock, a gzip body that inflates without end, a connection cut mid-body.

use std::time::Duration;

use o365fwd::record::ContentType;

use super::{counter, finish, free_port, lines_with};
use crate::harness::{Env, sim_config, tail, tenant};

const GENERAL: ContentType = ContentType::General;

/// `Retry-After: 10000000000000000000` panicked the feed ("overflow when adding duration to
/// instant") and left the process up, the feed dead. Now: clamped to 15 minutes with a
/// warning naming the value, the other tenant delivered meanwhile, a prompt stop, and the
/// paused tenant delivered after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_retry_after_is_clamped_and_the_neighbours_go_on() {
    let mut sim = sim_config(2, &[GENERAL]);
    sim.hostile.retry_after_once = Some("10000000000000000000".into());
    let env = Env::start(sim, "").await;
    let paused = env.sim.expected_ids(&tenant(1).tenant_id, GENERAL);
    let other = env.sim.expected_ids(&tenant(2).tenant_id, GENERAL);
    assert!(!paused.is_empty() && !other.is_empty());
    let agent = env.spawn();
    super::await_delivery(&env, &other).await;
    let log = env.log();
    let warned = lines_with(
        &log,
        &["10000000000000000000", "wait_secs=900", "15 minutes"],
    );
    assert_eq!(
        warned.len(),
        1,
        "one warning with the value received:\n{}",
        tail(&log, 30)
    );
    let got = env.delivered();
    assert!(
        paused.iter().all(|id| !got.contains_key(id)),
        "the throttled tenant waits out its (clamped) pause"
    );
    // The pause does not hold up a stop.
    finish(&env, agent);
    let agent = env.spawn();
    let want = env.expected();
    super::await_delivery(&env, &want).await;
    finish(&env, agent);
    env.assert_exactly_once(&want);
}

/// `expires_in: 18446744073709551615` panicked the same way. Now: the lifetime is clamped
/// to 24 h with a warning, and everything is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_token_lifetime_is_clamped() {
    let mut sim = sim_config(2, &[GENERAL]);
    sim.hostile.token_expires_in = Some("18446744073709551615".into());
    let env = Env::start(sim, "").await;
    let want = env.expected();
    let agent = env.spawn();
    super::await_delivery(&env, &want).await;
    let log = env.log();
    assert!(
        !lines_with(&log, &["expires_in=18446744073709551615", "over 24 hours"]).is_empty(),
        "{}",
        tail(&log, 30)
    );
    finish(&env, agent);
    env.assert_exactly_once(&want);
}

/// A 200-odd KB gzip body inflating to 192 MiB took the agent's memory with it (read whole,
/// no cap on the decoded size). Now: reading stops at `max_blob_bytes`; the blob is
/// recorded as failed with its content id, size and the cap (state, log, /metrics), and
/// every other blob is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_stops_at_the_cap_and_is_recorded() {
    let mut sim = sim_config(1, &[GENERAL]);
    sim.hostile.gzip_bomb = Some((1, 192 << 20));
    let port = free_port();
    let cap = 4 << 20;
    let env = Env::start(
        sim,
        &format!("max_blob_bytes = {cap}\nlisten = \"127.0.0.1:{port}\""),
    )
    .await;
    let t = tenant(1).tenant_id;
    let bomb = env.sim.content_id_at(&t, GENERAL, 1).unwrap();
    let want = env.expected();
    assert!(!want.is_empty());
    assert!(env.sim.unreachable_content_ids(&t, GENERAL).contains(&bomb));
    let agent = env.spawn();
    super::await_delivery(&env, &want).await;
    let counted = super::eventually(Duration::from_secs(20), || async {
        counter(port, "o365fwd_blobs_too_large_total", "tenant=\"t0\"").await == 1
    })
    .await;
    assert!(counted, "o365fwd_blobs_too_large_total is 1");
    let log = env.log();
    let named = lines_with(&log, &[&bomb, &format!("larger than {cap} bytes")]);
    assert!(
        !named.is_empty(),
        "the log names the blob:\n{}",
        tail(&log, 30)
    );
    finish(&env, agent);
    env.assert_exactly_once(&want);
    let state = env.state_json();
    let failed = state[0]["failed"].as_array().unwrap();
    let entry = failed
        .iter()
        .find(|f| f[0] == bomb.as_str())
        .unwrap_or_else(|| panic!("{bomb} not failed in state: {state:?}"));
    assert_eq!(entry[1]["too_large"], cap, "{entry}");
    let error = entry[1]["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "larger than {cap} bytes (more than {cap} bytes decoded)"
        )),
        "{error}"
    );
    // `state show` says what becomes of it.
    let (_, out, _) =
        crate::harness::run_cli(&["state", "show", "--config", env.config.to_str().unwrap()]);
    assert!(out.contains(&format!("FAILED: {bomb}")), "{out}");
    assert!(out.contains("once max_blob_bytes is above"), "{out}");
}

/// The token and listing answers were read whole too: one that inflates without end took
/// the agent's memory with it. Now each stops at its cap (1 MiB for a token, 16 MiB for a
/// listing page): the request fails with the size in the log, the feed's cursor stays, the
/// next poll succeeds, and everything is delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inflating_token_or_listing_answer_stops_at_its_cap() {
    let mut sim = sim_config(2, &[GENERAL]);
    // The size the gzip-bomb test uses: the simulator makes the body once.
    sim.hostile.token_bomb = Some(192 << 20);
    sim.hostile.listing_bomb = Some(192 << 20);
    let env = Env::start(sim, "").await;
    let want = env.expected();
    let agent = env.spawn();
    super::await_delivery(&env, &want).await;
    let log = env.log();
    for what in [
        format!("token response larger than {} bytes", 1 << 20),
        format!("list larger than {} bytes", o365fwd::api::MAX_PAGE_BYTES),
    ] {
        assert_eq!(
            lines_with(&log, &["Poll failed", "tenant=t0", &what]).len(),
            1,
            "{what}:\n{}",
            tail(&log, 30)
        );
    }
    finish(&env, agent);
    env.assert_exactly_once(&want);
}

/// A connection cut in the middle of a blob was retried with a log line that named only
/// the tenant. Now the line names the feed and the content id, and the blob is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_cut_mid_body_is_retried_and_named() {
    let mut sim = sim_config(1, &[GENERAL]);
    sim.hostile.cut_blob = Some(2);
    let env = Env::start(sim, "").await;
    let t = tenant(1).tenant_id;
    let cut = env.sim.content_id_at(&t, GENERAL, 2).unwrap();
    let want = env.expected();
    let agent = env.spawn();
    super::await_delivery(&env, &want).await;
    let log = env.log();
    let feed = format!("{t}/Audit.General");
    let named = lines_with(&log, &["API request failed; retrying", &cut, &feed]);
    assert!(
        !named.is_empty(),
        "the retry names feed and content:\n{}",
        tail(&log, 30)
    );
    assert!(env.sim.fetch_count(&t, &cut) >= 2);
    finish(&env, agent);
    env.assert_exactly_once(&want);
}

/// Every log line about a blob that failed, whatever the cause (a 5xx answer or a cut
/// connection retried by the client, a body that is not a blob retried by the feed, a blob
/// given up on), names the feed and the content id; each blob that never heals is named in
/// the line that gives up on it, and everything else is delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failed_blob_line_names_its_content() {
    let mut sim = sim_config(1, &[GENERAL]);
    sim.error_rate = 0.2;
    sim.malformed_rate = 0.2;
    sim.malformed_heal_after = None;
    let env = Env::start(sim, "blob_attempts = 2").await;
    let t = tenant(1).tenant_id;
    let broken = env.sim.unreachable_content_ids(&t, GENERAL);
    assert!(!broken.is_empty());
    let want = env.expected();
    let agent = env.spawn();
    super::await_delivery(&env, &want).await;
    let gave_up = "A content blob failed";
    let named = super::eventually(Duration::from_secs(30), || async {
        let log = env.log();
        broken
            .iter()
            .all(|id| !lines_with(&log, &[gave_up, id]).is_empty())
    })
    .await;
    let log = env.log();
    assert!(named, "each broken blob named:\n{}", tail(&log, 30));
    let feed = format!("{t}/Audit.General");
    let blob_lines: Vec<&str> = log
        .lines()
        .filter(|l| {
            (l.contains("API request failed; retrying") && l.contains("request=\"blob\""))
                || l.contains("Blob fetch failed; retrying")
                || l.contains(gave_up)
        })
        .collect();
    let retried = lines_with(&log, &["API request failed; retrying", "request=\"blob\""]);
    assert!(
        !retried.is_empty(),
        "a 5xx blob answer was retried:\n{}",
        tail(&log, 30)
    );
    assert!(!lines_with(&log, &["Blob fetch failed; retrying"]).is_empty());
    for l in blob_lines {
        assert!(l.contains("content_id="), "no content id: {l}");
        assert!(
            l.contains(&feed)
                || (l.contains("tenant=t0") && l.contains("content_type=Audit.General")),
            "no feed: {l}"
        );
    }
    finish(&env, agent);
    env.assert_exactly_once(&want);
}
