//! Delivery over datagrams (UDP, a local Unix socket): one message per datagram, a batch
//! acknowledged once every datagram was handed to the kernel. A send error is retried with
//! backoff (polling stalls); over UDP a datagram lost on the way cannot be known.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::transport::{Connector, Dgram};
use super::{Backoff, Formatter};
use crate::pipeline::{SinkAck, SinkJob};

pub(super) async fn run(
    name: String,
    formatter: Formatter,
    connector: Connector,
    mut rx: mpsc::Receiver<SinkJob>,
    abort: CancellationToken,
) {
    let metrics = crate::telemetry::SinkMetrics::new(&name);
    let mut sock: Option<Dgram> = None;
    let mut backoff = Backoff::new();
    let (mut payload, mut msg) = (Vec::new(), Vec::new());
    loop {
        let job = tokio::select! {
            _ = abort.cancelled() => return,
            job = rx.recv() => match job {
                Some(job) => job,
                None => return,
            },
        };
        let origin = job.batch.feed.origin();
        let mut rejected = Vec::new();
        for (i, rec) in job.records() {
            msg.clear();
            if let Some(original) = formatter.format(rec, &origin, &mut payload, &mut msg) {
                let max = formatter.max_message_size();
                metrics.syslog_truncated(rec.id(), original, max);
            }
            loop {
                let r = match &sock {
                    Some(s) => s.send(&msg).await,
                    None => match connector.datagram().await {
                        Ok(s) => {
                            sock = Some(s);
                            continue;
                        }
                        Err(e) => Err(e),
                    },
                };
                match r {
                    Ok(()) => break,
                    Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                        let reason = format!(
                            "a message of {} bytes is too large for this socket: {e}",
                            msg.len()
                        );
                        rejected.push((i, reason));
                        break;
                    }
                    Err(e) => {
                        sock = None;
                        let delay = backoff.next();
                        tracing::warn!(sink = %name, address = %connector.address(), error = %e,
                            retry_in_ms = delay.as_millis() as u64,
                            "Cannot send to the syslog receiver; retrying. Polling stalls until it works.");
                        metrics.error();
                        tokio::select! {
                            _ = abort.cancelled() => return,
                            _ = tokio::time::sleep(delay) => {}
                        }
                    }
                }
            }
        }
        backoff.reset();
        let _ = job.ack.send(SinkAck {
            rejected,
            offset: None,
        });
    }
}
