//! `o365fwd demo`: the embedded simulator, the real pipeline, readable output.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::exit;
use crate::config::Config;

/// `o365fwd demo`: the embedded simulator, the real pipeline, readable output.
pub(super) async fn run(duration: Duration, format: crate::format::Format) -> anyhow::Result<i32> {
    let sim_cfg = crate::sim::SimConfig::demo();
    let sim = crate::sim::SimHandle::start(sim_cfg.clone(), "127.0.0.1:0".parse()?)
        .await
        .context("cannot start the simulator")?;
    let dir = tempfile_dir()?;
    let cfg = demo_config(&sim, &sim_cfg, &dir, format);
    eprintln!(
        "o365fwd demo: simulator at {}, {} tenant(s); state in {}; running for {} (Ctrl-C stops)",
        sim.base_url(),
        sim_cfg.tenants.len(),
        dir.display(),
        humantime::format_duration(duration)
    );
    let stop = CancellationToken::new();
    // `demo` runs an embedded config: SIGHUP has nothing to re-read and is ignored.
    crate::daemon::install_signals(stop.clone(), std::sync::Arc::default())?;
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop.cancel();
        })
    };
    let started = std::time::Instant::now();
    let out = crate::daemon::run(cfg, stop).await?;
    timer.abort();
    let failed = crate::telemetry::metric::BLOBS_FAILED.sum();
    let repeats = crate::telemetry::metric::RECORDS_REPEATED.sum();
    eprintln!(
        "o365fwd demo: delivered {} records in {:.1}s ({} repeats dropped, {} blobs failed); state kept in {}",
        out.records,
        started.elapsed().as_secs_f64(),
        repeats,
        failed,
        dir.display()
    );
    sim.shutdown();
    Ok(exit::OK)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("o365fwd-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn demo_config(
    sim: &crate::sim::SimHandle,
    sim_cfg: &crate::sim::SimConfig,
    dir: &std::path::Path,
    format: crate::format::Format,
) -> Config {
    use crate::api::{Cloud, TenantConfig};
    use crate::config::AgentConfig;
    use crate::secret::{Secret, SecretOrigin};
    use crate::sink::config::{SinkConfig, SinkKind};
    let base: url::Url = sim.base_url().parse().expect("simulator URL");
    let mut tenants = std::collections::BTreeMap::new();
    for (i, t) in sim_cfg.tenants.iter().enumerate() {
        let name = format!("tenant{}", i + 1);
        tenants.insert(
            name.clone(),
            TenantConfig {
                name,
                tenant_id: t.tenant_id.clone(),
                client_id: t.client_id.clone(),
                client_secret: Secret::new(t.client_secret.clone()),
                cloud: Cloud::Commercial,
                content_types: sim_cfg.content_types.clone(),
                publisher_id: t.tenant_id.clone(),
                api_url: base.clone(),
                login_url: base.clone(),
                resource: Cloud::Commercial.api_url().to_string(),
                requests_per_minute: 2000,
                graph_url: base.clone(),
                secret_origin: SecretOrigin::Inline,
                certificate: None,
                proxy: None,
            },
        );
    }
    let mut sinks = std::collections::BTreeMap::new();
    sinks.insert(
        "console".to_string(),
        SinkConfig {
            name: "console".into(),
            format,
            format_options: Default::default(),
            reassemble: None,
            filter: None,
            kind: SinkKind::Stdout,
        },
    );
    Config {
        source: PathBuf::from("(demo)"),
        agent: AgentConfig {
            state_dir: dir.to_path_buf(),
            poll_interval: Duration::from_secs(2),
            shutdown_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        tenants,
        sinks,
        warnings: vec![],
        enrich: None,
    }
}
