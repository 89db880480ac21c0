//! Sinks: where records go. Each sink runs as its own task (or thread, for blocking I/O),
//! takes batches in submission order, encodes them in its format and acknowledges each batch
//! once the receiver has it durably. A sink retries transient failures itself and never
//! acknowledges what it has not delivered: while it cannot deliver, the pipeline stalls.
//!
//! Every sink starts the same way: `start(cfg, cx: Context) -> Result<Task, SinkError>`
//! checks what can be checked before a record moves (files, TLS, the receiver's answer),
//! then spawns the task that reads `cx.queue` until it closes or `cx.abort` fires. Blocking
//! start-up work (file I/O, a broker round trip) runs off the async workers. The HTTP sinks
//! share one `start` (`http::start`), each only implementing `http::Deliver`. A new sink is
//! the closest one copied, plus one line in [`start`].

pub mod config;
pub mod file;
pub mod http;
pub mod kafka;
pub mod reassemble;
pub mod stdout;
pub mod syslog;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::config::{SinkConfig, SinkKind};
use crate::feed_id::FeedId;
use crate::format::Encoder;
use crate::pipeline::{SinkInput, SinkJob};
use crate::state::State;

/// Batches queued per sink before submission waits.
const QUEUE: usize = 4;

/// Everything a sink is started with. Every sink's `start(cfg, cx)` takes one and gives
/// back its [`Task`]; what it needs beyond this comes from its own config.
pub struct Context {
    /// `[sinks.NAME]`: every log line and metric of the sink carries it.
    pub name: String,
    /// The sink's format and its options.
    pub encoder: Encoder,
    /// Its batches, in submission order; each is acknowledged once delivered.
    pub queue: mpsc::Receiver<SinkJob>,
    /// Hard stop: ends delivery attempts; what is unacknowledged is redone next start.
    pub abort: CancellationToken,
    /// The store (the file sink records its committed length there).
    pub state: State,
    /// The feeds of this run, so a sink can check at start what it will write to (Kafka
    /// topics).
    pub feeds: Arc<[FeedId]>,
}

impl Context {
    /// A setting of this sink that cannot work.
    pub fn setup_error(&self, message: impl Into<String>) -> SinkError {
        SinkError::Setup {
            sink: self.name.clone(),
            message: message.into(),
        }
    }
}

/// A running sink: ends once its queue is closed and everything in it acknowledged, or at
/// the hard stop.
pub type Task = tokio::task::JoinHandle<()>;

/// Why a sink cannot start. Nothing has been delivered when it is returned.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A setting the sink cannot use: a TLS file, a header value, a producer property.
    #[error("sink {sink}: {message}")]
    Setup { sink: String, message: String },
    /// The receiver refuses the sink before anything is sent (a Kafka topic that does not
    /// exist or that the credentials may not use).
    #[error("sink {sink}: {message}")]
    Refused { sink: String, message: String },
    /// The file sink's output cannot be opened or brought back to its committed length.
    #[error("sink {sink}: {what} {}: {source}", path.display())]
    Output {
        sink: String,
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// A started sink: its input for the pipeline and the task to await at shutdown.
pub struct RunningSink {
    pub input: SinkInput,
    pub done: Task,
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
pub async fn start_all<'a>(
    sinks: impl IntoIterator<Item = &'a SinkConfig>,
    state: &State,
    feeds: &[FeedId],
    abort: &CancellationToken,
) -> Result<(Vec<SinkInput>, Vec<Task>), SinkError> {
    let mut inputs = Vec::new();
    let mut tasks = Vec::new();
    for s in sinks {
        match start(s, state, feeds, abort.clone()).await {
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

/// Builds and starts a sink from its config: every sink the same way, from a [`Context`].
/// `feeds` lets a sink check at start what it will write to. `abort` ends delivery
/// attempts at a hard stop.
pub async fn start(
    cfg: &SinkConfig,
    state: &State,
    feeds: &[FeedId],
    abort: CancellationToken,
) -> Result<RunningSink, SinkError> {
    let (tx, rx) = mpsc::channel::<SinkJob>(QUEUE);
    let queue = match &cfg.reassemble {
        Some(split) => reassemble::wrap(&cfg.name, split.clone(), rx),
        None => rx,
    };
    let cx = Context {
        name: cfg.name.clone(),
        encoder: Encoder::new(cfg.format, cfg.format_options.clone()),
        queue,
        abort,
        state: state.clone(),
        feeds: feeds.into(),
    };
    let done = match &cfg.kind {
        SinkKind::File { path } => file::start(path, cx).await?,
        SinkKind::Stdout => stdout::start(cx).await?,
        SinkKind::Syslog(c) => syslog::start(c, cx).await?,
        SinkKind::SplunkHec(c) => http::start::<http::hec::HecSink>(c, cx).await?,
        SinkKind::Elasticsearch(c) => http::start::<http::elasticsearch::EsSink>(c, cx).await?,
        SinkKind::Http(c) => http::start::<http::webhook::WebhookSink>(c, cx).await?,
        SinkKind::Kafka(c) => kafka::start(c, cx).await?,
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

/// Runs a blocking start-up step (file I/O and fsync, a broker round trip) on a blocking
/// thread, off the async workers. A panic there goes on as a panic of the caller.
async fn off_workers<T: Send + 'static>(
    sink: &str,
    step: impl FnOnce() -> Result<T, SinkError> + Send + 'static,
) -> Result<T, SinkError> {
    match tokio::task::spawn_blocking(step).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(SinkError::Setup {
            sink: sink.to_string(),
            message: format!("start-up was interrupted: {e}"),
        }),
    }
}
