//! Sinks: where records go. Each sink runs as its own task (or thread, for blocking I/O),
//! takes batches in submission order, encodes them in its format and acknowledges each batch
//! once the receiver has it durably. A sink retries transient failures itself and never
//! acknowledges what it has not delivered: while it cannot deliver, the pipeline stalls.

pub mod file;
pub mod kafka;
pub mod stdout;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{SinkConfig, SinkKind};
use crate::format::Encoder;
use crate::pipeline::{SinkInput, SinkJob};
use crate::state::State;

/// Batches queued per sink before submission waits.
const QUEUE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("sink {sink}: {message}")]
    Setup { sink: String, message: String },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// A started sink: its input for the pipeline and the task to await at shutdown.
pub struct RunningSink {
    pub input: SinkInput,
    pub done: tokio::task::JoinHandle<()>,
}

/// Builds and starts a sink from its config. `abort` ends delivery attempts at a hard stop.
pub fn start(
    cfg: &SinkConfig,
    state: &State,
    abort: CancellationToken,
) -> Result<RunningSink, SinkError> {
    let (tx, rx) = mpsc::channel::<SinkJob>(QUEUE);
    let encoder = Encoder::new(cfg.format, cfg.format_options.clone());
    let done = match &cfg.kind {
        SinkKind::File { path } => {
            let committed = state.sink_offset(&cfg.name)?;
            let sink = file::FileSink::open(&cfg.name, path, committed, encoder)?;
            file::spawn(sink, rx, abort)
        }
        SinkKind::Stdout => stdout::spawn(&cfg.name, encoder, rx),
        SinkKind::Kafka(k) => kafka::spawn(&cfg.name, k, encoder, rx, abort)?,
    };
    Ok(RunningSink {
        input: SinkInput {
            name: cfg.name.clone(),
            tx,
        },
        done,
    })
}
