//! `file`: NDJSON appended to a file, fsynced before acknowledging.
//!
//! On start the file is truncated back to the length recorded at the last commit, so output
//! written but never committed (a crash mid-batch) is removed before it is written again:
//! the file holds every record exactly once and never a torn line.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::SinkError;
use crate::format::Encoder;
use crate::pipeline::{SinkAck, SinkJob};
use crate::state::SinkOffset;

/// How much encoded output is gathered before a `write`.
const WRITE_CHUNK: usize = 256 << 10;

pub struct FileSink {
    name: String,
    path: PathBuf,
    file: File,
    len: u64,
    encoder: Encoder,
    buf: Vec<u8>,
}

impl FileSink {
    /// Opens the file, truncating uncommitted output when state knows the committed length.
    pub fn open(
        name: &str,
        path: &Path,
        committed: Option<SinkOffset>,
        encoder: Encoder,
    ) -> Result<FileSink, SinkError> {
        let err = |what: &str, e: std::io::Error| SinkError::Setup {
            sink: name.to_string(),
            message: format!("{what} {}: {e}", path.display()),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err("cannot create the directory of", e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(|e| err("cannot open", e))?;
        let mut len = file.metadata().map_err(|e| err("cannot stat", e))?.len();
        let same_file = committed.as_ref().filter(|c| Path::new(&c.path) == path);
        match same_file {
            Some(c) if len > c.length => {
                tracing::info!(sink = name, path = %path.display(), committed = c.length, found = len,
                    "Truncating output that was written but never committed (it will be written again).");
                file.set_len(c.length)
                    .map_err(|e| err("cannot truncate", e))?;
                file.sync_all().map_err(|e| err("cannot sync", e))?;
                len = c.length;
            }
            Some(c) if len < c.length => {
                tracing::warn!(sink = name, path = %path.display(), committed = c.length, found = len,
                    "The output file is shorter than what was committed: it was rotated or truncated outside o365fwd. Appending to it.");
            }
            _ => {}
        }
        Ok(FileSink {
            name: name.to_string(),
            path: path.to_path_buf(),
            file,
            len,
            encoder,
            buf: Vec::with_capacity(WRITE_CHUNK + (64 << 10)),
        })
    }

    /// Writes batches durably with one `fsync` for all of them; on error rolls the file back
    /// to where the first started. Returns the file length after each batch.
    fn write_batches(&mut self, jobs: &[SinkJob]) -> std::io::Result<Vec<u64>> {
        use std::io::Seek;
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
        }
    }
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

/// Runs the sink on a blocking thread (file I/O and fsync block).
pub fn spawn(
    mut sink: FileSink,
    mut rx: mpsc::Receiver<SinkJob>,
    abort: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
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
                        crate::telemetry::count(
                            "o365fwd_sink_errors_total",
                            &[("sink", &sink.name)],
                            1,
                        );
                        if abort.is_cancelled() {
                            return;
                        }
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                }
            };
            let path = sink.path.display().to_string();
            for (job, length) in jobs.drain(..).zip(ends) {
                let _ = job.ack.send(SinkAck {
                    rejected: vec![],
                    offset: Some(SinkOffset {
                        path: path.clone(),
                        length,
                    }),
                });
            }
        }
    })
}

/// Most batches written with one fsync (bounds the encode buffer to a few MB).
const MAX_COALESCE: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Format, FormatOptions};

    #[test]
    fn truncates_uncommitted_tail_and_keeps_committed_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        std::fs::write(&path, b"{\"Id\":\"a\"}\n{\"Id\":\"b\"}\n{\"Id\":\"c").unwrap();
        let enc = Encoder::new(Format::Raw, FormatOptions::default());
        let committed = SinkOffset {
            path: path.display().to_string(),
            length: 11,
        };
        let sink = FileSink::open("f", &path, Some(committed), enc.clone()).unwrap();
        assert_eq!(sink.len, 11);
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"Id\":\"a\"}\n");
        // Unknown to state (first run, or another path): nothing is removed.
        drop(sink);
        let other = SinkOffset {
            path: "/elsewhere".into(),
            length: 0,
        };
        let sink = FileSink::open("f", &path, Some(other), enc).unwrap();
        assert_eq!(sink.len, 11);
    }

    #[test]
    fn queued_batches_share_one_write_and_get_their_own_offsets() {
        use crate::pipeline::{Batch, FeedShared};
        use crate::record::{ContentType, Record};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let enc = Encoder::new(Format::Raw, FormatOptions::default());
        let mut sink = FileSink::open("f", &path, None, enc).unwrap();
        let feed = Arc::new(FeedShared::new("t", "tid", ContentType::General));
        let job = |ids: &[&str]| {
            let (ack, _) = tokio::sync::oneshot::channel();
            let records = ids
                .iter()
                .map(|i| Record::from_json(&format!("{{\"Id\":\"{i}\"}}"), "c").unwrap())
                .collect();
            SinkJob::all(
                Arc::new(Batch {
                    feed: feed.clone(),
                    content_id: "c".into(),
                    records,
                    ops: vec![],
                }),
                ack,
            )
        };
        let ends = sink
            .write_batches(&[job(&["a", "b"]), job(&["c"])])
            .unwrap();
        assert_eq!(ends, vec![22, 33]);
        assert_eq!(sink.offset().length, 33);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"{\"Id\":\"a\"}\n{\"Id\":\"b\"}\n{\"Id\":\"c\"}\n"
        );
        // Batches larger than a write chunk: written in pieces, offsets still exact.
        let big: Vec<String> = (0..3 * WRITE_CHUNK / 11)
            .map(|i| format!("{i:03}"))
            .collect();
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        let (first, second) = big.split_at(big.len() / 3);
        let ends = sink.write_batches(&[job(first), job(second)]).unwrap();
        let line = |i: &str| format!("{{\"Id\":\"{i}\"}}\n").len() as u64;
        let first_len: u64 = first.iter().map(|i| line(i)).sum();
        let second_len: u64 = second.iter().map(|i| line(i)).sum();
        assert_eq!(ends, vec![33 + first_len, 33 + first_len + second_len]);
        assert!(
            second_len > 2 * WRITE_CHUNK as u64,
            "crosses several chunks"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len() as u64, sink.offset().length);
        let ids: Vec<&str> = text.lines().skip(3).map(|l| &l[7..l.len() - 2]).collect();
        assert_eq!(ids, big);
    }
}
