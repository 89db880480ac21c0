//! Sinks: where records go. Each sink runs as its own task (or thread, for blocking I/O),
//! takes batches in submission order, encodes them in its format and acknowledges each batch
//! once the receiver has it durably. A sink retries transient failures itself and never
//! acknowledges what it has not delivered: while it cannot deliver, the pipeline stalls.

pub mod file;
pub mod http;
pub mod kafka;
pub mod reassemble;
pub mod stdout;
pub mod syslog;
pub mod tls;

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

/// The sinks with the generation's enricher in their format options (`[enrich]`).
pub fn with_enrichment<'a>(
    sinks: impl IntoIterator<Item = &'a SinkConfig>,
    enrich: Option<&std::sync::Arc<crate::format::enrich::Enricher>>,
) -> Vec<SinkConfig> {
    sinks
        .into_iter()
        .map(|s| {
            let mut s = s.clone();
            s.format_options.enrich = enrich.cloned();
            s
        })
        .collect()
}

/// Starts every sink, or none: when one cannot start, `abort` is cancelled so the ones
/// already started stop (they have been given nothing).
#[allow(clippy::type_complexity)]
pub fn start_all<'a>(
    sinks: impl IntoIterator<Item = &'a SinkConfig>,
    state: &State,
    feeds: &[(String, String, crate::record::ContentType)],
    abort: &CancellationToken,
) -> Result<(Vec<SinkInput>, Vec<tokio::task::JoinHandle<()>>), SinkError> {
    let mut inputs = Vec::new();
    let mut tasks = Vec::new();
    for s in sinks {
        match start(s, state, feeds, abort.clone()) {
            Ok(r) => {
                inputs.push(r.input);
                tasks.push(r.done);
            }
            Err(e) => {
                abort.cancel();
                return Err(e);
            }
        }
    }
    Ok((inputs, tasks))
}

/// Builds and starts a sink from its config. `feeds` (tenant name, tenant id, content
/// type) lets a sink check at start what it will write to. `abort` ends delivery attempts at a hard stop.
pub fn start(
    cfg: &SinkConfig,
    state: &State,
    feeds: &[(String, String, crate::record::ContentType)],
    abort: CancellationToken,
) -> Result<RunningSink, SinkError> {
    let (tx, rx) = mpsc::channel::<SinkJob>(QUEUE);
    let rx = match &cfg.reassemble {
        Some(split) => reassemble::wrap(&cfg.name, split.clone(), rx),
        None => rx,
    };
    let encoder = Encoder::new(cfg.format, cfg.format_options.clone());
    let done = match &cfg.kind {
        SinkKind::File { path } => {
            let sink = file::FileSink::open(&cfg.name, path, state, encoder)?;
            file::spawn(sink, rx, abort)
        }
        SinkKind::Stdout => stdout::spawn(&cfg.name, encoder, rx),
        SinkKind::Syslog(c) => {
            syslog::spawn(&cfg.name, c, encoder, rx, abort).map_err(|message| SinkError::Setup {
                sink: cfg.name.clone(),
                message,
            })?
        }
        SinkKind::SplunkHec(c) => http::hec::start(&cfg.name, c, encoder, rx, abort)?,
        SinkKind::Elasticsearch(c) => http::elasticsearch::start(&cfg.name, c, encoder, rx, abort)?,
        SinkKind::Http(c) => http::webhook::start(&cfg.name, c, encoder, rx, abort)?,
        SinkKind::Kafka(k) => kafka::spawn(&cfg.name, k, feeds, encoder, rx, abort)?,
    };
    Ok(RunningSink {
        input: SinkInput {
            name: cfg.name.clone(),
            tx,
            filter: cfg.filter.clone(),
        },
        done,
    })
}
