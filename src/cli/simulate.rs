//! `o365fwd simulate`: the Management Activity API simulator as its own process, so a
//! benchmark can count the agent's CPU apart from the simulator's, and a trial can point a
//! real agent at it. Prints a configuration for the agent on stdout.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::record::ContentType;
use crate::sim::{SimConfig, SimHandle, SimTenant};

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[arg(long, default_value = "127.0.0.1:8365")]
    listen: std::net::SocketAddr,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How far back content exists (content older than 7 days is expired).
    #[arg(long, default_value = "2h", value_parser = humantime::parse_duration)]
    backlog: Duration,
    /// Time between blobs of one feed (ignored with --records).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    blob_interval: Duration,
    /// Records per blob (at most; exactly this many with --clean).
    #[arg(long, default_value_t = 8)]
    records_per_blob: usize,
    /// Only these content types (default: all five).
    #[arg(long, value_delimiter = ',')]
    content_types: Vec<ContentType>,
    /// Number of simulated tenants (default: the demo's three).
    #[arg(long)]
    tenants: Option<usize>,
    /// Spread about this many records over the backlog, across every feed (sets the blob
    /// interval; the exact count is printed as `served_records`).
    #[arg(long)]
    records: Option<u64>,
    /// A fixed backlog without imperfections: no new content, no duplicates, no late blobs,
    /// fixed records per blob. What the benchmark runs against.
    #[arg(long)]
    clean: bool,
    /// Simulated time runs this many times faster than real time.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Also write every record served now to this file as NDJSON (for the benchmark's peers).
    #[arg(long)]
    write_ndjson: Option<PathBuf>,
    /// The printed configuration writes to this NDJSON file instead of stdout.
    #[arg(long)]
    sink_file: Option<PathBuf>,
    /// Format of the printed configuration's sink.
    #[arg(long, default_value = "text")]
    sink_format: crate::format::Format,
    /// `state_dir` of the printed configuration.
    #[arg(long, default_value = "o365fwd-sim-state")]
    state_dir: PathBuf,
    /// Every listing repeats its first blob this many more times (a hostile upstream, for
    /// the memory benchmark of long listings, `bench/bounds`).
    #[arg(long, default_value_t = 0)]
    repeat_listing: u64,
    /// The second blob of each feed of the first tenant is sent gzip-encoded and inflates
    /// to this many bytes (a hostile upstream, for `bench/bounds`; its records are not
    /// counted as served).
    #[arg(long)]
    gzip_bomb: Option<u64>,
    /// `poll_interval` of the printed configuration.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    poll_interval: Duration,
    /// Throttle each tenant beyond this many requests a minute (AF429), as the service does
    /// at 2,000; the printed configuration budgets the same. Default: no limit.
    #[arg(long)]
    requests_per_minute: Option<u32>,
    /// At exit, write what the clients asked of the simulator to this file (JSON):
    /// requests, throttles, the busiest second and each tenant's busiest minute.
    #[arg(long)]
    stats: Option<PathBuf>,
}

impl SimulateArgs {
    fn sim_config(&self) -> SimConfig {
        let mut cfg = SimConfig::demo();
        cfg.seed = self.seed;
        cfg.backlog = self.backlog;
        cfg.blob_interval = self.blob_interval;
        let per_blob = self.records_per_blob.max(1);
        cfg.records_per_blob = (1, per_blob);
        if !self.content_types.is_empty() {
            cfg.content_types = self.content_types.clone();
        }
        if let Some(n) = self.tenants {
            cfg.tenants = (0..n.max(1) as u64).map(sim_tenant).collect();
        }
        if self.clean {
            cfg.live = false;
            cfg.duplicate_rate = 0.0;
            cfg.late_rate = 0.0;
            cfg.records_per_blob = (per_blob, per_blob);
            // The agent may relist a whole page at once; big pages keep listing cheap.
            cfg.page_size = 1000;
        }
        cfg.hostile.repeat_listing = self.repeat_listing;
        cfg.hostile.gzip_bomb = self.gzip_bomb.map(|bytes| (1, bytes));
        if let Some(total) = self.records {
            let feeds = (cfg.tenants.len() * cfg.content_types.len()).max(1) as u64;
            let mean = (cfg.records_per_blob.0 + cfg.records_per_blob.1) as u64 / 2;
            let blobs = (total / feeds / mean.max(1)).max(1);
            let ms = (self.backlog.as_millis() as u64 / blobs).max(1);
            cfg.blob_interval = Duration::from_millis(ms);
        }
        cfg.requests_per_minute = self.requests_per_minute;
        cfg
    }
}

/// A made-up but well-formed tenant; the same index always yields the same ids.
fn sim_tenant(i: u64) -> SimTenant {
    SimTenant {
        tenant_id: format!("5e1f0000-0000-4000-8000-{i:012x}"),
        client_id: format!("c11e0000-0000-4000-8000-{i:012x}"),
        client_secret: format!("sim-secret-{i}"),
    }
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<i32> {
    let sim = SimHandle::start(args.sim_config(), args.listen)
        .await
        .context("cannot start the simulator")?;
    let served = match &args.write_ndjson {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            let n = sim.write_ndjson(&mut w)?;
            std::io::Write::flush(&mut w)?;
            n
        }
        None => sim.served_records(),
    };
    sim.set_speed(args.speed);
    // The simulator's credentials are made up; printing them is the point.
    println!("{}", simulator_config(&sim, &args, served));
    eprintln!(
        "simulator listening on {} (Ctrl-C stops); the configuration above points an agent at it",
        sim.base_url()
    );
    wait_for_stop().await?;
    if let Some(path) = &args.stats {
        let text = serde_json::to_string_pretty(&request_stats(&sim.requests()))?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    sim.shutdown();
    Ok(super::exit::OK)
}

/// SIGINT or SIGTERM (a benchmark script stops its simulator with `kill`).
async fn wait_for_stop() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

/// What `--stats` reports: enough to check that clients kept to each tenant's budget and
/// did not all start at once.
#[derive(Debug, serde::Serialize, PartialEq)]
struct RequestStats {
    requests: usize,
    token_requests: usize,
    throttled: usize,
    /// Most requests (any tenant) within one second.
    busiest_second: usize,
    /// Most requests of one tenant within any 60 seconds.
    busiest_tenant_minute: usize,
    tenants: usize,
    /// The simulator's request log keeps the newest half million; older ones are not counted.
    log_capped: bool,
}

fn request_stats(log: &[crate::sim::RequestLog]) -> RequestStats {
    let ms = |r: &crate::sim::RequestLog| r.at.timestamp_millis();
    let mut all: Vec<i64> = log.iter().map(ms).collect();
    all.sort_unstable();
    let busiest = |times: &[i64], window: i64| {
        let (mut lo, mut best) = (0, 0);
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= window {
                lo += 1;
            }
            best = best.max(hi + 1 - lo);
        }
        best
    };
    let mut by_tenant: std::collections::HashMap<&str, Vec<i64>> = Default::default();
    for r in log {
        if let Some(t) = &r.tenant {
            by_tenant.entry(t.as_str()).or_default().push(ms(r));
        }
    }
    let busiest_tenant_minute = by_tenant
        .values_mut()
        .map(|v| {
            v.sort_unstable();
            busiest(v, 60_000)
        })
        .max()
        .unwrap_or(0);
    RequestStats {
        requests: log.len(),
        token_requests: log.iter().filter(|r| r.path.contains("/oauth2/")).count(),
        throttled: log
            .iter()
            .filter(|r| r.error_code.as_deref() == Some("AF429"))
            .count(),
        busiest_second: busiest(&all, 1000),
        busiest_tenant_minute,
        tenants: by_tenant.len(),
        log_capped: log.len() >= 500_000,
    }
}

/// A configuration for `o365fwd run` against a running simulator.
fn simulator_config(sim: &SimHandle, args: &SimulateArgs, served: u64) -> String {
    let mut out = format!(
        "# o365fwd configuration for the simulator\n# served_records = {served}\n[agent]\nstate_dir = {:?}\npoll_interval = \"{}\"\n",
        args.state_dir.display().to_string(),
        humantime::format_duration(args.poll_interval)
    );
    for (i, t) in sim.config().tenants.iter().enumerate() {
        let _ = write!(
            out,
            "\n[tenants.tenant{}]\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\napi_url = \"{}\"\nlogin_url = \"{}\"\ngraph_url = \"{}\"\n",
            i + 1,
            t.tenant_id,
            t.client_id,
            t.client_secret,
            sim.base_url(),
            sim.base_url(),
            sim.base_url()
        );
        if let Some(n) = args.requests_per_minute {
            let _ = writeln!(out, "requests_per_minute = {n}");
        } else if args.clean {
            // Throttling is off in a clean run; let the agent go as fast as it can.
            out.push_str("requests_per_minute = 1000000\n");
        }
        if !args.content_types.is_empty() {
            let cts: Vec<String> = args
                .content_types
                .iter()
                .map(|c| format!("{:?}", c.as_str()))
                .collect();
            let _ = writeln!(out, "content_types = [{}]", cts.join(", "));
        }
    }
    match &args.sink_file {
        Some(p) => {
            let _ = write!(
                out,
                "\n[sinks.out]\ntype = \"file\"\npath = {:?}\nformat = \"{}\"\n",
                p.display().to_string(),
                args.sink_format.as_str()
            );
        }
        None => {
            let _ = write!(
                out,
                "\n[sinks.console]\ntype = \"stdout\"\nformat = \"{}\"\n",
                args.sink_format.as_str()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests;
