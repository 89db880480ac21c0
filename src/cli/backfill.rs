//! `o365fwd backfill`: audit history beyond the Management API's 7 days, from the Graph
//! audit log search, through the configured formats and sinks (see [`crate::backfill`]).
//!
//! Same sink rules as `replay` (`--sink`, `--output` for a file sink, never the daemon's
//! file), same summary and exit codes (0 everything delivered, 1 something was not, 2 a
//! usage error). `--to` defaults to where the live feed begins, read from the coverage the
//! daemon publishes (it may be running). Running the same command again continues an
//! interrupted backfill.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::exit;
use super::progress::bar;
use super::replay::parse_time;
use super::subscriptions::select_tenants;
use crate::api::TenantConfig;
use crate::api::graph::{GraphClient, PERMISSION_HELP, graph_record_type};
use crate::api::{http_client, tenant_http};
use crate::backfill::plan::{Plan, stamp};
use crate::backfill::{Backfill, BackfillError, LiveFeed, Settings};
use crate::config::Config;
use crate::feed_id::FeedId;
use crate::offline::{OfflineRun, select_sinks};
use crate::record::ContentType;
use crate::sink::config::SinkConfig;
use crate::state::State;

#[derive(Args, Debug)]
#[command(after_long_help = after_help())]
pub struct BackfillArgs {
    #[arg(long, short, default_value = "/etc/o365fwd/config.toml")]
    config: PathBuf,
    /// The tenant (its name in the configuration, or its tenant id).
    #[arg(long)]
    tenant: String,
    /// Start of the history: RFC 3339 (`2026-08-01T00:00:00Z`), `YYYY-MM-DDTHH:MM[:SS]` in
    /// UTC, or a duration ago (`90d`). The audit log keeps 180 days on Audit Standard.
    #[arg(long)]
    from: String,
    /// End (exclusive), same forms. Default: where the live feed of the daemon begins, so
    /// the two meet without a hole or a double.
    #[arg(long)]
    to: Option<String>,
    /// Only these content types, as the live feed files records (default: the tenant's
    /// configured `content_types`).
    #[arg(long, value_delimiter = ',', conflicts_with = "record_type")]
    content_type: Vec<ContentType>,
    /// Only these record types, asked of the service: numbers (`21`) or names (`CRM`, `crm`).
    #[arg(long, value_delimiter = ',')]
    record_type: Vec<String>,
    /// Sinks to deliver to (repeatable); default all configured sinks.
    #[arg(long)]
    sink: Vec<String>,
    /// Where a file sink writes: required when a file sink is selected, never the daemon's
    /// own file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Range of each audit query (split further when one finds too many records).
    #[arg(long, default_value = "1d", value_parser = humantime::parse_duration)]
    slice: Duration,
    /// Queries asked for at once (the service runs at least 50 per tenant).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// How often a query's status is read.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    poll_interval: Duration,
    /// A query still not finished after this (or the last day still waiting for the live
    /// feed) waits for the next run.
    #[arg(long, default_value = "12h", value_parser = humantime::parse_duration)]
    query_timeout: Duration,
    /// Forget an earlier run with the same arguments and start over.
    #[arg(long)]
    restart: bool,
}

/// What `backfill --help` adds: the permission it needs and where its state is.
fn after_help() -> String {
    format!(
        "Permissions: the app registration needs the {PERMISSION_HELP}. The same client secret or \
certificate as for the Management Activity API is used.\n\nState: {{state_dir}}/backfill/{{tenant}}-{{job}}/, \
separate from the daemon's state (the daemon may keep running). `--to` defaults to where the \
live feed begins, which the daemon publishes in {{state_dir}}/coverage/."
    )
}

pub async fn run(a: BackfillArgs) -> anyhow::Result<i32> {
    let cfg = Config::load(&a.config)?;
    let usage = |msg: String| {
        eprintln!("error: {msg}");
        Ok(exit::USAGE)
    };
    let tenant = match select_tenants(&cfg, Some(&a.tenant)) {
        Ok(t) => t[0],
        Err(e) => return usage(e),
    };
    let sinks = match select_sinks(&cfg, &a.sink, a.output.as_deref()) {
        Ok(s) => s,
        Err(e) => return usage(e.to_string()),
    };
    let mut record_types = Vec::new();
    for r in &a.record_type {
        match graph_record_type(r) {
            Ok(n) if !record_types.contains(&n.to_string()) => record_types.push(n.to_string()),
            Ok(_) => {}
            Err(e) => return usage(e),
        }
    }
    let content_types: Vec<ContentType> = match (&a.content_type, record_types.is_empty()) {
        (c, _) if !c.is_empty() => c.clone(),
        (_, false) => ContentType::ALL.to_vec(),
        (_, true) => tenant.content_types.clone(),
    };
    let now = Utc::now();
    let from = match parse_time(&a.from, now) {
        Ok(t) => t,
        Err(e) => return usage(format!("--from: {e}")),
    };
    let live = live_feeds(&cfg.agent.state_dir, tenant)?;
    let to = match &a.to {
        Some(t) => match parse_time(t, now) {
            Ok(t) => t,
            Err(e) => return usage(format!("--to: {e}")),
        },
        None => match content_types
            .iter()
            .filter_map(|c| live.get(c.as_str()))
            .max()
        {
            Some(t) => *t,
            None => {
                return usage(format!(
                    "no live feed of tenant {} has published where it begins ({}); give --to, or start the daemon first",
                    tenant.name,
                    cfg.agent.state_dir.join("coverage").display()
                ));
            }
        },
    };
    // Whole seconds, outwards: records carry whole seconds, and a query's range is sent in
    // whole seconds, so no record at the edges falls between two ranges.
    let (from, to) = (floor_second(from), ceil_second(to));
    if to > now + chrono::Duration::minutes(1) {
        return usage(format!("--to {} is in the future", stamp(to)));
    }
    if to <= from {
        return usage(format!(
            "--to ({}) must be after --from ({})",
            stamp(to),
            stamp(from)
        ));
    }
    if now - from > chrono::Duration::days(180) {
        tracing::warn!(from = %stamp(from), "The audit log keeps 180 days on Audit Standard (longer with Audit Premium): older history may not exist.");
    }

    let job = job_id(tenant, &a, &content_types, &record_types, &sinks);
    let dir = cfg
        .agent
        .state_dir
        .join("backfill")
        .join(format!("{}-{job}", tenant.name));
    if a.restart && dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    let state = State::open(&dir).map_err(|e| match e {
        crate::state::StateError::Locked { .. } => anyhow::anyhow!(
            "another backfill with the same arguments is running (its state {} is locked)",
            dir.display()
        ),
        e => e.into(),
    })?;
    let cts: Vec<String> = content_types
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    let live_from: BTreeMap<String, DateTime<Utc>> =
        live.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let plan = match Plan::load(&dir)? {
        Some(p) => p,
        None => {
            let p = Plan::new(
                job.clone(),
                (&tenant.name, &tenant.tenant_id),
                from,
                to,
                chrono::Duration::from_std(a.slice).unwrap_or(chrono::Duration::days(1)),
                record_types,
                cts,
                live_from,
                a.to.is_none(),
            );
            p.save(&dir)?;
            p
        }
    };
    if let Some(at) = plan.finished {
        eprintln!(
            "backfill {} {} .. {}: finished on {} (state {}); nothing to do. --restart runs it again.",
            tenant.name,
            stamp(plan.from),
            stamp(plan.to),
            stamp(at),
            dir.display()
        );
        return Ok(exit::OK);
    }
    if plan.slices.len() > 150 {
        tracing::warn!(
            queries = plan.slices.len(),
            "Microsoft allows a tenant at least 200 audit query submissions a day; throttled submissions wait (a longer --slice makes fewer)."
        );
    }
    eprintln!(
        "backfill {} {} .. {}: {} slices, state in {}",
        tenant.name,
        stamp(plan.from),
        stamp(plan.to),
        plan.slices.len(),
        dir.display()
    );
    let meets: Vec<ContentType> = plan
        .content_types
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let live = LiveFeed::read(&cfg.agent.state_dir, &tenant.tenant_id, &meets)?;
    if !live.settled {
        eprintln!(
            "The live feed has not yet listed a day past its start: the last day before it waits for that (at most --query-timeout)."
        );
    }
    let feeds: Vec<_> = ContentType::ALL
        .into_iter()
        .map(|ct| FeedId::new(&tenant.name, &tenant.tenant_id, ct))
        .collect();
    let run = OfflineRun::with_state(&cfg, &sinks, &feeds, state.clone()).await?;
    let stop = CancellationToken::new();
    crate::daemon::install_signals(stop.clone(), std::sync::Arc::default())?;
    let http = tenant_http(
        &http_client(cfg.agent.request_timeout)?,
        tenant,
        cfg.agent.request_timeout,
    )?;
    let client = GraphClient::new(http, tenant, stop.clone());
    let settings = Settings {
        concurrency: a.concurrency.clamp(1, 40),
        poll_interval: a.poll_interval.max(Duration::from_millis(10)),
        query_timeout: a.query_timeout,
        attempts: 3,
        batch_size: cfg.agent.batch_size,
    };
    let pb = bar(plan.slices.len() as u64, "slices");
    let mut bf = Backfill::new(
        &client,
        run.pipeline().clone(),
        state,
        &dir,
        plan,
        settings,
        live,
        stop,
        pb.clone(),
    );
    let outcome = bf.run().await;
    pb.finish_and_clear();
    let done = run.finish().await?;
    let complete = bf.close().await?;
    if let Err(e) = outcome {
        if matches!(e, BackfillError::Refused { .. }) {
            eprintln!("error: {e}\nThe app registration needs the {PERMISSION_HELP}.");
            return Ok(exit::FAILURE);
        }
        return Err(e.into());
    }
    print_summary(&bf, &client, &sinks, done.records, done.rejected, complete);
    let s = bf.summary();
    let clean = complete && s.problem_count == 0 && s.malformed_records == 0 && done.rejected == 0;
    Ok(if clean { exit::OK } else { exit::FAILURE })
}

fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn ceil_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let up = i64::from(t.timestamp_subsec_nanos() > 0);
    DateTime::from_timestamp(t.timestamp().saturating_add(up), 0).unwrap_or(t)
}

/// Where each live feed of the tenant begins, by content type.
fn live_feeds(
    state_dir: &Path,
    t: &TenantConfig,
) -> anyhow::Result<BTreeMap<&'static str, DateTime<Utc>>> {
    let mut out = BTreeMap::new();
    for ct in ContentType::ALL {
        let key = crate::state::feed_key(&t.tenant_id, ct.as_str());
        if let Some(p) = crate::coverage::read(state_dir, &key)? {
            out.insert(ct.as_str(), p.from);
        }
    }
    Ok(out)
}

/// A digest of what makes two runs the same backfill (not tuning such as --slice).
fn job_id(
    t: &TenantConfig,
    a: &BackfillArgs,
    cts: &[ContentType],
    record_types: &[String],
    sinks: &[SinkConfig],
) -> String {
    let mut names: Vec<&str> = sinks.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    let mut cts: Vec<&str> = cts.iter().map(|c| c.as_str()).collect();
    cts.sort();
    let mut rts = record_types.to_vec();
    rts.sort();
    let output = a
        .output
        .as_ref()
        .map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .unwrap_or_default();
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}",
        t.tenant_id,
        a.from.trim(),
        a.to.as_deref().unwrap_or("(live feed)").trim(),
        cts.join(","),
        rts.join(","),
        names.join(","),
        output
    );
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    d.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect()
}

fn print_summary(
    bf: &Backfill<'_>,
    client: &GraphClient,
    sinks: &[SinkConfig],
    delivered: u64,
    rejected: u64,
    complete: bool,
) {
    use crate::api::graph::GraphStats as G;
    let (p, s) = (bf.plan(), bf.summary());
    let names: Vec<&str> = sinks.iter().map(|s| s.name.as_str()).collect();
    let st = &client.stats;
    eprintln!(
        "backfill {} {} .. {}: {delivered} records delivered to {}, {} duplicates skipped, {} already delivered by the live feed (overlap), {} left to the live feed, {} delivered again inside the live feed's range; {} queries ({} made, {} reused, {} failed by the service, {} split); {} malformed pages, {} malformed records, {} links refused, {} throttled, {rejected} rejected",
        p.tenant,
        stamp(p.from),
        stamp(p.to),
        names.join(", "),
        s.duplicates,
        s.overlap,
        s.live_covered,
        s.live_redelivered,
        s.queries_created + s.queries_reused,
        s.queries_created,
        s.queries_reused,
        s.queries_failed,
        s.splits,
        s.malformed_pages,
        s.malformed_records,
        G::get(&st.refused_links),
        G::get(&st.throttled),
    );
    for line in &s.problems {
        eprintln!("  problem: {line}");
    }
    if s.problem_count > s.problems.len() as u64 {
        eprintln!(
            "  … and {} more problems (see the log)",
            s.problem_count - s.problems.len() as u64
        );
    }
    if s.interrupted || !complete {
        eprintln!(
            "backfill incomplete: {} of {} slices delivered; run the same command again to continue.",
            s.slices_done, s.slices
        );
    }
}
