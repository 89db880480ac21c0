//! Delivery outside the daemon, for `replay`, `import` and `backfill`: the same
//! [`Pipeline`], sinks and formats, with a private state (temporary, or `backfill`'s own).
//!
//! The daemon may be running and holds the lock on its state directory; and a replay must not
//! move its cursors anyway. So a one-off run opens a throw-away sled database in a temporary
//! directory (removed at the end) that only serves the pipeline's commit bookkeeping. Batches
//! carry no state operations: they just deliver. Record ids are deduplicated for the run
//! by a [`Dedup`] per feed over that state, as the daemon does.
//!
//! A file sink the daemon writes to must not be written behind its back (the daemon truncates
//! its file back to the length it committed, and seeks there to write): callers give a file
//! sink another path ([`OfflineRun::start`]'s `file_output`), and a path some configured file
//! sink uses is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::feed_id::FeedId;
use crate::pipeline::{Batch, Committed, FeedShared, Pipeline};
use crate::record::{ContentType, Record};
use crate::sink;
use crate::sink::config::{SinkConfig, SinkKind};
use crate::state::{Dedup, State, seen};

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("unknown sink {0:?} (configured: {1})")]
    UnknownSink(String, String),
    #[error(
        "sink {0} is a file sink: give --output PATH (a file the daemon does not write) so the daemon's own file is never written behind its back"
    )]
    FileNeedsOutput(String),
    #[error("--output applies to exactly one file sink, and {0} are selected")]
    OutputAmbiguous(usize),
    #[error("--output {0} is the file of configured sink {1}; choose another path")]
    OutputInUse(PathBuf, String),
    #[error("enrichment: {0}")]
    Enrich(String),
    #[error("cannot create a temporary state directory: {0}")]
    TempDir(std::io::Error),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Sink(#[from] crate::sink::SinkError),
    #[error("the sinks stopped before everything was acknowledged")]
    Closed,
}

/// The sinks to deliver to: `names` (all configured sinks when empty), each file sink
/// redirected to `file_output`. Checked before anything is started.
pub fn select_sinks(
    cfg: &Config,
    names: &[String],
    file_output: Option<&Path>,
) -> Result<Vec<SinkConfig>, OfflineError> {
    let mut out = Vec::new();
    let wanted: Vec<&String> = if names.is_empty() {
        cfg.sinks.keys().collect()
    } else {
        names.iter().collect()
    };
    for n in wanted {
        let s = cfg.sinks.get(n).ok_or_else(|| {
            let known: Vec<&str> = cfg.sinks.keys().map(String::as_str).collect();
            OfflineError::UnknownSink(n.clone(), known.join(", "))
        })?;
        if !out.iter().any(|o: &SinkConfig| o.name == s.name) {
            out.push(s.clone());
        }
    }
    let files = out
        .iter()
        .filter(|s| matches!(s.kind, SinkKind::File { .. }))
        .count();
    match (file_output, files) {
        (None, 0) | (Some(_), 1) => {}
        (None, _) => {
            let first = out.iter().find(|s| matches!(s.kind, SinkKind::File { .. }));
            return Err(OfflineError::FileNeedsOutput(
                first.map(|s| s.name.clone()).unwrap_or_default(),
            ));
        }
        (Some(_), n) => return Err(OfflineError::OutputAmbiguous(n)),
    }
    if let Some(path) = file_output {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        for s in cfg.sinks.values() {
            if let SinkKind::File { path: p } = &s.kind {
                if same_file(p, &abs) {
                    return Err(OfflineError::OutputInUse(
                        path.to_path_buf(),
                        s.name.clone(),
                    ));
                }
            }
        }
        for s in &mut out {
            if let SinkKind::File { path } = &mut s.kind {
                *path = abs.clone();
            }
        }
    }
    Ok(out)
}

fn same_file(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    a == b || canon(a) == canon(b)
}

/// A running one-off delivery.
pub struct OfflineRun {
    pipeline: Pipeline,
    committer: tokio::task::JoinHandle<Committed>,
    sinks: Vec<tokio::task::JoinHandle<()>>,
    abort: CancellationToken,
    feeds: HashMap<(String, ContentType), Arc<FeedShared>>,
    /// Per feed key: its de-duplication and the batches it submitted.
    dedup: HashMap<String, tokio::sync::Mutex<(Dedup, u64)>>,
    state: Option<State>,
    /// The temporary state directory, removed at the end (`None`: the state is kept).
    temp_dir: Option<PathBuf>,
    /// The process-wide rejection counter when the run started: rejections are counted as
    /// batches commit, all through the run, not only at the end.
    rejected_at_start: u64,
}

/// What a run delivered.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    pub records: u64,
    /// Records a sink refused for good (each logged at error level).
    pub rejected: u64,
}

impl OfflineRun {
    /// Opens a temporary state and starts `sinks` and the pipeline. `feeds` lists the feeds
    /// that may be delivered (Kafka checks its topics).
    pub async fn start(
        cfg: &Config,
        sinks: &[SinkConfig],
        feeds: &[FeedId],
    ) -> Result<OfflineRun, OfflineError> {
        let dir = std::env::temp_dir().join(format!(
            "o365fwd-oneoff-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).map_err(OfflineError::TempDir)?;
        let started = match State::open(&dir) {
            Ok(state) => OfflineRun::with_state(cfg, sinks, feeds, state).await,
            Err(e) => Err(e.into()),
        };
        match started {
            Ok(mut run) => {
                run.temp_dir = Some(dir);
                Ok(run)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// A run over a state that outlives it (`backfill` resumes from it): file sinks truncate
    /// back to the length it committed, as the daemon's do, so a killed run leaves nothing
    /// behind that the next one writes again.
    pub async fn with_state(
        cfg: &Config,
        sinks: &[SinkConfig],
        feeds: &[FeedId],
        state: State,
    ) -> Result<OfflineRun, OfflineError> {
        let abort = CancellationToken::new();
        let enricher = cfg
            .enrich
            .as_ref()
            .map(|c| crate::format::enrich::Enricher::open(c).map(Arc::new))
            .transpose()
            .map_err(OfflineError::Enrich)?;
        let sinks = sink::with_enrichment(sinks, enricher.as_ref());
        let (inputs, tasks) = sink::start_all(&sinks, &state, feeds, &abort).await?;
        let (pipeline, committer) = Pipeline::start(
            state.clone(),
            inputs,
            cfg.agent.max_in_flight_batches,
            abort.clone(),
        );
        let feeds: HashMap<_, _> = feeds
            .iter()
            .map(|f| {
                let key = (f.tenant_id.clone(), f.content_type);
                (key, Arc::new(FeedShared::new(f.clone())))
            })
            .collect();
        let mut dedup = HashMap::new();
        for f in feeds.values() {
            let d = Dedup::load(&state, &f.id.key, crate::feed::dedup_config(&cfg.agent))?;
            dedup.insert(f.id.key.clone(), tokio::sync::Mutex::new((d, 0)));
        }
        Ok(OfflineRun {
            pipeline,
            committer,
            sinks: tasks,
            abort,
            feeds,
            dedup,
            state: Some(state),
            temp_dir: None,
            rejected_at_start: crate::telemetry::metric::RECORDS_REJECTED.sum(),
        })
    }

    /// Where batches go, for callers that carry their own commit operations.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The feed of (tenant id, content type), if it was declared at start.
    pub fn feed(&self, tenant_id: &str, ct: ContentType) -> Option<Arc<FeedShared>> {
        self.feeds.get(&(tenant_id.to_string(), ct)).cloned()
    }

    /// Hands records to the sinks (waits while they are busy). Records whose id was already
    /// delivered in this run are left out; returns how many were.
    pub async fn deliver(
        &self,
        feed: &Arc<FeedShared>,
        source: &str,
        records: Vec<Record>,
    ) -> Result<u64, OfflineError> {
        let Some(lock) = self.dedup.get(&feed.id.key) else {
            return Err(OfflineError::Closed);
        };
        let mut guard = lock.lock().await;
        let (dedup, submitted) = &mut *guard;
        let before = records.len();
        // No listing here: the frontier is the newest record time seen (at most an hour on).
        let now = chrono::Utc::now();
        let mut newest = None;
        let mut kept = Vec::with_capacity(records.len());
        for r in records {
            if let Some(t) = r.creation_time {
                newest = newest.max(Some(t));
            }
            let bucket = seen::record_bucket(r.creation_time, now);
            match dedup.claim(r.id(), bucket) {
                Ok(true) => kept.push(r),
                Ok(false) => {}
                Err(e) => {
                    dedup.abandon();
                    return Err(e.into());
                }
            }
        }
        let dups = (before - kept.len()) as u64;
        if !kept.is_empty() {
            let sent = self
                .pipeline
                .submit(Batch {
                    feed: feed.clone(),
                    content_id: source.into(),
                    records: kept,
                    ops: vec![],
                })
                .await;
            if sent.is_err() {
                dedup.abandon();
                return Err(OfflineError::Closed);
            }
            *submitted += 1;
            dedup.sealed(*submitted);
        }
        if let Some(t) = newest {
            dedup.advance(t, feed.committed_batches())?;
        }
        Ok(dups)
    }

    /// Waits until every sink has acknowledged everything, then stops them and removes the
    /// temporary state. Returns what was delivered.
    pub async fn finish(mut self) -> Result<Finished, OfflineError> {
        self.pipeline.close().await;
        let committed = (&mut self.committer).await.unwrap_or_default();
        self.abort.cancel();
        for s in self.sinks.drain(..) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s).await;
        }
        if committed.abandoned {
            return Err(OfflineError::Closed);
        }
        Ok(Finished {
            records: committed.records,
            rejected: crate::telemetry::metric::RECORDS_REJECTED.sum() - self.rejected_at_start,
        })
    }
}

impl Drop for OfflineRun {
    fn drop(&mut self) {
        self.abort.cancel();
        self.state.take();
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
