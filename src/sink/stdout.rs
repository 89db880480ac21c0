//! `stdout`: one record per line on standard output, flushed before acknowledging.

use std::io::Write;

use super::{Context, SinkError, Task};
use crate::pipeline::SinkAck;

/// Starts the sink on a blocking thread (writes to standard output block).
pub async fn start(cx: Context) -> Result<Task, SinkError> {
    let Context {
        name,
        encoder,
        mut queue,
        ..
    } = cx;
    Ok(tokio::task::spawn_blocking(move || {
        let mut buf = Vec::with_capacity(1 << 16);
        while let Some(job) = queue.blocking_recv() {
            crate::failpoint::panic_once("sink", &name);
            buf.clear();
            let origin = job.batch.feed.origin();
            for (_, rec) in job.records() {
                encoder.encode(rec, &origin, &mut buf);
                buf.push(b'\n');
            }
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&buf).and_then(|_| out.flush()) {
                // A closed stdout (e.g. `| head`) cannot take anything again: stop without
                // acknowledging, so nothing is committed as delivered.
                tracing::error!(sink = %name, error = %e, "Cannot write to standard output; this sink stops.");
                return;
            }
            let _ = job.ack.send(SinkAck::default());
        }
    }))
}
