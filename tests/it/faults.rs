//! The API misbehaving as the real one does: throttling, token expiry, paging, late and
//! malformed content, hostile URIs, missing subscriptions, old content and old cursors.

use std::time::Duration;

use chrono::Utc;
use o365fwd::record::ContentType;

use crate::harness::*;

async fn deliver_all(env: &Env, timeout: Duration) {
    let want = env.expected();
    assert!(!want.is_empty());
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, timeout).await,
        "not everything delivered; log:\n{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    env.assert_exactly_once(&want);
}

fn is_api(path: &str) -> bool {
    path.contains("/activity/feed/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_retry_after_is_honoured() {
    let mut sim = sim_config(1, &[ContentType::General, ContentType::Exchange]);
    sim.throttle_every = Some(9);
    sim.throttle_status = 429;
    sim.retry_after = Some(Duration::from_secs(2));
    let env = Env::start(sim, "").await;
    deliver_all(&env, Duration::from_secs(120)).await;
    let reqs: Vec<_> = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| is_api(&r.path))
        .collect();
    let throttles: Vec<_> = reqs.iter().filter(|r| r.retry_after.is_some()).collect();
    assert!(
        throttles.len() >= 2,
        "the simulator throttled: {}",
        throttles.len()
    );
    for t in &throttles {
        let wait = chrono::Duration::from_std(t.retry_after.unwrap()).unwrap();
        // Requests already in flight when the throttle was sent may arrive just after it.
        let grace = chrono::Duration::milliseconds(300);
        let early: Vec<_> = reqs
            .iter()
            .filter(|r| r.tenant == t.tenant && r.at > t.at + grace && r.at < t.at + wait)
            .collect();
        assert!(
            early.is_empty(),
            "request sent before Retry-After elapsed: {:?} after {:?}",
            early[0],
            t
        );
    }
    assert!(env.log().contains("throttled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_mid_run_and_tiny_pages() {
    let mut sim = sim_config(1, &[ContentType::General, ContentType::SharePoint]);
    sim.token_lifetime = Duration::from_secs(2);
    sim.page_size = 1;
    sim.backlog = Duration::from_secs(10 * 3600);
    let env = Env::start(sim, "").await;
    let want = env.expected();
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(120)).await,
        "{}",
        tail(&env.log(), 30)
    );
    tokio::time::sleep(Duration::from_secs(3)).await; // outlive another token
    agent.stop();
    env.assert_exactly_once(&want);
    let reqs = env.sim.requests();
    let tokens = reqs.iter().filter(|r| r.path.contains("oauth2")).count();
    assert!(tokens >= 2, "tokens were renewed: {tokens}");
    let pages = reqs.iter().filter(|r| r.query.contains("nextPage")).count();
    assert!(pages > 20, "paging was followed: {pages}");
    assert!(
        reqs.iter()
            .filter(|r| is_api(&r.path))
            .all(|r| r.query.to_ascii_lowercase().contains("publisheridentifier")),
        "PublisherIdentifier on every API call"
    );
}

/// The service expires a token the agent still holds (clock skew, revocation): the agent
/// gets a 401, fetches a new token once, and carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_on_a_held_token_is_answered_with_a_new_token() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.backlog = Duration::from_secs(30 * 3600);
    sim.blob_interval = Duration::from_secs(60);
    let env = Env::start(sim, "").await;
    let agent = env.spawn();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Every token issued so far expires on the service's clock.
    env.sim.advance(Duration::from_secs(2 * 3600));
    let want = env.expected();
    assert!(
        env.wait_for(&want, Duration::from_secs(120)).await,
        "{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    env.assert_exactly_once(&want);
    let reqs = env.sim.requests();
    let first_401 = reqs
        .iter()
        .position(|r| r.status == 401)
        .expect("the service answered 401");
    assert!(
        reqs[first_401..].iter().any(|r| r.path.contains("oauth2")),
        "a new token was fetched after the 401"
    );
    assert!(
        !env.log().contains("Poll failed"),
        "the 401 was absorbed, not a failed poll"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_content_inside_the_overlap_is_delivered() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.live = true;
    sim.backlog = Duration::from_secs(60);
    sim.blob_interval = Duration::from_secs(1);
    sim.records_per_blob = (1, 5);
    sim.late_rate = 0.4;
    sim.late_by = Duration::from_secs(4);
    let env = Env::start(sim, "").await;
    let t0 = Utc::now() - chrono::Duration::seconds(61);
    let agent = env.spawn();
    tokio::time::sleep(Duration::from_secs(14)).await;
    let cut = Utc::now() - chrono::Duration::seconds(6);
    let tid = env.sim.config().tenants[0].tenant_id.clone();
    let want = env
        .sim
        .expected_ids_between(&tid, ContentType::General, t0, cut);
    assert!(
        env.wait_for(&want, Duration::from_secs(20)).await,
        "{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    let got = env.delivered();
    assert!(got.values().all(|n| *n == 1), "no duplicates");
    let all = env.sim.expected_ids(&tid, ContentType::General);
    assert!(got.keys().all(|id| all.contains(id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_blob_heals_on_a_later_poll() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.malformed_rate = 0.25;
    sim.malformed_heal_after = Some(2);
    let env = Env::start(sim, "blob_attempts = 1").await;
    deliver_all(&env, Duration::from_secs(90)).await;
    let log = env.log();
    assert!(log.contains("A content blob failed"), "failure was loud");
    assert!(log.contains("ERROR"), "at error level");
}

/// Content ids `state show --json` lists as failed, over all feeds.
fn failed_in_state(env: &Env) -> std::collections::BTreeSet<String> {
    env.state_json()
        .iter()
        .flat_map(|f| f["failed"].as_array().unwrap().iter())
        .map(|pair| pair[0].as_str().unwrap().to_string())
        .collect()
}

fn unreachable(env: &Env) -> std::collections::BTreeSet<String> {
    let mut all = std::collections::BTreeSet::new();
    for t in &env.sim.config().tenants {
        for ct in &env.sim.config().content_types {
            all.extend(env.sim.unreachable_content_ids(&t.tenant_id, *ct));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_blob_that_never_heals_is_recorded_and_the_rest_delivered() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.malformed_rate = 0.2;
    sim.malformed_heal_after = None;
    let env = Env::start(sim, "blob_attempts = 2").await;
    let broken = unreachable(&env);
    assert!(
        !broken.is_empty(),
        "the simulator serves blobs that never heal"
    );
    deliver_all(&env, Duration::from_secs(90)).await;
    assert_eq!(
        failed_in_state(&env),
        broken,
        "state lists exactly the broken blobs"
    );
    let (_, out, _) = run_cli(&["state", "show", "--config", env.config.to_str().unwrap()]);
    assert!(out.contains("FAILED:"), "{out}");
    assert!(env.log().contains("A content blob failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_uris_are_refused_and_never_get_the_token() {
    let mut sim = sim_config(
        1,
        &[ContentType::General, ContentType::AzureActiveDirectory],
    );
    sim.hostile_next_page = true;
    sim.hostile_content_uri_rate = 0.1;
    sim.page_size = 5;
    let env = Env::start(sim, "").await;
    let hostile = unreachable(&env);
    assert!(
        !hostile.is_empty(),
        "the simulator lists hostile contentUris"
    );
    deliver_all(&env, Duration::from_secs(90)).await;
    assert!(
        env.sim.evil_requests().iter().all(|r| !r.had_authorization),
        "the other host never sees a bearer token"
    );
    assert_eq!(
        failed_in_state(&env),
        hostile,
        "every refused blob is recorded"
    );
    let (_, out, _) = run_cli(&["state", "show", "--config", env.config.to_str().unwrap()]);
    assert!(out.contains("refused contentUri"), "{out}");
    let log = env.log();
    assert!(
        log.contains("Refused a URI") && log.contains("NextPageUri"),
        "both kinds refused loudly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_not_started_is_started_once() {
    let mut sim = sim_config(1, &[ContentType::General, ContentType::DlpAll]);
    sim.subscriptions_enabled = false;
    let env = Env::start(sim, "").await;
    deliver_all(&env, Duration::from_secs(90)).await;
    let starts = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("subscriptions/start"))
        .count();
    assert_eq!(starts, 2, "one start per content type, never in a loop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_six_point_nine_days_old_is_delivered() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.backlog = Duration::from_secs((6.95 * 86400.0) as u64);
    sim.blob_interval = Duration::from_secs(3 * 3600);
    let env = Env::start(sim, "").await;
    let tid = env.sim.config().tenants[0].tenant_id.clone();
    let old = env.sim.expected_ids_between(
        &tid,
        ContentType::General,
        Utc::now() - chrono::Duration::days(7),
        Utc::now() - chrono::Duration::hours(165),
    );
    assert!(
        !old.is_empty(),
        "the simulator has content older than 6.875 days"
    );
    deliver_all(&env, Duration::from_secs(90)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_nine_days_old_reports_a_gap_and_never_asks_beyond_seven_days() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.backlog = Duration::from_secs(10 * 86400);
    sim.blob_interval = Duration::from_secs(6 * 3600);
    let env = Env::start(sim, "").await;
    let tid = env.sim.config().tenants[0].tenant_id.clone();
    {
        let state = o365fwd::state::State::open(&env.dir.path().join("state")).unwrap();
        let cursor = o365fwd::state::Cursor {
            listed_until: Utc::now() - chrono::Duration::days(9),
        };
        state
            .set_cursor(&o365fwd::state::feed_key(&tid, "Audit.General"), &cursor)
            .await
            .unwrap();
    }
    let started = Utc::now();
    let want = env.sim.expected_ids_between(
        &tid,
        ContentType::General,
        started - chrono::Duration::minutes(7 * 24 * 60 - 5),
        started + chrono::Duration::days(1),
    );
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(60)).await,
        "{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    env.assert_exactly_once(&want);
    assert!(env.log().contains("DATA GAP"), "the gap is loud");
    let (_, out, _) = run_cli(&["state", "show", "--config", env.config.to_str().unwrap()]);
    assert_eq!(
        out.matches("GAP:").count(),
        1,
        "one gap, recorded once:\n{out}"
    );
    for r in env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("subscriptions/content"))
    {
        let start = r
            .query
            .split('&')
            .find_map(|kv| kv.strip_prefix("startTime="))
            .expect("startTime sent");
        let start =
            chrono::NaiveDateTime::parse_from_str(&start.replace("%3A", ":"), "%Y-%m-%dT%H:%M:%S")
                .expect("documented format")
                .and_utc();
        assert!(
            start >= r.at - chrono::Duration::days(7),
            "listing started more than 7 days back: {start}"
        );
    }
}
