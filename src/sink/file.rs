//! `file`: NDJSON appended to a file, fsynced before acknowledging.
//!
//! On start the file is cut back to the length recorded at the last commit, so output
//! written but never committed (a crash mid-batch) is removed before it is written again:
//! the file holds every record exactly once and never a torn line. The cut happens only
//! when the sink can vouch that the file and that length belong together; otherwise it cuts
//! nothing and appends ([`guard`] says when, and how rotation is followed).

mod guard;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Context, SinkError, Task};
use crate::format::Encoder;
use crate::pipeline::{SinkAck, SinkJob};
use crate::state::{FileId, SinkOffset, State};
use guard::{Change, Sidecar, Verdict};

/// How much encoded output is gathered before a `write`.
const WRITE_CHUNK: usize = 256 << 10;

/// How often, at most, the sidecar's committed length is brought up to date.
const SIDECAR_EVERY: Duration = Duration::from_secs(60);

pub struct FileSink {
    name: String,
    path: PathBuf,
    file: File,
    /// Which file `file` is, to notice it being replaced at `path`.
    id: FileId,
    len: u64,
    encoder: Encoder,
    buf: Vec<u8>,
    state: State,
    /// What the sidecar says now, and when it was written.
    sidecar: Sidecar,
    sidecar_at: Instant,
}

impl FileSink {
    /// Opens the file and recovers it: cuts output that was written but never committed
    /// when state's committed length can be trusted for this file, appends otherwise; then
    /// records where the sink starts, in state and in the sidecar.
    pub fn open(
        name: &str,
        path: &Path,
        state: &State,
        encoder: Encoder,
    ) -> Result<FileSink, SinkError> {
        let err = |what: &'static str, source: std::io::Error| SinkError::Output {
            sink: name.to_string(),
            what,
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err("cannot create the directory of", e))?;
        }
        let (mut file, id, mut len) = guard::open_file(path).map_err(|e| err("cannot open", e))?;
        let committed = state
            .sink_offset(name)?
            .filter(|c| Path::new(&c.path) == path);
        let side = guard::read_sidecar(path);
        let shown = path.display();
        match guard::verdict(state.id(), id, side.as_ref(), committed.as_ref()) {
            _ if len == 0 => {}
            Verdict::Trusted(c) if len > c => {
                tracing::info!(sink = name, path = %shown, committed = c, found = len,
                    "Truncating output that was written but never committed (it will be written again).");
                file.set_len(c).map_err(|e| err("cannot truncate", e))?;
                file.sync_all().map_err(|e| err("cannot sync", e))?;
                len = c;
            }
            Verdict::Trusted(c) if len < c => {
                tracing::warn!(sink = name, path = %shown, committed = c, found = len,
                    "The output file is shorter than what was committed: it was rotated or truncated outside o365fwd. Appending to it.");
                changed(name, "shrank");
                len = guard::terminate_last_line(&mut file, len)
                    .map_err(|e| err("cannot write", e))?;
            }
            Verdict::Trusted(_) => {}
            Verdict::Unverified(why) => {
                tracing::error!(sink = name, path = %shown, bytes = len, reason = %why,
                    "The output file holds bytes this state cannot vouch for: o365fwd does not cut them and appends after them. Records this state fetches again appear twice in the file.");
                changed(name, "unverified");
                len = guard::terminate_last_line(&mut file, len)
                    .map_err(|e| err("cannot write", e))?;
            }
        }
        let mut sink = FileSink {
            name: name.to_string(),
            path: path.to_path_buf(),
            file,
            id,
            len,
            encoder,
            buf: Vec::with_capacity(WRITE_CHUNK + (64 << 10)),
            state: state.clone(),
            sidecar: Sidecar {
                state_id: state.id().to_string(),
                sink: name.to_string(),
                file: id,
                committed_at_least: len,
            },
            sidecar_at: Instant::now(),
        };
        let start = sink.offset();
        if committed.as_ref() != Some(&start) {
            state.set_sink_offset(name, &start)?;
        }
        sink.write_sidecar(len);
        Ok(sink)
    }

    /// Records in the sidecar that `floor` bytes of the current file are committed. A
    /// failure only makes the next start append instead of cut.
    fn write_sidecar(&mut self, floor: u64) {
        self.sidecar.file = self.id;
        self.sidecar.committed_at_least = floor;
        self.sidecar_at = Instant::now();
        if let Err(e) = guard::write_sidecar(&self.path, &self.sidecar) {
            tracing::warn!(sink = %self.name, path = %guard::sidecar_path(&self.path).display(), error = %e,
                "Cannot write the file sink's sidecar; after a restart the sink will append instead of cutting back to its committed length.");
        }
    }

    /// Brings the sidecar's committed length up to what state has durably committed for
    /// this file, at most once a minute.
    fn refresh_sidecar(&mut self) {
        if self.sidecar_at.elapsed() < SIDECAR_EVERY {
            return;
        }
        match self.state.durable_sink_offset(&self.name) {
            Some(d) if d.file == Some(self.id) && d.length > self.sidecar.committed_at_least => {
                self.write_sidecar(d.length)
            }
            _ => self.sidecar_at = Instant::now(),
        }
    }

    /// Follows what happened to the file since the last write (see [`guard`]).
    fn follow_changes(&mut self) -> std::io::Result<()> {
        let shown = self.path.display().to_string();
        match guard::change(&self.file, self.id, &self.path, self.len)? {
            Change::None => return Ok(()),
            Change::Replaced => {
                let (mut file, id, len) = guard::open_file(&self.path)?;
                let len = guard::terminate_last_line(&mut file, len)?;
                tracing::warn!(sink = %self.name, path = %shown, left_at = self.len, new_length = len,
                    "The output file was moved away or replaced (rotated): going on in the file now at its path.");
                changed(&self.name, "replaced");
                (self.file, self.id, self.len) = (file, id, len);
                self.write_sidecar(0);
            }
            Change::Shrank(actual) => {
                let len = guard::terminate_last_line(&mut self.file, actual)?;
                tracing::warn!(sink = %self.name, path = %shown, left_at = self.len, new_length = len,
                    "The output file was truncated outside o365fwd (e.g. logrotate copytruncate): going on at its new end (no hole). Records written between the copy and the truncation are only in the copy.");
                changed(&self.name, "shrank");
                self.len = len;
                self.write_sidecar(0);
            }
            Change::Grew(actual) => {
                let len = guard::terminate_last_line(&mut self.file, actual)?;
                tracing::warn!(sink = %self.name, path = %shown, left_at = self.len, new_length = len,
                    "Something else wrote to the output file: going on after its bytes, never over them.");
                changed(&self.name, "grew");
                self.len = len;
            }
        }
        Ok(())
    }

    /// Writes batches durably with one `fsync` for all of them; on error rolls the file back
    /// to where the first started. Returns the file length after each batch.
    fn write_batches(&mut self, jobs: &[SinkJob]) -> std::io::Result<Vec<u64>> {
        use std::io::Seek;
        self.follow_changes()?;
        self.buf.clear();
        let mut written = 0u64;
        let mut ends = Vec::with_capacity(jobs.len());
        self.file.seek(std::io::SeekFrom::Start(self.len))?;
        let r = (|| {
            for job in jobs {
                let origin = job.batch.feed.origin();
                for (_, rec) in job.records() {
                    self.encoder.encode(rec, &origin, &mut self.buf);
                    self.buf.push(b'\n');
                    // Written in pieces that stay in the CPU cache between our encoder
                    // and the kernel's copy, instead of one buffer of every batch.
                    if self.buf.len() >= WRITE_CHUNK {
                        self.file.write_all(&self.buf)?;
                        written += self.buf.len() as u64;
                        self.buf.clear();
                    }
                }
                ends.push(self.len + written + self.buf.len() as u64);
            }
            self.file.write_all(&self.buf)?;
            written += self.buf.len() as u64;
            self.file.sync_data()
        })();
        match r {
            Ok(()) => {
                drop_from_page_cache(&self.file, self.len, written);
                self.len += written;
                Ok(ends)
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }

    /// Where the file ends now.
    pub fn offset(&self) -> SinkOffset {
        SinkOffset {
            path: self.path.display().to_string(),
            length: self.len,
            file: Some(self.id),
        }
    }
}

/// Counts a change to the output file that the sink did not make (also logged).
fn changed(sink: &str, change: &str) {
    crate::telemetry::SinkMetrics::new(sink).file_changed(change);
}

/// Tells the kernel it may drop a range that is on disk (fsynced) from the page cache, as
/// journald does with its files: the agent never reads its output back, and keeping
/// gigabytes of it cached made every later write pay for page reclaim (system time per
/// record more than doubled over a 2 M-record backlog; BENCHMARKS.md). A reader of the
/// file still gets the bytes, from disk. Advice only: a failure changes nothing.
fn drop_from_page_cache(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: posix_fadvise only reads its integer arguments; the descriptor is owned by
    // `file`, which outlives the call.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED);
    }
}

/// Opens and recovers the file off the async workers (file I/O, fsync, a state flush),
/// then runs the sink on a blocking thread (writes and fsync block).
pub async fn start(path: &Path, cx: Context) -> Result<Task, SinkError> {
    let (name, path, state, encoder) = (
        cx.name.clone(),
        path.to_path_buf(),
        cx.state.clone(),
        cx.encoder.clone(),
    );
    let sink = super::off_workers(&cx.name, move || {
        FileSink::open(&name, &path, &state, encoder)
    })
    .await?;
    Ok(spawn(sink, cx.queue, cx.abort))
}

/// Runs the sink on a blocking thread.
fn spawn(mut sink: FileSink, mut rx: mpsc::Receiver<SinkJob>, abort: CancellationToken) -> Task {
    tokio::task::spawn_blocking(move || {
        let metrics = crate::telemetry::SinkMetrics::new(&sink.name);
        let mut jobs = Vec::with_capacity(MAX_COALESCE);
        while let Some(job) = rx.blocking_recv() {
            // Batches already queued share one write and one fsync: per-batch fsyncs were
            // half the agent's CPU (system time) when catching up on a backlog.
            jobs.push(job);
            while jobs.len() < MAX_COALESCE {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let mut delay = Duration::from_millis(100);
            let ends = loop {
                match sink.write_batches(&jobs) {
                    Ok(ends) => break ends,
                    Err(e) => {
                        tracing::error!(sink = %sink.name, path = %sink.path.display(), error = %e,
                            "Cannot write the output file; retrying. Polling stalls until it works.");
                        metrics.error();
                        if abort.is_cancelled() {
                            return;
                        }
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                }
            };
            let at = sink.offset();
            for (job, length) in jobs.drain(..).zip(ends) {
                let _ = job.ack.send(SinkAck {
                    rejected: vec![],
                    offset: Some(SinkOffset {
                        length,
                        ..at.clone()
                    }),
                });
            }
            sink.refresh_sidecar();
        }
    })
}

/// Most batches written with one fsync (bounds the encode buffer to a few MB).
const MAX_COALESCE: usize = 16;

#[cfg(test)]
mod tests;
