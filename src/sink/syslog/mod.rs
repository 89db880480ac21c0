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

mod dgram;
mod framing;
mod rfc3164;
mod rfc5424;
mod stream;
mod tls;
mod transport;
mod truncate;

use std::path::PathBuf;
use std::time::Duration;

use super::{Context, SinkError, Task};
use crate::config::Secret;

pub use framing::frame;
pub use rfc5424::Formatter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    /// A local Unix datagram socket such as `/dev/log`.
    Unix,
}

impl Transport {
    pub fn parse(s: &str) -> Option<Transport> {
        match s {
            "udp" => Some(Transport::Udp),
            "tcp" => Some(Transport::Tcp),
            "tls" => Some(Transport::Tls),
            "unix" => Some(Transport::Unix),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Unix => "unix",
        }
    }
    /// Stream transports need framing; datagrams carry one message each.
    pub fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }
}

/// RFC 6587 framing on stream transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// `LEN SP MSG`: transparent, mandatory on TLS (RFC 5425).
    #[default]
    OctetCounting,
    /// `MSG LF`: line feeds inside a message are replaced by spaces.
    Lf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rfc {
    #[default]
    Rfc5424,
    Rfc3164,
}

/// TLS settings; verification is on unless `insecure_skip_verify`.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// PEM CA bundle; the system roots when absent.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain for mutual TLS (with `key`).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate, read at load time.
    pub key: Option<Secret>,
    /// Name checked against the certificate (and sent as SNI); the address's host otherwise.
    pub server_name: Option<String>,
    /// The receiver's own certificate (PEM), trusted exactly, instead of a CA and name
    /// check (`sink::tls`).
    pub pinned_cert: Option<PathBuf>,
    pub insecure_skip_verify: bool,
}

/// `[sinks.NAME] type = "syslog"`, validated.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// `host:port`, or a socket path with `transport = "unix"`.
    pub address: String,
    pub transport: Transport,
    pub framing: Framing,
    pub rfc: Rfc,
    /// 0–23; default 16 (local0).
    pub facility: u8,
    /// A fixed severity 0–7; `None` derives it from the record (see [`severity_of_cef`]).
    pub severity: Option<u8>,
    /// HOSTNAME; the system's host name when `None`.
    pub hostname: Option<String>,
    pub app_name: String,
    /// PROCID; the agent's process id when `None`.
    pub procid: Option<String>,
    /// SD-ID of the element carrying tenant, tenant id, content type and record id; `None`
    /// writes no structured data.
    pub sd_id: Option<String>,
    /// Largest message (without framing) ever sent; longer ones are truncated with a marker.
    pub max_message_size: usize,
    /// Connect and TLS handshake timeout; also how long sent data may stay unacknowledged by
    /// the receiver's TCP before the connection counts as dead (`TCP_USER_TIMEOUT`).
    pub timeout: Duration,
    /// How long written data is kept for re-sending after the receiver's TCP acknowledged it.
    pub resend_window: Duration,
    pub tls: TlsConfig,
}

impl SyslogConfig {
    pub const DEFAULT_MAX: usize = 8192;
    /// The largest UDP payload over IPv4.
    pub const UDP_MAX: usize = 65_507;
    pub const DEFAULT_FACILITY: u8 = 16;

    /// Defaults for everything but the address and transport.
    pub fn new(address: &str, transport: Transport) -> SyslogConfig {
        SyslogConfig {
            address: address.to_string(),
            transport,
            framing: Framing::OctetCounting,
            rfc: Rfc::Rfc5424,
            facility: Self::DEFAULT_FACILITY,
            severity: None,
            hostname: None,
            app_name: "o365fwd".to_string(),
            procid: None,
            sd_id: Some("o365fwd@32473".to_string()),
            max_message_size: Self::DEFAULT_MAX,
            timeout: Duration::from_secs(30),
            resend_window: Duration::from_secs(5),
            tls: TlsConfig::default(),
        }
    }
}

/// Facility names (RFC 5424 §6.2.1) as the config spells them.
pub const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];
pub const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

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
