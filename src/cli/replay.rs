//! `o365fwd replay`: delivers a past range of one feed again, through the chosen sinks,
//! without touching the daemon's state (see [`crate::offline`]).
//!
//! The range is listed in windows of at most 24 hours (the API's limit), blobs are fetched
//! with the daemon's own fetch-and-retry code, and record ids are deduplicated within the
//! run. The API keeps content for 7 days: an older `--from` is refused up front.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime, Utc};
use clap::Args;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::exit;
use super::progress::bar;
use super::subscriptions::select_tenants;
use crate::api::{ContentInfo, TenantClient, http_client, tenant_http};
use crate::config::Config;
use crate::feed::MAX_WINDOW;
use crate::feed::blobs::{Fetched, fetch};
use crate::feed_id::FeedId;
use crate::offline::{OfflineRun, select_sinks};
use crate::record::ContentType;

/// How far back the API keeps content.
const RETENTION: chrono::Duration = chrono::Duration::days(7);

#[derive(Args, Debug)]
pub struct ReplayArgs {
    #[arg(long, short, default_value = "/etc/o365fwd/config.toml")]
    config: PathBuf,
    /// The tenant (its name in the configuration, or its tenant id).
    #[arg(long)]
    tenant: String,
    /// Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General or DLP.All.
    #[arg(long)]
    content_type: ContentType,
    /// Start of the range (content created at or after it): RFC 3339
    /// (`2026-11-28T09:00:00Z`), `YYYY-MM-DDTHH:MM[:SS]` in UTC, or a duration ago (`36h`).
    #[arg(long)]
    from: String,
    /// End of the range (exclusive), same forms; `now` is accepted.
    #[arg(long)]
    to: String,
    /// Sinks to deliver to (repeatable); default all configured sinks.
    #[arg(long)]
    sink: Vec<String>,
    /// Where a file sink writes during the replay: required when a file sink is selected, and
    /// never the daemon's own file.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub async fn run(a: ReplayArgs) -> anyhow::Result<i32> {
    let cfg = Config::load(&a.config)?;
    let now = Utc::now();
    let usage = |msg: String| {
        eprintln!("error: {msg}");
        Ok(exit::USAGE)
    };
    let (from, to) = match (parse_time(&a.from, now), parse_time(&a.to, now)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) => return usage(format!("--from: {e}")),
        (_, Err(e)) => return usage(format!("--to: {e}")),
    };
    if let Err(e) = check_range(from, to, now) {
        return usage(e);
    }
    let tenant = match select_tenants(&cfg, Some(&a.tenant)) {
        Ok(t) => t[0],
        Err(e) => return usage(e),
    };
    let sinks = match select_sinks(&cfg, &a.sink, a.output.as_deref()) {
        Ok(s) => s,
        Err(e) => return usage(e.to_string()),
    };
    let ct = a.content_type;
    let feeds = [FeedId::new(&tenant.name, &tenant.tenant_id, ct)];
    let run = OfflineRun::start(&cfg, &sinks, &feeds).await?;
    let feed = run.feed(&tenant.tenant_id, ct).expect("declared above");

    let stop = CancellationToken::new();
    let http = tenant_http(
        &http_client(cfg.agent.request_timeout)?,
        tenant,
        cfg.agent.request_timeout,
    )?;
    let client =
        TenantClient::new(http, tenant, stop.clone()).with_max_blob_bytes(cfg.agent.max_blob_bytes);
    // Replay de-duplicates record ids over the whole range, so it holds the range anyway;
    // the listing is collected first to size the progress bar.
    let mut listing: Vec<ContentInfo> = Vec::new();
    let mut bad = 0u64;
    let mut start = from;
    while start < to {
        let end = (start + MAX_WINDOW).min(to);
        let mut pages = client.list_content(ct, start, end)?;
        while let Some(page) = pages.next_page().await? {
            for b in page.bad {
                bad += 1;
                tracing::error!(content_id = %b.content_id, reason = %b.reason, "A listing entry of the range cannot be used; it is not replayed.");
            }
            listing.extend(page.entries);
        }
        start = end;
    }
    listing.retain(|c| c.content_created >= from && c.content_created < to);
    listing.sort_by(|a, b| {
        (a.content_created, &a.content_id).cmp(&(b.content_created, &b.content_id))
    });
    listing.dedup_by(|a, b| a.content_id == b.content_id);
    let blobs = listing.len() as u64;

    let pb = bar(blobs, "blobs");
    let attempts = cfg.agent.blob_attempts.max(1);
    let mut results = futures_util::stream::iter(listing)
        .map(|c| {
            let (client, stop) = (&client, stop.clone());
            async move {
                let f = fetch(client, ct, &c, attempts, &stop, None).await;
                (c, f)
            }
        })
        .buffered(cfg.agent.fetch_concurrency.max(1));
    let (mut dups, mut failed, mut expired) = (0u64, bad, 0u64);
    let batch = cfg.agent.batch_size.max(1);
    while let Some((c, fetched)) = results.next().await {
        match fetched {
            Ok(Fetched::Records(recs)) => {
                let mut recs = recs.into_iter().peekable();
                while recs.peek().is_some() {
                    let chunk: Vec<_> = recs.by_ref().take(batch).collect();
                    dups += run.deliver(&feed, &c.content_id, chunk).await?;
                }
            }
            Ok(Fetched::Failed {
                attempts, error, ..
            }) => {
                failed += 1;
                tracing::error!(content_id = %c.content_id, attempts, error = %error, "A blob of the range could not be fetched; its records are not replayed.");
            }
            Ok(Fetched::Expired) => {
                expired += 1;
                tracing::error!(content_id = %c.content_id, "A blob of the range expired upstream before it was fetched.");
            }
            Err(e) => return Err(e.into()),
        }
        pb.inc(1);
    }
    drop(results);
    pb.finish_and_clear();
    let done = run.finish().await?;
    let rejected = done.rejected;
    let names: Vec<&str> = sinks.iter().map(|s| s.name.as_str()).collect();
    eprintln!(
        "replay {} {ct} {} .. {}: {} records delivered to {}, {dups} duplicates skipped, {blobs} blobs, {failed} failed, {expired} expired, {rejected} rejected",
        tenant.name,
        from.format("%Y-%m-%dT%H:%M:%SZ"),
        to.format("%Y-%m-%dT%H:%M:%SZ"),
        done.records,
        names.join(", "),
    );
    Ok(if failed + expired + rejected > 0 {
        exit::FAILURE
    } else {
        exit::OK
    })
}

/// The range must lie within what the API keeps and not in the future.
fn check_range(from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    if from < now - RETENTION {
        return Err(format!(
            "--from {} is older than the 7 days the Management Activity API keeps content; the earliest possible start now is {}",
            from.format("%Y-%m-%dT%H:%M:%SZ"),
            (now - RETENTION + chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    if to > now + chrono::Duration::minutes(1) {
        return Err(format!(
            "--to {} is in the future",
            to.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    if to <= from {
        return Err("--to must be after --from".into());
    }
    Ok(())
}

/// RFC 3339, a naive UTC date-time, `now`, or a duration ago.
pub(super) fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = humantime::parse_duration(s) {
        let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        return Ok(now - d.min(chrono::Duration::days(3650)));
    }
    Err(format!(
        "{s:?} is not a time (RFC 3339 such as 2026-11-28T09:00:00Z, 2026-11-28T09:00 in UTC, now, or a duration ago such as 36h)"
    ))
}

#[cfg(test)]
mod tests;
