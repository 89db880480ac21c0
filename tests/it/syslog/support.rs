//! What the syslog tests share: the external-program check, records, a sink driven
//! directly through its job channel, the expected messages, and the third-party parser.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use o365fwd::format::{Encoder, Format, FormatOptions};
use o365fwd::pipeline::{Batch, FeedShared, SinkAck, SinkJob};
use o365fwd::record::{ContentType, Record, parse_blob};
use o365fwd::sink::Context;
use o365fwd::sink::syslog::{Formatter, SyslogConfig, Transport};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::rsyslog::Rsyslog;

pub const SD_ID: &str = "o365fwd@32473";

pub fn python() -> String {
    std::env::var("O365FWD_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Where a program is, looking in PATH and the sbin directories (rsyslogd lives in
/// /usr/sbin, which a non-login PATH may lack).
pub fn find(program: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"])
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

pub fn require(program: &str) -> String {
    find(program).unwrap_or_else(|| panic!("{program} is not installed (run .ci/rsyslog.sh)"))
}

/// Whether rsyslog, openssl and the RFC 5424 parser are here. When not: under CI a failure;
/// elsewhere a failure too unless `O365FWD_SKIP_EXTERNAL=1`, which prints SKIPPED.
pub fn external_ready(test: &str) -> bool {
    let parser = Command::new(python())
        .args(["-c", "import importlib.metadata as m, sys; sys.exit(m.version('syslog-rfc5424-parser') != '0.3.2')"])
        .status()
        .is_ok_and(|s| s.success());
    let mut missing = Vec::new();
    for p in ["rsyslogd", "openssl"] {
        if find(p).is_none() {
            missing.push(p);
        }
    }
    if !parser {
        missing.push("syslog-rfc5424-parser==0.3.2 (PyPI)");
    }
    let missing: Vec<String> = missing.into_iter().map(String::from).collect();
    crate::harness::external_ready(test, &missing, ".ci/rsyslog.sh")
}

pub fn records(from: usize, n: usize) -> Vec<Record> {
    let items: Vec<String> = (from..from + n)
        .map(|i| {
            serde_json::json!({
                "Id": format!("rec-{i}"), "CreationTime": "2024-06-10T06:13:20",
                "Operation": "FileAccessed", "Workload": "SharePoint", "RecordType": 6,
                "UserId": "alice@contoso.com", "ClientIP": "10.1.2.3", "Seq": i,
            })
            .to_string()
        })
        .collect();
    parse_blob("c1", format!("[{}]", items.join(",")).as_bytes()).unwrap()
}

/// Newlines, `]`, `"`, `\`, non-ASCII and very long values in the record's header and SD
/// sources, a raw record with a literal line feed, and one far over the size limit.
pub fn hostile_records() -> Vec<Record> {
    let nasty = "ü]\"\\\n\r\t é";
    let op = format!("Op {nasty}{}", "y".repeat(60));
    let mut items = vec![
        serde_json::json!({"Id": format!("h1 {nasty}"), "CreationTime": "2024-06-10T06:13:20.123456", "Operation": op, "UserId": nasty}).to_string(),
        "{\"Id\":\"h2\",\n\"Operation\":\"Line\\nFeed\",\"CreationTime\":\"2024-06-10T06:13:21\"}".to_string(),
        serde_json::json!({"Id": "h3".repeat(200), "Operation": "Big", "Workload": "Exchange", "UserId": nasty.repeat(300), "Blob": nasty.repeat(3000)}).to_string(),
    ];
    items.push(
        serde_json::json!({"Id": "h4", "Operation": "", "CreationTime": "2024-06-10T06:13:22"})
            .to_string(),
    );
    parse_blob("c2", format!("[{}]", items.join(",")).as_bytes()).unwrap()
}

pub struct Run {
    pub feed: Arc<FeedShared>,
    pub tx: Option<mpsc::Sender<SinkJob>>,
    pub acks: Vec<oneshot::Receiver<SinkAck>>,
    pub task: tokio::task::JoinHandle<()>,
    pub abort: CancellationToken,
    _state_dir: tempfile::TempDir,
}

impl Run {
    /// Starts the sink as the agent does, from a [`Context`].
    pub async fn start(name: &str, cfg: &SyslogConfig, format: Format, feed: FeedShared) -> Run {
        let (tx, rx) = mpsc::channel(4);
        let abort = CancellationToken::new();
        let dir = tempfile::tempdir().unwrap();
        let cx = Context {
            name: name.to_string(),
            encoder: Encoder::new(format, FormatOptions::default()),
            queue: rx,
            abort: abort.clone(),
            state: o365fwd::state::State::open(dir.path()).unwrap(),
            feeds: Arc::new([]),
        };
        let task = o365fwd::sink::syslog::start(cfg, cx)
            .await
            .expect("sink starts");
        Run {
            feed: Arc::new(feed),
            tx: Some(tx),
            acks: Vec::new(),
            task,
            abort,
            _state_dir: dir,
        }
    }

    pub async fn send(&mut self, records: Vec<Record>) {
        let (ack, rx) = oneshot::channel();
        let batch = Arc::new(Batch {
            feed: self.feed.clone(),
            content_id: Arc::from("c"),
            records,
            ops: vec![],
        });
        let tx = self.tx.as_ref().expect("open");
        let sent = tokio::time::timeout(Duration::from_secs(60), tx.send(SinkJob::all(batch, ack)));
        sent.await
            .expect("the sink takes batches again within 60 s")
            .expect("sink alive");
        self.acks.push(rx);
    }

    /// Closes the input and waits for every acknowledgement, in order.
    pub async fn finish(mut self, timeout: Duration) -> Vec<SinkAck> {
        self.tx.take();
        let all = async {
            let mut out = Vec::new();
            for a in self.acks.drain(..) {
                out.push(a.await.expect("batch acknowledged"));
            }
            out
        };
        let acks = tokio::time::timeout(timeout, all)
            .await
            .expect("every batch acknowledged in time");
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("sink task ends after its input closes")
            .unwrap();
        acks
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.abort.cancel();
    }
}

pub fn feed() -> FeedShared {
    FeedShared::new(o365fwd::feed_id::FeedId::new(
        "contoso",
        "41463f53-8812-40f4-890f-865bf6e35190",
        ContentType::SharePoint,
    ))
}

pub fn config(address: &str, transport: Transport) -> SyslogConfig {
    let mut c = SyslogConfig::new(address, transport);
    c.hostname = Some("fwd-test".into());
    c.procid = Some("4242".into());
    c
}

/// The messages the formatter makes of `records` (what must arrive, byte for byte).
pub fn expected(
    cfg: &SyslogConfig,
    format: Format,
    feed: &FeedShared,
    records: &[Record],
) -> Vec<String> {
    let f = Formatter::new(cfg, Encoder::new(format, FormatOptions::default()));
    let (mut p, mut out) = (Vec::new(), Vec::new());
    records
        .iter()
        .map(|r| {
            out.clear();
            f.format(r, &feed.origin(), &mut p, &mut out);
            String::from_utf8(out.clone()).expect("messages are UTF-8")
        })
        .collect()
}

pub fn assert_same_messages(mut got: Vec<String>, mut want: Vec<String>, r: &Rsyslog) {
    got.sort();
    want.sort();
    if got != want {
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(2).collect();
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).take(2).collect();
        panic!(
            "received {} messages, expected {}\nmissing e.g. {missing:#?}\nunexpected e.g. {extra:#?}\nrsyslogd: {}",
            got.len(),
            want.len(),
            r.log()
        );
    }
}

/// Every message through the third-party parser; panics on any refusal.
pub fn parse_5424(msgs: &[String]) -> Vec<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/syslog/rfc5424_check.py"
    );
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut input = String::new();
    for m in msgs {
        input.push_str(&serde_json::json!({ "raw": m }).to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), msgs.len());
    for (p, m) in parsed.iter().zip(msgs) {
        assert!(
            p.get("error").is_none(),
            "the RFC 5424 parser refused {m:?}: {p}"
        );
    }
    parsed
}

/// `"`, `\` and `]` escaped, control characters as spaces, at most 128 bytes: what an SD
/// value must look like on the wire (the parser returns it without unescaping).
pub fn sd_escaped(v: &str) -> String {
    let mut end = v.len().min(128);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v[..end]
        .chars()
        .map(|c| match c {
            '"' | '\\' | ']' => format!("\\{c}"),
            c if c.is_ascii_control() => " ".into(),
            c => c.to_string(),
        })
        .collect()
}

pub fn header(v: &str, max: usize) -> String {
    let s: String = v
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if s.is_empty() { "-".into() } else { s }
}
