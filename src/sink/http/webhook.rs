//! `http`: POST of NDJSON or a JSON array to any collector.
//!
//! A 2xx is delivered. 408, 429 and 5xx (except 501) are retried, waiting what `Retry-After`
//! asks; any other answer (4xx, a redirect, which is never followed) is a configuration
//! problem that stops the sink loudly while the data stays upstream.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio_util::sync::CancellationToken;

use super::config::{Encoding, WebhookConfig};
use super::{Deliver, Endpoint, Flush, Halt, Item, Refused, transient};
use crate::format::{Encoder, Origin};
use crate::record::Record;
use crate::sink::SinkError;

pub(crate) struct WebhookSink {
    ep: Endpoint,
    cfg: WebhookConfig,
    encoder: Encoder,
}

impl WebhookSink {
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
        let mut backoff = self.ep.backoff();
        let content_type = match self.cfg.encoding {
            Encoding::Ndjson => "application/x-ndjson",
            Encoding::JsonArray => "application/json",
        };
        loop {
            let body = self.body(items, group);
            let a = (self.ep)
                .post(
                    self.cfg.url.as_str(),
                    content_type,
                    body,
                    &mut backoff,
                    abort,
                )
                .await?;
            match a.status {
                200..=299 => return Ok(()),
                s if transient(s) => self.ep.busy(&a, "", &mut backoff, abort).await?,
                s if (300..400).contains(&s) => {
                    return Err(self.ep.stop(format!(
                        "HTTP {s}: redirects are not followed; set url to the final address"
                    )));
                }
                s => {
                    let snippet = String::from_utf8_lossy(&a.body[..a.body.len().min(300)]);
                    return Err(self.ep.stop(format!("HTTP {s}: {snippet}")));
                }
            }
        }
    }
}

impl Deliver for WebhookSink {
    type Config = WebhookConfig;

    fn new(name: &str, cfg: &WebhookConfig, encoder: Encoder) -> Result<WebhookSink, SinkError> {
        let mut headers = HeaderMap::new();
        for h in &cfg.headers {
            let bad = |what: &str| SinkError::Setup {
                sink: name.to_string(),
                message: format!("header {:?}: {what}", h.name),
            };
            let n = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad("invalid name"))?;
            let mut v = HeaderValue::from_str(h.value.expose())
                .map_err(|_| bad("the value contains characters not allowed in a header"))?;
            v.set_sensitive(true);
            headers.append(n, v);
        }
        Ok(WebhookSink {
            ep: Endpoint::new(name, "The webhook", &cfg.url, &cfg.http, headers)?,
            cfg: cfg.clone(),
            encoder,
        })
    }

    fn endpoint(&self) -> &Endpoint {
        &self.ep
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

    async fn deliver(&self, flush: &Flush, abort: &CancellationToken) -> Result<Refused, Halt> {
        for group in &flush.groups {
            self.send_group(&flush.items, group, abort).await?;
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests;
