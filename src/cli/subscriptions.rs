//! `o365fwd subscriptions list|start|stop`: the Management API subscriptions of the
//! configured tenants, one line per (tenant, content type).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;

use super::exit;
use crate::api::TenantConfig;
use crate::api::{TenantClient, http_client, tenant_http};
use crate::config::Config;
use crate::record::ContentType;

#[derive(Subcommand, Debug)]
pub enum SubscriptionsCommand {
    /// Show each content type's subscription status as the API reports it.
    List(Target),
    /// Start the subscriptions (already enabled counts as success).
    Start(Target),
    /// Stop the subscriptions: the API then stops producing content for them.
    Stop(Target),
}

#[derive(Args, Debug)]
pub struct Target {
    #[arg(long, short, default_value = "/etc/o365fwd/config.toml")]
    config: PathBuf,
    /// Only this tenant (its name in the configuration, or its tenant id).
    #[arg(long)]
    tenant: Option<String>,
    /// Only these content types (default: the tenant's configured ones).
    #[arg(long, value_delimiter = ',')]
    content_type: Vec<ContentType>,
}

pub async fn run(cmd: SubscriptionsCommand) -> anyhow::Result<i32> {
    let (target, action) = match &cmd {
        SubscriptionsCommand::List(t) => (t, "list"),
        SubscriptionsCommand::Start(t) => (t, "start"),
        SubscriptionsCommand::Stop(t) => (t, "stop"),
    };
    let cfg = Config::load(&target.config)?;
    let tenants = match select_tenants(&cfg, target.tenant.as_deref()) {
        Ok(t) => t,
        Err(msg) => {
            eprintln!("error: {msg}");
            return Ok(exit::USAGE);
        }
    };
    let shared = http_client(cfg.agent.request_timeout)?;
    let mut failed = false;
    for t in tenants {
        let http = tenant_http(&shared, t, cfg.agent.request_timeout)?;
        let client = TenantClient::new(http, t, CancellationToken::new());
        let types = if target.content_type.is_empty() {
            t.content_types.clone()
        } else {
            target.content_type.clone()
        };
        if action == "list" {
            match client.list_subscriptions().await {
                Ok(subs) => {
                    for ct in &types {
                        let status = subs
                            .iter()
                            .find(|s| s.content_type.eq_ignore_ascii_case(ct.as_str()))
                            .map(|s| s.status.as_str())
                            .unwrap_or("absent");
                        println!("{:<16} {:<28} {status}", t.name, ct.as_str());
                    }
                    for s in &subs {
                        let configured = types
                            .iter()
                            .any(|ct| s.content_type.eq_ignore_ascii_case(ct.as_str()));
                        if !configured && target.content_type.is_empty() {
                            println!(
                                "{:<16} {:<28} {} (not configured)",
                                t.name, s.content_type, s.status
                            );
                        }
                    }
                }
                Err(e) => {
                    eprintln!("error: tenant {}: {e}", t.name);
                    failed = true;
                }
            }
            continue;
        }
        for ct in types {
            let r = if action == "start" {
                client.start_subscription(ct).await
            } else {
                client.stop_subscription(ct).await
            };
            match r {
                Ok(()) => println!(
                    "{:<16} {:<28} {}",
                    t.name,
                    ct.as_str(),
                    if action == "start" {
                        "started"
                    } else {
                        "stopped"
                    }
                ),
                Err(e) => {
                    eprintln!("error: tenant {} {ct}: {action} failed: {e}", t.name);
                    failed = true;
                }
            }
        }
    }
    Ok(if failed { exit::FAILURE } else { exit::OK })
}

/// The tenants a command applies to: all, or the one named (by config name or tenant id).
pub(super) fn select_tenants<'c>(
    cfg: &'c Config,
    wanted: Option<&str>,
) -> Result<Vec<&'c TenantConfig>, String> {
    let Some(w) = wanted else {
        return Ok(cfg.tenants.values().collect());
    };
    cfg.tenants
        .values()
        .find(|t| t.name == w || t.tenant_id.eq_ignore_ascii_case(w))
        .map(|t| vec![t])
        .ok_or_else(|| {
            let names: Vec<&str> = cfg.tenants.keys().map(String::as_str).collect();
            format!(
                "no tenant {w:?} in the configuration (tenants: {})",
                names.join(", ")
            )
        })
}
