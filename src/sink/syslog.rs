//! `syslog`: records as RFC 5424 (or RFC 3164) messages over UDP, TCP, TLS or a local Unix
//! datagram socket, with the payload in any format (CEF, ECS, raw).
//!
//! The `syslog` crate is not used: its formatters stamp *now* instead of the record's time,
//! validate no header field, and it has no framing, TLS, async or reconnect. The formatter
//! ([`Formatter`]), framing and transports here are the project's own.
//!
//! Delivery on stream transports (TCP, TLS): a batch is acknowledged to the pipeline once its
//! bytes are written, flushed, and acknowledged by the receiver's TCP stack (the socket's
//! unacknowledged-byte count has dropped past them) and the connection has been up for a
//! second (a TLS 1.3 receiver refuses a client certificate only after the handshake, having
//! taken the bytes at the TCP level). Written bytes are kept for
//! `resend_window` after that, and everything kept is sent again on a new connection when the
//! old one breaks, because a receiver that stops may lose what sat in its socket buffer:
//! at-least-once, with every re-sent record counted. UDP is best effort.

pub mod config;
mod dgram;
mod framing;
mod rfc3164;
mod rfc5424;
mod stream;
mod tls;
mod transport;
mod truncate;

use std::time::Duration;

use super::{Context, SinkError, Task};

pub use config::{FACILITIES, Framing, Rfc, SEVERITIES, SyslogConfig, TlsConfig, Transport};
pub use framing::frame;
pub use rfc5424::Formatter;

/// Syslog severity of a CEF severity (0–10): Low → info, Medium → notice, High → warning,
/// Very-High → crit.
pub fn severity_of_cef(cef: u8) -> u8 {
    match cef {
        0..=3 => 6,
        4..=6 => 5,
        7..=8 => 4,
        _ => 2,
    }
}

/// Starts the sink task. Setup problems (bad TLS files) fail here, before any record moves.
pub async fn start(cfg: &SyslogConfig, cx: Context) -> Result<Task, SinkError> {
    let connector = transport::Connector::new(&cx.name, cfg).map_err(|m| cx.setup_error(m))?;
    if cfg.transport == Transport::Udp {
        tracing::info!(sink = cx.name.as_str(), address = %cfg.address,
            "Syslog over UDP is best effort: datagrams lost on the way cannot be detected or re-sent.");
    }
    let formatter = Formatter::new(cfg, cx.encoder);
    Ok(if cfg.transport.is_stream() {
        let s = stream::Stream {
            metrics: crate::telemetry::SinkMetrics::new(&cx.name),
            name: cx.name,
            formatter,
            framing: cfg.framing,
            connector,
            window: cfg.resend_window,
        };
        tokio::spawn(stream::run(s, cx.queue, cx.abort))
    } else {
        tokio::spawn(dgram::run(
            cx.name, formatter, connector, cx.queue, cx.abort,
        ))
    })
}

/// Backoff between reconnects: doubling from 100 ms to 10 s, with ±25 % jitter so many
/// agents do not reconnect in step.
pub(crate) struct Backoff(Duration);

impl Backoff {
    pub fn new() -> Backoff {
        Backoff(Duration::from_millis(100))
    }
    pub fn next(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(10));
        d.mul_f64(0.75 + fastrand::f64() * 0.5)
    }
    pub fn reset(&mut self) {
        self.0 = Duration::from_millis(100);
    }
}

/// One record parsed from JSON text, for unit tests.
#[cfg(test)]
pub(crate) fn test_record(json: &str) -> crate::record::Record {
    let blob = format!("[{json}]");
    crate::record::parse_blob("c1", blob.as_bytes())
        .expect("test record parses")
        .remove(0)
}

/// Builds the TLS client setup without connecting: reads and checks the CA, certificate and
/// key, and the server name. For config validation.
pub fn check_tls(cfg: &SyslogConfig) -> Result<(), String> {
    let host = match &cfg.tls.server_name {
        Some(n) => n.clone(),
        None => transport::host_of(&cfg.address).to_string(),
    };
    tls::server_name(&host)?;
    tls::client_config(&cfg.tls).map(|_| ())
}
