//! The message formatter: RFC 5424 header and structured data (RFC 3164 in its own module),
//! then the encoded record as MSG, cut to the size limit with a marker.
//!
//! Header fields are PRINTUSASCII with their RFC lengths whatever the config or the record
//! holds: a space or a newline in a header field would shift every field after it.

use std::io::Write;

use chrono::SecondsFormat;

use super::truncate::{self, Kind};
use super::{Framing, Rfc, SyslogConfig, rfc3164, severity_of_cef};
use crate::format::{Encoder, Format, Origin};
use crate::record::Record;

/// Longest SD parameter value, in bytes before escaping (a record id is a GUID; this only
/// bounds hostile input so the header cannot eat the message).
const SD_VALUE_MAX: usize = 128;
/// Payload room below which the structured data is left out rather than the record cut to
/// nothing.
const MIN_PAYLOAD: usize = 64;

/// Turns records into complete syslog messages (without framing). Cheap to share.
#[derive(Debug, Clone)]
pub struct Formatter {
    rfc: Rfc,
    /// LF framing: a line feed in the payload would end the frame early.
    replace_lf: bool,
    facility: u8,
    severity: Option<u8>,
    hostname: String,
    app_name: String,
    procid: String,
    sd_id: Option<String>,
    max: usize,
    encoder: Encoder,
}

impl Formatter {
    pub fn new(cfg: &SyslogConfig, encoder: Encoder) -> Formatter {
        let hostname = cfg.hostname.clone().unwrap_or_else(system_hostname);
        let procid = cfg
            .procid
            .clone()
            .unwrap_or_else(|| std::process::id().to_string());
        Formatter {
            rfc: cfg.rfc,
            replace_lf: cfg.transport.is_stream() && cfg.framing == Framing::Lf,
            facility: cfg.facility.min(23),
            severity: cfg.severity.map(|s| s.min(7)),
            hostname: header_field(&hostname, 255),
            app_name: header_field(&cfg.app_name, 48),
            procid: header_field(&procid, 128),
            sd_id: cfg.sd_id.as_deref().map(sd_name),
            max: cfg.max_message_size.max(480),
            encoder,
        }
    }

    /// Messages are never longer than this (framing excluded).
    pub fn max_message_size(&self) -> usize {
        self.max
    }

    /// Appends one complete message for `rec` to `out` (no framing). `payload` is scratch
    /// space. Returns the payload's original length when it had to be truncated.
    pub fn format(
        &self,
        rec: &Record,
        origin: &Origin<'_>,
        payload: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Option<usize> {
        payload.clear();
        self.encoder.encode(rec, origin, payload);
        let severity = self
            .severity
            .unwrap_or_else(|| self.derived_severity(rec, origin, payload));
        let pri = self.facility * 8 + severity;
        let start = out.len();
        self.header(out, pri, rec, origin, true);
        if self.rfc == Rfc::Rfc5424
            && self.sd_id.is_some()
            && out.len() - start + MIN_PAYLOAD > self.max
        {
            out.truncate(start);
            self.header(out, pri, rec, origin, false);
        }
        if self.replace_lf {
            payload
                .iter_mut()
                .filter(|b| **b == b'\n')
                .for_each(|b| *b = b' ');
        }
        let mut truncated = None;
        if !payload.is_empty() {
            out.push(b' ');
            let budget = self.max.saturating_sub(out.len() - start);
            if payload.len() <= budget {
                out.extend_from_slice(payload);
            } else {
                let kind = match self.encoder.format {
                    Format::Raw | Format::Ecs | Format::Ocsf => Kind::Json,
                    Format::Cef => Kind::Cef,
                    Format::Text => Kind::Text,
                };
                truncate::truncate(payload, budget, kind, out);
                truncated = Some(payload.len());
            }
        }
        if out.len() - start > self.max {
            // Only reachable with a header longer than the limit; never send more than it.
            let mut end = start + self.max;
            while end > start && !is_char_boundary(out, end) {
                end -= 1;
            }
            out.truncate(end);
        }
        truncated
    }

    /// From the CEF header when the payload is CEF, else from the CEF mapping's severity
    /// rules, so every format of one record gets the same severity.
    fn derived_severity(&self, rec: &Record, origin: &Origin<'_>, payload: &[u8]) -> u8 {
        let cef = match self.encoder.format {
            Format::Cef => cef_header_severity(payload),
            _ => None,
        };
        let cef = cef.unwrap_or_else(|| {
            crate::format::cef::event(rec, origin, &self.encoder.options).severity
        });
        severity_of_cef(cef)
    }

    fn header(&self, out: &mut Vec<u8>, pri: u8, rec: &Record, origin: &Origin<'_>, sd: bool) {
        if self.rfc == Rfc::Rfc3164 {
            rfc3164::header(out, pri, rec, &self.hostname, &self.app_name, &self.procid);
            return;
        }
        let _ = write!(out, "<{pri}>1 ");
        match rec.creation_time {
            Some(t) => {
                out.extend_from_slice(t.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes())
            }
            None => out.push(b'-'),
        }
        for field in [&self.hostname, &self.app_name, &self.procid] {
            out.push(b' ');
            out.extend_from_slice(field.as_bytes());
        }
        out.push(b' ');
        let msgid = header_field(rec.operation().unwrap_or(""), 32);
        out.extend_from_slice(msgid.as_bytes());
        out.push(b' ');
        match self.sd_id.as_deref().filter(|_| sd) {
            None => out.push(b'-'),
            Some(id) => {
                out.push(b'[');
                out.extend_from_slice(id.as_bytes());
                sd_param(out, "tenant", origin.tenant);
                sd_param(out, "tenantId", origin.tenant_id);
                sd_param(out, "contentType", origin.content_type.as_str());
                sd_param(out, "recordId", rec.id());
                out.push(b']');
            }
        }
    }
}

fn is_char_boundary(b: &[u8], i: usize) -> bool {
    i >= b.len() || (b[i] as i8) >= -0x40
}

/// A header field: PRINTUSASCII only (anything else becomes `_`), at most `max` bytes, `-`
/// (NILVALUE) when empty.
pub fn header_field(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if out.is_empty() {
        out.push('-');
    }
    out
}

/// An SD-NAME: PRINTUSASCII except `=`, space, `]` and `"`, at most 32 bytes.
pub fn sd_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(32)
        .map(|c| match c {
            '=' | ']' | '"' => '_',
            c if c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// ` name="value"` with `"`, `\` and `]` escaped (RFC 5424 §6.3.3), control characters
/// replaced by spaces (so LF framing and line-based receivers see one line), and the value
/// cut to [`SD_VALUE_MAX`] bytes on a character boundary.
fn sd_param(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    let mut end = value.len().min(SD_VALUE_MAX);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    for c in value[..end].chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if c.is_ascii_control() => out.push(b' '),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// The severity field of a CEF header (`CEF:0|v|p|ver|sig|name|SEV|`), if it is one.
fn cef_header_severity(payload: &[u8]) -> Option<u8> {
    if !payload.starts_with(b"CEF:") {
        return None;
    }
    let mut field = 0;
    let mut start = 0;
    let mut i = 0;
    while i < payload.len() {
        match payload[i] {
            b'\\' => i += 1,
            b'|' => {
                field += 1;
                if field == 6 {
                    start = i + 1;
                } else if field == 7 {
                    let s = std::str::from_utf8(&payload[start..i]).ok()?;
                    return s.trim().parse::<u8>().ok().map(|n| n.min(10));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The host name of this machine, as `gethostname(2)` reports it.
pub fn system_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "-".to_string();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests;
