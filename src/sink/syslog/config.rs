//! `[sinks.NAME] type = "syslog"`: the settings, their defaults, and the rules a value must
//! pass (printable ASCII and RFC lengths for header fields, so a bad one is a config error,
//! not a silently rewritten field). `config` reads the TOML and applies these rules; nothing
//! here knows about TOML.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

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
    /// A fixed severity 0–7; `None` derives it from the record (see [`super::severity_of_cef`]).
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
    /// Default `max_message_size`: RFC 5425 receivers must take 8192 bytes.
    pub const DEFAULT_MAX: usize = 8192;
    /// The largest UDP payload over IPv4.
    pub const UDP_MAX: usize = 65_507;
    /// The largest `max_message_size` on a stream transport.
    pub const STREAM_MAX: usize = 1 << 20;
    /// The smallest `max_message_size`: RFC 5424 receivers must take 480 bytes.
    pub const MIN_MAX: usize = 480;
    /// Default `facility`: local0.
    pub const DEFAULT_FACILITY: u8 = 16;
    /// Default `app_name`.
    pub const DEFAULT_APP_NAME: &str = "o365fwd";
    /// Default `sd_id`: the project's private SD-ID.
    pub const DEFAULT_SD_ID: &str = "o365fwd@32473";
    /// Default `timeout`.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    pub const TIMEOUT_RANGE: RangeInclusive<Duration> =
        Duration::from_secs(1)..=Duration::from_secs(600);
    /// Default `resend_window`.
    pub const DEFAULT_RESEND_WINDOW: Duration = Duration::from_secs(5);
    pub const RESEND_WINDOW_RANGE: RangeInclusive<Duration> =
        Duration::ZERO..=Duration::from_secs(600);
    /// Header fields and their RFC 5424 length limits.
    pub const HOSTNAME_MAX: usize = 255;
    pub const APP_NAME_MAX: usize = 48;
    pub const PROCID_MAX: usize = 128;

    /// Allowed `max_message_size` on `transport`.
    pub fn max_message_size_range(transport: Transport) -> RangeInclusive<i64> {
        let max = if transport.is_stream() {
            Self::STREAM_MAX
        } else {
            Self::UDP_MAX
        };
        Self::MIN_MAX as i64..=max as i64
    }

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
            app_name: Self::DEFAULT_APP_NAME.to_string(),
            procid: None,
            sd_id: Some(Self::DEFAULT_SD_ID.to_string()),
            max_message_size: Self::DEFAULT_MAX,
            timeout: Self::DEFAULT_TIMEOUT,
            resend_window: Self::DEFAULT_RESEND_WINDOW,
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

/// A facility (0–23) or a severity (0–7), given by number or by name in `names` (whose
/// index is the code).
pub fn code(s: &str, names: &[&str]) -> Option<u8> {
    match s.parse::<usize>() {
        Ok(n) => (n < names.len()).then_some(n as u8),
        Err(_) => names.iter().position(|n| *n == s).map(|n| n as u8),
    }
}

/// `address` on a network transport: `host:port`, IPv6 in brackets.
pub fn network_address(s: &str) -> Result<(), String> {
    let problem = match s.rsplit_once(':') {
        None => "expected host:port, e.g. \"127.0.0.1:6514\"",
        Some((host, _)) if host.is_empty() || host == "[]" => {
            "the host is missing (expected host:port)"
        }
        Some((host, _))
            if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) =>
        {
            "write an IPv6 address in brackets: \"[::1]:6514\""
        }
        Some((_, port)) if !port.parse::<u16>().is_ok_and(|p| p > 0) => {
            "the port must be 1 to 65535"
        }
        Some(_) => return Ok(()),
    };
    Err(format!("{s:?}: {problem}"))
}

/// A header field (HOSTNAME, APP-NAME, PROCID): 1 to `max` printable ASCII characters, no
/// spaces (RFC 5424).
pub fn header_field(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() || s.len() > max || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "must be 1 to {max} printable ASCII characters without spaces (RFC 5424)"
        ));
    }
    Ok(())
}

/// `sd_id`: a private SD-ID (`name@<enterprise number>`), 1 to 32 printable ASCII
/// characters without space, `=`, `]` or `"`.
pub fn sd_id(s: &str) -> Result<(), String> {
    let bad = s.is_empty()
        || s.len() > 32
        || !s
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"'));
    if bad {
        return Err(
            "must be 1 to 32 printable ASCII characters without space, `=`, `]` or `\"`".into(),
        );
    }
    if !s.contains('@') {
        return Err("must be a private SD-ID of the form name@<enterprise number> (names without `@` are reserved to IANA)".into());
    }
    Ok(())
}
