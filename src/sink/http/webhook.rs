//! `http`: POST of NDJSON or a JSON array to any collector.
//!
//! A 2xx is delivered. 408, 429 and 5xx (except 501) are retried, waiting what `Retry-After`
//! asks; any other answer (4xx, a redirect, which is never followed) is a configuration
//! problem that stops the sink loudly while the data stays upstream.

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue};
use tokio_util::sync::CancellationToken;

use super::client::{Answer, exchange};
use super::config::{BatchLimits, Encoding, WebhookConfig};
use super::{Backoff, Deliver, Halt, Item};
use crate::format::{Encoder, Origin};
use crate::record::Record;
use crate::sink::SinkError;

pub(crate) struct WebhookSink {
    name: String,
    cfg: WebhookConfig,
    client: reqwest::Client,
    encoder: Encoder,
    headers: Vec<(HeaderName, HeaderValue)>,
}

pub fn start(
    name: &str,
    cfg: &WebhookConfig,
    encoder: Encoder,
    rx: tokio::sync::mpsc::Receiver<crate::pipeline::SinkJob>,
    abort: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, SinkError> {
    Ok(super::spawn(
        WebhookSink::new(name, cfg, encoder)?,
        rx,
        abort,
    ))
}

impl WebhookSink {
    pub fn new(
        name: &str,
        cfg: &WebhookConfig,
        encoder: Encoder,
    ) -> Result<WebhookSink, SinkError> {
        let client = super::build_client(name, &cfg.http)?;
        let mut headers = Vec::new();
        for h in &cfg.headers {
            let bad = |what: &str| SinkError::Setup {
                sink: name.to_string(),
                message: format!("header {:?}: {what}", h.name),
            };
            let n = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad("invalid name"))?;
            let mut v = HeaderValue::from_str(h.value.expose())
                .map_err(|_| bad("the value contains characters not allowed in a header"))?;
            v.set_sensitive(true);
            headers.push((n, v));
        }
        Ok(WebhookSink {
            name: name.to_string(),
            cfg: cfg.clone(),
            client,
            encoder,
            headers,
        })
    }

    fn body(&self, items: &[Item], group: &[usize]) -> Vec<u8> {
        let mut raw = Vec::new();
        match self.cfg.encoding {
            Encoding::Ndjson => {
                for &i in group {
                    raw.extend_from_slice(&items[i].data);
                    raw.push(b'\n');
                }
            }
            Encoding::JsonArray => {
                raw.push(b'[');
                for (k, &i) in group.iter().enumerate() {
                    if k > 0 {
                        raw.push(b',');
                    }
                    raw.extend_from_slice(&items[i].data);
                }
                raw.push(b']');
            }
        }
        raw
    }

    async fn send_group(
        &self,
        items: &[Item],
        group: &[usize],
        abort: &CancellationToken,
    ) -> Result<(), Halt> {
        let mut backoff = Backoff::new(self.cfg.http.retry_max_backoff);
        let compress = self.cfg.http.compression;
        let content_type = match self.cfg.encoding {
            Encoding::Ndjson => "application/x-ndjson",
            Encoding::JsonArray => "application/json",
        };
        let body = bytes::Bytes::from(super::body(self.body(items, group), compress));
        loop {
            let mut req = self
                .client
                .post(self.cfg.url.as_str())
                .header(CONTENT_TYPE, content_type);
            if compress {
                req = req.header(CONTENT_ENCODING, "gzip");
            }
            for (n, v) in &self.headers {
                req = req.header(n.clone(), v.clone());
            }
            let Some(Answer {
                status,
                hint,
                body: text,
            }) = exchange(
                &self.name,
                "Webhook",
                req.body(body.clone()),
                &mut backoff,
                abort,
            )
            .await?
            else {
                continue;
            };
            match status {
                200..=299 => return Ok(()),
                408 | 429 | 500 | 502..=599 => {
                    tracing::warn!(sink = %self.name, status, retry_after = ?hint, "The webhook is busy or failing; retrying. Polling stalls meanwhile.");
                    crate::telemetry::sink_retry(&self.name, "busy");
                    backoff.wait(hint, abort).await?;
                }
                _ => {
                    let snippet =
                        String::from_utf8_lossy(&text[..text.len().min(300)]).into_owned();
                    let reason = if (300..400).contains(&status) {
                        format!(
                            "HTTP {status}: redirects are not followed; set url to the final address"
                        )
                    } else {
                        format!("HTTP {status}: {snippet}")
                    };
                    tracing::error!(sink = %self.name, url = %self.cfg.url, reason, "The webhook refuses our requests.");
                    return Err(Halt::Stopped(reason));
                }
            }
        }
    }
}

impl Deliver for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }
    fn limits(&self) -> BatchLimits {
        self.cfg.http.batch
    }
    fn concurrency(&self) -> usize {
        self.cfg.http.concurrency
    }

    fn encode(&self, rec: &Record, origin: &Origin<'_>, out: &mut Vec<u8>) {
        let mut scratch = Vec::new();
        match self.cfg.encoding {
            Encoding::Ndjson => {
                self.encoder.encode(rec, origin, &mut scratch);
                super::push_one_line(out, &scratch);
            }
            Encoding::JsonArray => {
                super::push_json_value(&self.encoder, rec, origin, &mut scratch, out)
            }
        }
    }

    async fn healthcheck(&self, _abort: &CancellationToken) -> Result<(), Halt> {
        Ok(())
    }

    async fn deliver(
        &self,
        items: &[Item],
        abort: &CancellationToken,
    ) -> Result<Vec<(usize, String)>, Halt> {
        let all: Vec<usize> = (0..items.len()).collect();
        for group in super::chunks(items, &all, &self.cfg.http.batch) {
            self.send_group(items, &group, abort).await?;
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Format, FormatOptions};
    use crate::record::{ContentType, parse_blob};
    use crate::secret::{Secret, SecretOrigin};
    use crate::sink::http::config::{Header, HttpCommon, WEBHOOK_LIMITS as LIMITS};
    use url::Url;

    fn sink(encoding: Encoding, format: Format) -> WebhookSink {
        let cfg = WebhookConfig {
            url: Url::parse("http://127.0.0.1:1/in").unwrap(),
            encoding,
            headers: vec![Header {
                name: "X-Api-Key".into(),
                value: Secret::new("k"),
                origin: SecretOrigin::Inline,
            }],
            http: HttpCommon::new(false, LIMITS),
        };
        WebhookSink::new("h", &cfg, Encoder::new(format, FormatOptions::default())).unwrap()
    }

    fn items(s: &WebhookSink) -> Vec<Item> {
        let recs = parse_blob("c", b"[{\"Id\":\"a\",\n\"N\":1},{\"Id\":\"b\"}]").unwrap();
        let origin = Origin {
            tenant: "t",
            tenant_id: "tid",
            content_type: ContentType::General,
        };
        recs.iter()
            .enumerate()
            .map(|(i, r)| {
                let mut data = Vec::new();
                s.encode(r, &origin, &mut data);
                Item {
                    job: 0,
                    index: i,
                    data,
                }
            })
            .collect()
    }

    #[test]
    fn ndjson_and_json_array_bodies() {
        let s = sink(Encoding::Ndjson, Format::Raw);
        let it = items(&s);
        let body = String::from_utf8(s.body(&it, &[0, 1])).unwrap();
        assert_eq!(body.lines().count(), 2, "{body}");
        assert!(body.ends_with('\n'));
        for l in body.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
        let s = sink(Encoding::JsonArray, Format::Raw);
        let it = items(&s);
        let v: serde_json::Value = serde_json::from_slice(&s.body(&it, &[1, 0])).unwrap();
        assert_eq!(v[0]["Id"], "b");
        assert_eq!(v[1]["N"], 1);
        let s = sink(Encoding::JsonArray, Format::Text);
        let it = items(&s);
        let v: serde_json::Value = serde_json::from_slice(&s.body(&it, &[0])).unwrap();
        assert!(v[0].is_string());
        assert!(s.headers[0].1.is_sensitive());
    }
}
