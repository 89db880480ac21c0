//! The keys of `[sinks.NAME] type = "syslog"`, checked by the sink's rules
//! ([`crate::sink::syslog::config`]).

use std::path::Path;

use super::table::{Ctx, Span, Table};
use crate::sink::syslog::check_tls;
use crate::sink::syslog::config::{
    self as rules, FACILITIES, Framing, Rfc, SEVERITIES, SyslogConfig, Transport,
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
        match rules::code(&s, &FACILITIES) {
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
        match rules::code(&s, &SEVERITIES) {
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
    cfg.hostname = header_value(ctx, t, "hostname", SyslogConfig::HOSTNAME_MAX);
    if let Some(a) = header_value(ctx, t, "app_name", SyslogConfig::APP_NAME_MAX) {
        cfg.app_name = a;
    }
    cfg.procid = header_value(ctx, t, "procid", SyslogConfig::PROCID_MAX);
    let sd = t.bool(ctx, "structured_data", true);
    if let Some((s, span)) = t.str(ctx, "sd_id") {
        match rules::sd_id(s) {
            Ok(()) => cfg.sd_id = Some(s.to_string()),
            Err(e) => ctx.report(&t.key("sd_id"), Some(&span), e),
        }
    }
    if !sd {
        cfg.sd_id = None;
    }
    cfg.max_message_size = t.int(
        ctx,
        "max_message_size",
        SyslogConfig::max_message_size_range(transport),
        SyslogConfig::DEFAULT_MAX,
    );
    cfg.timeout = t.duration(ctx, "timeout", cfg.timeout, SyslogConfig::TIMEOUT_RANGE);
    if !stream {
        only_with(ctx, t, "resend_window", "transport tcp or tls");
    }
    cfg.resend_window = t.duration(
        ctx,
        "resend_window",
        cfg.resend_window,
        SyslogConfig::RESEND_WINDOW_RANGE,
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
    if let Err(e) = rules::network_address(s) {
        ctx.report(&key, Some(span), e);
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

/// A header field: 1 to `max` printable ASCII characters, no spaces.
fn header_value(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    key: &'static str,
    max: usize,
) -> Option<String> {
    let (s, span) = t.str(ctx, key)?;
    match rules::header_field(s, max) {
        Ok(()) => Some(s.to_string()),
        Err(e) => {
            ctx.report(&t.key(key), Some(&span), e);
            None
        }
    }
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
        match crate::secret::read_file(&p) {
            Ok(k) => cfg.tls.key = Some(crate::secret::Secret::new(k)),
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
                crate::sink::tls::pinned_excludes(other),
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
