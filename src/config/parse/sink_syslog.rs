//! The keys of `[sinks.NAME] type = "syslog"`. Header values are validated here (printable
//! ASCII, RFC lengths) so a bad one is a config error, not a silently rewritten field.

use std::path::Path;
use std::time::Duration;

use super::table::{Ctx, Span, Table};
use crate::sink::syslog::{
    FACILITIES, Framing, Rfc, SEVERITIES, SyslogConfig, Transport, check_tls,
};

pub(super) fn syslog(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, base: &Path) -> SyslogConfig {
    let transport = match t.required_str(ctx, "transport", "udp, tcp, tls or unix") {
        Some((s, span)) => Transport::parse(s).unwrap_or_else(|| {
            let msg = format!("unknown transport {s:?} (expected udp, tcp, tls or unix)");
            ctx.report(&t.key("transport"), Some(&span), msg);
            Transport::Tcp
        }),
        None => Transport::Tcp,
    };
    let what = if transport == Transport::Unix {
        "the socket path, e.g. /dev/log"
    } else {
        "host:port of the receiver"
    };
    let address = match t.required_str(ctx, "address", what) {
        Some((s, span)) => address(ctx, t, s, &span, transport, base),
        None => String::new(),
    };
    let mut cfg = SyslogConfig::new(&address, transport);
    let stream = transport.is_stream();

    if let Some((s, span)) = t.str(ctx, "framing") {
        let key = t.key("framing");
        match s {
            _ if !stream => ctx.report(&key, Some(&span), "applies only to transport tcp or tls"),
            "octet_counting" => cfg.framing = Framing::OctetCounting,
            "lf" if transport == Transport::Tls => ctx.report(
                &key,
                Some(&span),
                "TLS requires octet_counting framing (RFC 5425)",
            ),
            "lf" => cfg.framing = Framing::Lf,
            _ => ctx.report(
                &key,
                Some(&span),
                format!("unknown framing {s:?} (expected octet_counting or lf)"),
            ),
        }
    }
    if let Some((s, span)) = name_or_number(ctx, t, "rfc") {
        match s.as_str() {
            "5424" => cfg.rfc = Rfc::Rfc5424,
            "3164" => cfg.rfc = Rfc::Rfc3164,
            _ => ctx.report(
                &t.key("rfc"),
                Some(&span),
                format!("unknown rfc {s:?} (expected \"5424\" or \"3164\")"),
            ),
        }
    }
    if let Some((s, span)) = name_or_number(ctx, t, "facility") {
        match code(&s, &FACILITIES) {
            Some(n) => cfg.facility = n,
            None => ctx.report(
                &t.key("facility"),
                Some(&span),
                format!(
                    "unknown facility {s:?} (expected 0-23 or one of: {})",
                    FACILITIES.join(", ")
                ),
            ),
        }
    }
    if let Some((s, span)) = name_or_number(ctx, t, "severity") {
        match code(&s, &SEVERITIES) {
            _ if s == "auto" => cfg.severity = None,
            Some(n) => cfg.severity = Some(n),
            None => ctx.report(
                &t.key("severity"),
                Some(&span),
                format!(
                    "unknown severity {s:?} (expected auto, 0-7 or one of: {})",
                    SEVERITIES.join(", ")
                ),
            ),
        }
    }
    cfg.hostname = header_value(ctx, t, "hostname", 255);
    if let Some(a) = header_value(ctx, t, "app_name", 48) {
        cfg.app_name = a;
    }
    cfg.procid = header_value(ctx, t, "procid", 128);
    let sd = t.bool(ctx, "structured_data", true);
    if let Some((s, span)) = t.str(ctx, "sd_id") {
        let bad = s.is_empty()
            || s.len() > 32
            || !s
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"'));
        if bad {
            ctx.report(
                &t.key("sd_id"),
                Some(&span),
                "must be 1 to 32 printable ASCII characters without space, `=`, `]` or `\"`",
            );
        } else if !s.contains('@') {
            ctx.report(&t.key("sd_id"), Some(&span), "must be a private SD-ID of the form name@<enterprise number> (names without `@` are reserved to IANA)");
        } else {
            cfg.sd_id = Some(s.to_string());
        }
    }
    if !sd {
        cfg.sd_id = None;
    }
    let max = if stream {
        1 << 20
    } else {
        SyslogConfig::UDP_MAX as i64
    };
    cfg.max_message_size = t.int(
        ctx,
        "max_message_size",
        480..=max,
        SyslogConfig::DEFAULT_MAX,
    );
    const MIN10: Duration = Duration::from_secs(600);
    cfg.timeout = t.duration(ctx, "timeout", cfg.timeout, Duration::from_secs(1), MIN10);
    if !stream {
        only_with(ctx, t, "resend_window", "transport tcp or tls");
    }
    cfg.resend_window = t.duration(
        ctx,
        "resend_window",
        cfg.resend_window,
        Duration::ZERO,
        MIN10,
    );
    tls(ctx, t, &mut cfg, base);
    cfg
}

fn address(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    s: &str,
    span: &Span,
    transport: Transport,
    base: &Path,
) -> String {
    let key = t.key("address");
    if transport == Transport::Unix {
        if s.is_empty() {
            ctx.report(&key, Some(span), "is empty");
        }
        return super::resolve(base, s).display().to_string();
    }
    let problem = match s.rsplit_once(':') {
        None => Some("expected host:port, e.g. \"127.0.0.1:6514\""),
        Some((host, _)) if host.is_empty() || host == "[]" => {
            Some("the host is missing (expected host:port)")
        }
        Some((host, _))
            if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) =>
        {
            Some("write an IPv6 address in brackets: \"[::1]:6514\"")
        }
        Some((_, port)) if !port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Some("the port must be 1 to 65535")
        }
        Some(_) => None,
    };
    if let Some(p) = problem {
        ctx.report(&key, Some(span), format!("{s:?}: {p}"));
    }
    s.to_string()
}

/// A string or an integer, as a string (`rfc = 5424` and `rfc = "5424"` both work).
fn name_or_number(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    key: &'static str,
) -> Option<(String, Span)> {
    let v = t.get(key)?;
    if let Some(s) = v.get_ref().as_str() {
        return Some((s.to_string(), v.span()));
    }
    if let Some(i) = v.get_ref().as_integer() {
        let n = i64::from_str_radix(i.as_str(), i.radix()).ok()?;
        return Some((n.to_string(), v.span()));
    }
    t.wrong_type(ctx, key, v, "a name or a number");
    None
}

/// A code given by number or by name in `names` (whose index is the code).
fn code(s: &str, names: &[&str]) -> Option<u8> {
    match s.parse::<usize>() {
        Ok(n) => (n < names.len()).then_some(n as u8),
        Err(_) => names.iter().position(|n| *n == s).map(|n| n as u8),
    }
}

/// A header field: 1 to `max` printable ASCII characters, no spaces.
fn header_value(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    key: &'static str,
    max: usize,
) -> Option<String> {
    let (s, span) = t.str(ctx, key)?;
    if s.is_empty() || s.len() > max || !s.chars().all(|c| c.is_ascii_graphic()) {
        let msg =
            format!("must be 1 to {max} printable ASCII characters without spaces (RFC 5424)");
        ctx.report(&t.key(key), Some(&span), msg);
        return None;
    }
    Some(s.to_string())
}

/// Reports `key` when present: it has no meaning with this transport.
fn only_with(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, key: &'static str, what: &str) -> bool {
    match t.get(key) {
        Some(v) => {
            ctx.report(
                &t.key(key),
                Some(&v.span()),
                format!("applies only with {what}"),
            );
            true
        }
        None => false,
    }
}

const TLS_KEYS: [&str; 6] = [
    "tls_ca_file",
    "tls_cert_file",
    "tls_key_file",
    "tls_server_name",
    "tls_insecure_skip_verify",
    "tls_pinned_cert_file",
];

fn tls(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, cfg: &mut SyslogConfig, base: &Path) {
    if cfg.transport != Transport::Tls {
        for k in TLS_KEYS {
            only_with(ctx, t, k, "transport = \"tls\"");
        }
        return;
    }
    let before = ctx.problems.len();
    let path = |ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, key: &'static str| {
        let (s, span) = t.str(ctx, key)?;
        if s.is_empty() {
            ctx.report(&t.key(key), Some(&span), "is empty");
            return None;
        }
        Some((super::resolve(base, s), span))
    };
    cfg.tls.ca_file = path(ctx, t, "tls_ca_file").map(|(p, _)| p);
    let cert = path(ctx, t, "tls_cert_file");
    let key = path(ctx, t, "tls_key_file");
    match (&cert, &key) {
        (Some(_), None) => t.missing(ctx, "tls_key_file", "the client certificate's private key"),
        (None, Some((_, span))) => ctx.report(
            &t.key("tls_key_file"),
            Some(span),
            "set tls_cert_file too (the client certificate for this key)",
        ),
        _ => {}
    }
    cfg.tls.cert_file = cert.map(|(p, _)| p);
    if let Some((p, span)) =
        key.filter(|(p, span)| super::secret::private(ctx, &t.key("tls_key_file"), span, p))
    {
        match super::secret::read_file(&p) {
            Ok(k) => cfg.tls.key = Some(crate::config::Secret::new(k)),
            Err(e) => ctx.report(&t.key("tls_key_file"), Some(&span), e),
        }
    }
    if let Some((s, span)) = t.str(ctx, "tls_server_name") {
        if s.is_empty() {
            ctx.report(&t.key("tls_server_name"), Some(&span), "is empty");
        } else {
            cfg.tls.server_name = Some(s.to_string());
        }
    }
    cfg.tls.insecure_skip_verify = t.bool(ctx, "tls_insecure_skip_verify", false);
    if let Some((p, span)) = path(ctx, t, "tls_pinned_cert_file") {
        let other = match (&cfg.tls.ca_file, cfg.tls.insecure_skip_verify) {
            (Some(_), _) => Some("tls_ca_file"),
            (None, true) => Some("tls_insecure_skip_verify"),
            (None, false) => None,
        };
        if let Some(other) = other {
            ctx.report(
                &t.key("tls_pinned_cert_file"),
                Some(&span),
                format!("a pinned certificate replaces the CA check: remove {other}"),
            );
        }
        cfg.tls.pinned_cert = Some(p);
    }
    if ctx.problems.len() == before {
        // Read the files now, so `check` and start-up fail on them, not the first batch.
        if let Err(e) = check_tls(cfg) {
            let span = t.span.clone();
            ctx.report(&t.key("transport"), span.as_ref(), format!("TLS: {e}"));
        }
    }
}
