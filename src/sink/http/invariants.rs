//! What every HTTP sink's envelope of any record must satisfy: a HEC event is one JSON
//! object, a webhook item one JSON value (and, for the JSON formats, one line), an
//! Elasticsearch bulk item an action line and a document line, each one JSON object. The
//! sinks rely on it instead of parsing each record again on the hot path; the fuzz target
//! `record_formats` and a unit test run this check.

use std::sync::OnceLock;

use serde_json::value::RawValue;

use super::Deliver;
use super::config::{
    ES_LIMITS, Encoding, EsAuth, EsConfig, EsTarget, HEC_LIMITS, HecConfig, HttpCommon,
    O365_SOURCETYPE, WEBHOOK_LIMITS as HOOK_LIMITS, WebhookConfig,
};
use super::elasticsearch::EsSink;
use super::es_integration::EsIntegration;
use super::hec::HecSink;
use super::webhook::WebhookSink;
use crate::format::{Encoder, Format, FormatOptions, Origin, invariants};
use crate::record::Record;
use crate::secret::{Secret, SecretOrigin};

/// One sink's `Deliver::encode`.
type Wrap = Box<dyn Fn(&Record, &Origin<'_>, &mut Vec<u8>) + Send + Sync>;

/// How one sink wraps one record, and what the result must be.
struct Envelope {
    what: String,
    encode: Wrap,
    /// Lines that must each be one JSON value (`None`: the whole is one JSON value).
    lines: Option<usize>,
    /// Whether each line must be a JSON object, not any value: a webhook line and a raw bulk
    /// document carry the record as it came, and a raw record need not be an object.
    objects: bool,
}

/// Parses `body` as a blob and wraps every record in every HTTP sink's envelope, in every
/// format and with and without `keep_original`; panics on any broken invariant.
pub fn check(body: &[u8]) {
    let mut out = Vec::new();
    for rec in &invariants::records(body) {
        for e in envelopes() {
            out.clear();
            (e.encode)(rec, &invariants::ORIGIN, &mut out);
            let text = std::str::from_utf8(&out)
                .unwrap_or_else(|err| panic!("{}: not UTF-8 ({err})", e.what));
            match e.lines {
                None => {
                    serde_json::from_str::<&RawValue>(text).unwrap_or_else(|err| {
                        panic!("{}: not JSON ({err}) for {}", e.what, rec.raw.get())
                    });
                }
                Some(n) => {
                    let lines: Vec<&str> = text.split_terminator('\n').collect();
                    assert_eq!(
                        lines.len(),
                        n,
                        "{}: {n} lines for {}",
                        e.what,
                        rec.raw.get()
                    );
                    for l in lines {
                        let v: &RawValue = serde_json::from_str(l).unwrap_or_else(|err| {
                            panic!("{}: line not JSON ({err}) for {}", e.what, rec.raw.get())
                        });
                        assert!(
                            !e.objects || v.get().starts_with('{'),
                            "{}: a JSON object",
                            e.what
                        );
                    }
                }
            }
        }
    }
}

/// Every sink, format and option, built once (building a sink builds its HTTP client).
fn envelopes() -> &'static [Envelope] {
    static ALL: OnceLock<Vec<Envelope>> = OnceLock::new();
    ALL.get_or_init(|| {
        let url = url::Url::parse("http://127.0.0.1:1/p").expect("a URL");
        let mut all = Vec::new();
        for format in Format::ALL {
            for keep_original in [false, true] {
                let enc = Encoder::new(
                    format,
                    FormatOptions {
                        keep_original,
                        ..FormatOptions::default()
                    },
                );
                let what = |sink: &str| format!("{sink} {format:?} keep_original={keep_original}");
                let hec = HecConfig {
                    endpoint: url.clone(),
                    token: Secret::new("t"),
                    token_origin: SecretOrigin::Inline,
                    indexer_ack: false,
                    ack_poll_interval: std::time::Duration::from_secs(1),
                    ack_timeout: std::time::Duration::from_secs(1),
                    index: Some("i\"x".into()),
                    source: Some("s".into()),
                    host: Some("h\n".into()),
                    sourcetype: O365_SOURCETYPE.into(),
                    http: HttpCommon::new(false, HEC_LIMITS),
                };
                let s = HecSink::new("hec", &hec, enc.clone()).expect("HEC sink");
                all.push(Envelope {
                    what: what("splunk_hec"),
                    encode: Box::new(move |r, o, out| s.encode(r, o, out)),
                    lines: None,
                    objects: true,
                });
                for encoding in [Encoding::JsonArray, Encoding::Ndjson] {
                    let json = !matches!(format, Format::Cef | Format::Text);
                    if encoding == Encoding::Ndjson && !json {
                        continue;
                    }
                    let hook = WebhookConfig {
                        url: url.clone(),
                        encoding,
                        headers: Vec::new(),
                        http: HttpCommon::new(false, HOOK_LIMITS),
                    };
                    let s = WebhookSink::new("hook", &hook, enc.clone()).expect("webhook sink");
                    all.push(Envelope {
                        what: what(&format!("http {encoding:?}")),
                        encode: Box::new(move |r, o, out| s.encode(r, o, out)),
                        lines: (encoding == Encoding::Ndjson).then_some(1),
                        objects: false,
                    });
                }
                if matches!(format, Format::Cef | Format::Text) {
                    continue;
                }
                for integration in [
                    None,
                    Some(EsIntegration {
                        namespace: "default".into(),
                    }),
                ] {
                    let es = EsConfig {
                        endpoint: url.clone(),
                        target: EsTarget::DataStream("logs-o365.audit-default".into()),
                        auth: EsAuth::None,
                        http: HttpCommon::new(false, ES_LIMITS),
                        pipeline: Some("p\"".into()),
                        integration: integration.clone(),
                    };
                    let s = EsSink::new("es", &es, enc.clone()).expect("Elasticsearch sink");
                    all.push(Envelope {
                        what: what(&format!(
                            "elasticsearch integration={}",
                            integration.is_some()
                        )),
                        encode: Box::new(move |r, o, out| s.encode(r, o, out)),
                        lines: Some(2),
                        // A raw record goes as it came; one that is not an object is
                        // refused by Elasticsearch item by item (recorded as rejected).
                        objects: format != Format::Raw,
                    });
                }
            }
        }
        all
    })
}

#[cfg(test)]
mod tests;
