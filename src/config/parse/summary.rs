//! The readable summary printed by `o365fwd check`. It shows where each secret comes from,
//! never its value, so it is safe to paste into a ticket.

use std::fmt::Write;
use std::time::Duration;

use crate::config::Config;
use crate::sink::config::SinkKind;

pub fn summary(cfg: &Config) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(cfg, &mut out);
    out
}

fn write_summary(cfg: &Config, out: &mut String) -> std::fmt::Result {
    let a = &cfg.agent;
    let d = |d: Duration| humantime::format_duration(d).to_string();
    writeln!(out, "configuration {}", cfg.source.display())?;
    writeln!(out, "agent:")?;
    let rows: [(&str, String); 15] = [
        ("state_dir", a.state_dir.display().to_string()),
        ("poll_interval", d(a.poll_interval)),
        ("overlap", d(a.overlap)),
        ("dedup_horizon", d(a.dedup_horizon)),
        ("dedup_hot_window", d(a.dedup_hot_window)),
        ("dedup_hot_ids", a.dedup_hot_ids.to_string()),
        ("initial_lookback", d(a.initial_lookback)),
        ("shutdown_timeout", d(a.shutdown_timeout)),
        ("batch_size", a.batch_size.to_string()),
        ("max_in_flight_batches", a.max_in_flight_batches.to_string()),
        ("fetch_concurrency", a.fetch_concurrency.to_string()),
        ("request_timeout", d(a.request_timeout)),
        ("blob_attempts", a.blob_attempts.to_string()),
        (
            "listen",
            a.listen
                .map_or_else(|| "off".to_string(), |l| l.to_string()),
        ),
        ("unhealthy_after", d(a.unhealthy_after)),
    ];
    for (k, v) in rows {
        writeln!(out, "  {k:<22} {v}")?;
    }

    writeln!(out, "tenants ({}):", cfg.tenants.len())?;
    for t in cfg.tenants.values() {
        let types: Vec<&str> = t.content_types.iter().map(|c| c.as_str()).collect();
        writeln!(out, "  {}", t.name)?;
        writeln!(out, "    tenant_id      {}", t.tenant_id)?;
        writeln!(out, "    client_id      {}", t.client_id)?;
        if t.publisher_id != t.tenant_id {
            writeln!(out, "    publisher_id   {}", t.publisher_id)?;
        }
        writeln!(out, "    cloud          {}", t.cloud.as_str())?;
        writeln!(out, "    api            {}", t.api_url)?;
        writeln!(out, "    login          {}", t.login_url)?;
        writeln!(out, "    resource       {}", t.resource)?;
        writeln!(out, "    graph          {} (backfill)", t.graph_url)?;
        writeln!(out, "    content_types  {}", types.join(", "))?;
        match &t.certificate {
            Some(c) => writeln!(
                out,
                "    certificate    x5t {}, key from {}",
                c.x5t(),
                t.secret_origin
            )?,
            None => writeln!(out, "    secret         {}", t.secret_origin)?,
        }
        if let Some(p) = &t.proxy {
            writeln!(out, "    proxy          {p}")?;
        }
        writeln!(out, "    requests/min   {}", t.requests_per_minute)?;
    }

    writeln!(out, "sinks ({}):", cfg.sinks.len())?;
    for s in cfg.sinks.values() {
        let target = match &s.kind {
            SinkKind::File { path } => format!(" {}", path.display()),
            SinkKind::Stdout => String::new(),
            SinkKind::Syslog(c) => format!(
                " {}://{} (rfc {}, {})",
                c.transport.as_str(),
                c.address,
                if c.rfc == crate::sink::syslog::Rfc::Rfc3164 {
                    "3164"
                } else {
                    "5424"
                },
                if c.transport.is_stream() {
                    if c.framing == crate::sink::syslog::Framing::Lf {
                        "lf framing"
                    } else {
                        "octet counting"
                    }
                } else {
                    "datagrams"
                },
            ),
            SinkKind::SplunkHec(c) => format!(
                " {} (token: {}; indexer_ack {}; sourcetype {})",
                c.endpoint, c.token_origin, c.indexer_ack, c.sourcetype
            ),
            SinkKind::Elasticsearch(c) => {
                use crate::sink::http::config::{EsAuth, EsTarget};
                let target = match &c.target {
                    EsTarget::DataStream(d) => format!("data stream {d}"),
                    EsTarget::Index(i) => format!("index {i}"),
                };
                let auth = match &c.auth {
                    EsAuth::None => "no authentication".to_string(),
                    EsAuth::ApiKey { origin, .. } => format!("api key: {origin}"),
                    EsAuth::Basic {
                        username, origin, ..
                    } => {
                        format!("user {username}, password: {origin}")
                    }
                };
                format!(" {} ({target}; {auth})", c.endpoint)
            }
            SinkKind::Http(c) => {
                let names: Vec<String> = c
                    .headers
                    .iter()
                    .map(|h| format!("{} ({})", h.name, h.origin))
                    .collect();
                if names.is_empty() {
                    format!(" {}", c.url)
                } else {
                    format!(" {} (headers: {})", c.url, names.join(", "))
                }
            }
            SinkKind::Kafka(k) => {
                let given = k.librdkafka.iter().find(|(p, _)| p == "security.protocol");
                let protocol = match (given, &k.security_protocol) {
                    (Some((_, v)), _) => v.expose().to_ascii_lowercase(),
                    (None, Some(p)) => p.clone(),
                    (None, None) => "plaintext (loopback brokers only)".into(),
                };
                format!(
                    " {} topic {} (security.protocol {protocol})",
                    k.brokers, k.topic
                )
            }
        };
        let keep = if s.format_options.keep_original {
            ", keep_original"
        } else {
            ""
        };
        writeln!(
            out,
            "  {}: {}{} (format {}{keep})",
            s.name,
            s.kind.type_name(),
            target,
            s.format.as_str()
        )?;
        match &s.filter {
            Some(f) => writeln!(out, "    receives {f}")?,
            None => writeln!(out, "    receives all records")?,
        }
    }
    if let Some(e) = &cfg.enrich {
        let path = |p: &Option<std::path::PathBuf>| {
            p.as_ref()
                .map_or("off".to_string(), |p| p.display().to_string())
        };
        writeln!(out, "enrich:")?;
        writeln!(out, "  geoip_city     {}", path(&e.city))?;
        writeln!(out, "  geoip_asn      {}", path(&e.asn))?;
        writeln!(
            out,
            "  user_agent     {}",
            if e.user_agent { "on" } else { "off" }
        )?;
    }
    Ok(())
}
