//! The syslog sink against a real rsyslog (installed by `.ci/rsyslog.sh`): UDP, TCP with
//! octet counting, TCP with LF framing, TLS; a receiver restart mid-run; hostile values in
//! every header and SD field. What arrives is compared byte for byte with what the formatter
//! produced, and parsed by a third-party RFC 5424 parser (syslog-rfc5424-parser on PyPI).
//!
//! Without rsyslog, openssl or the parser these tests fail; outside CI,
//! `O365FWD_SKIP_EXTERNAL=1` turns that into a loud SKIPPED line.

mod rsyslog;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use o365fwd::format::{Encoder, Format, FormatOptions};
use o365fwd::pipeline::{Batch, FeedShared, SinkAck, SinkJob};
use o365fwd::record::{ContentType, Record, parse_blob};
use o365fwd::sink::syslog::{Formatter, Framing, SyslogConfig, Transport, spawn};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use self::rsyslog::{Rsyslog, make_cert};

const SD_ID: &str = "o365fwd@32473";

fn python() -> String {
    std::env::var("O365FWD_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Where a program is, looking in PATH and the sbin directories (rsyslogd lives in
/// /usr/sbin, which a non-login PATH may lack).
fn find(program: &str) -> Option<String> {
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
fn external_ready(test: &str) -> bool {
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
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{test}: missing {} (install with .ci/rsyslog.sh)", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    if std::env::var("O365FWD_SKIP_EXTERNAL").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED (O365FWD_SKIP_EXTERNAL=1): {msg}");
        return false;
    }
    panic!("{msg} (set O365FWD_SKIP_EXTERNAL=1 to skip outside CI)");
}

fn records(from: usize, n: usize) -> Vec<Record> {
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
fn hostile_records() -> Vec<Record> {
    let nasty = "ü]\"\\\n\r\t é";
    let op = format!("Op {nasty}{}", "y".repeat(60));
    let mut items = vec![
        serde_json::json!({"Id": format!("h1 {nasty}"), "CreationTime": "2024-06-10T06:13:20.123456", "Operation": op, "UserId": nasty}).to_string(),
        "{\"Id\":\"h2\",\n\"Operation\":\"Line\\nFeed\",\"CreationTime\":\"2024-06-10T06:13:21\"}".to_string(),
        serde_json::json!({"Id": "h3".repeat(200), "Operation": "Big", "Workload": "Exchange", "UserId": nasty.repeat(300), "Blob": nasty.repeat(3000)}).to_string(),
    ];
    items.push(serde_json::json!({"Id": "h4", "Operation": "", "CreationTime": "2024-06-10T06:13:22"}).to_string());
    parse_blob("c2", format!("[{}]", items.join(",")).as_bytes()).unwrap()
}

struct Run {
    feed: Arc<FeedShared>,
    tx: Option<mpsc::Sender<SinkJob>>,
    acks: Vec<oneshot::Receiver<SinkAck>>,
    task: tokio::task::JoinHandle<()>,
    abort: CancellationToken,
}

impl Run {
    fn start(name: &str, cfg: &SyslogConfig, format: Format, feed: FeedShared) -> Run {
        let (tx, rx) = mpsc::channel(4);
        let abort = CancellationToken::new();
        let enc = Encoder::new(format, FormatOptions::default());
        let task = spawn(name, cfg, enc, rx, abort.clone()).expect("sink starts");
        Run {
            feed: Arc::new(feed),
            tx: Some(tx),
            acks: Vec::new(),
            task,
            abort,
        }
    }

    async fn send(&mut self, records: Vec<Record>) {
        let (ack, rx) = oneshot::channel();
        let batch = Arc::new(Batch {
            feed: self.feed.clone(),
            content_id: Arc::from("c"),
            records,
            ops: vec![],
        });
        let tx = self.tx.as_ref().expect("open");
        let sent = tokio::time::timeout(Duration::from_secs(60), tx.send(SinkJob { batch, ack }));
        sent.await.expect("the sink takes batches again within 60 s").expect("sink alive");
        self.acks.push(rx);
    }

    /// Closes the input and waits for every acknowledgement, in order.
    async fn finish(mut self, timeout: Duration) -> Vec<SinkAck> {
        self.tx.take();
        let all = async {
            let mut out = Vec::new();
            for a in self.acks.drain(..) {
                out.push(a.await.expect("batch acknowledged"));
            }
            out
        };
        let acks = tokio::time::timeout(timeout, all).await.expect("every batch acknowledged in time");
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

fn feed() -> FeedShared {
    FeedShared::new("contoso", "41463f53-8812-40f4-890f-865bf6e35190", ContentType::SharePoint)
}

fn config(address: &str, transport: Transport) -> SyslogConfig {
    let mut c = SyslogConfig::new(address, transport);
    c.hostname = Some("fwd-test".into());
    c.procid = Some("4242".into());
    c
}

/// The messages the formatter makes of `records` (what must arrive, byte for byte).
fn expected(cfg: &SyslogConfig, format: Format, feed: &FeedShared, records: &[Record]) -> Vec<String> {
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

fn assert_same_messages(mut got: Vec<String>, mut want: Vec<String>, r: &Rsyslog) {
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
fn parse_5424(msgs: &[String]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/syslog/rfc5424_check.py");
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
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let parsed: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), msgs.len());
    for (p, m) in parsed.iter().zip(msgs) {
        assert!(p.get("error").is_none(), "the RFC 5424 parser refused {m:?}: {p}");
    }
    parsed
}

/// Sends `batches` of plain records through one transport and checks what rsyslog got.
async fn round_trip(name: &str, transport: Transport, framing: Framing, format: Format, tls: bool) {
    if !external_ready(name) {
        return;
    }
    let certdir = tempfile::tempdir().unwrap();
    let cert = tls.then(|| make_cert(certdir.path()));
    let r = Rsyslog::start(cert.as_ref());
    let mut cfg = config(&r.address(), transport);
    cfg.framing = framing;
    if let Some(c) = &cert {
        cfg.tls.ca_file = Some(c.ca.clone());
    }
    let mut run = Run::start(name, &cfg, format, feed());
    let mut all = Vec::new();
    for b in 0..6 {
        let recs = records(b * 40, 40);
        all.extend(recs.clone());
        run.send(recs).await;
    }
    let feed = run.feed.clone();
    let acks = run.finish(Duration::from_secs(30)).await;
    assert_eq!(acks.len(), 6);
    assert!(acks.iter().all(|a| a.rejected.is_empty()));
    let want = expected(&cfg, format, &feed, &all);
    let got = r.wait_for(want.len(), Duration::from_secs(15)).await;
    assert_same_messages(got.clone(), want.clone(), &r);

    // The independent parser reads each header field back as sent, and MSG is the payload.
    let parsed = parse_5424(&got);
    let enc = Encoder::new(format, FormatOptions::default());
    for (p, m) in parsed.iter().zip(&got) {
        assert_eq!(p["version"], 1);
        assert_eq!(p["facility"], "local0", "{m}");
        assert_eq!(p["timestamp"], "2024-06-10T06:13:20.000000Z");
        assert_eq!((p["hostname"].as_str(), p["appname"].as_str()), (Some("fwd-test"), Some("o365fwd")));
        assert_eq!(p["procid"], 4242);
        assert_eq!(p["msgid"], "FileAccessed");
        let sd = &p["sd"][SD_ID];
        assert_eq!(sd["tenant"], "contoso");
        assert_eq!(sd["contentType"], "Audit.SharePoint");
        let id = sd["recordId"].as_str().unwrap();
        let rec = all.iter().find(|r| &*r.id == id).expect("known record id");
        let mut payload = Vec::new();
        enc.encode(rec, &feed.origin(), &mut payload);
        assert_eq!(p["msg"].as_str().unwrap().as_bytes(), payload.as_slice());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_delivers_every_record_once_byte_for_byte() {
    round_trip("syslog-udp", Transport::Udp, Framing::OctetCounting, Format::Raw, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_octet_counting_delivers_every_record_once_byte_for_byte() {
    round_trip("syslog-tcp-oc", Transport::Tcp, Framing::OctetCounting, Format::Cef, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_lf_framing_delivers_every_record_once_byte_for_byte() {
    round_trip("syslog-tcp-lf", Transport::Tcp, Framing::Lf, Format::Ecs, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_delivers_every_record_once_byte_for_byte() {
    round_trip("syslog-tls", Transport::Tls, Framing::OctetCounting, Format::Cef, true).await;
}

/// `"`, `\` and `]` escaped, control characters as spaces, at most 128 bytes: what an SD
/// value must look like on the wire (the parser returns it without unescaping).
fn sd_escaped(v: &str) -> String {
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

fn header(v: &str, max: usize) -> String {
    let s: String = v.chars().take(max).map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
    if s.is_empty() { "-".into() } else { s }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_in_every_header_and_sd_field_still_parse() {
    if !external_ready("syslog-hostile") {
        return;
    }
    let r = Rsyslog::start(None);
    let nasty = "ü]\"\\\n\r\t é";
    for (i, (framing, format)) in [(Framing::OctetCounting, Format::Raw), (Framing::Lf, Format::Cef)].into_iter().enumerate() {
        let name = format!("syslog-hostile-{i}");
        let mut cfg = config(&r.address(), Transport::Tcp);
        cfg.framing = framing;
        // CEF caps its fields, so the big record needs a smaller limit to be cut.
        cfg.max_message_size = if format == Format::Cef { 1024 } else { 8192 };
        cfg.hostname = Some(format!("evil host{nasty}"));
        cfg.app_name = format!("app{nasty}").repeat(10);
        cfg.procid = Some(format!("12{nasty}"));
        let tenant = format!("ten{nasty}");
        let tenant_id = format!("tid{nasty}").repeat(40);
        let before = r.received().len();
        let mut run = Run::start(&name, &cfg, format, FeedShared::new(&tenant, &tenant_id, ContentType::General));
        let recs = hostile_records();
        run.send(recs.clone()).await;
        let feed = run.feed.clone();
        run.finish(Duration::from_secs(30)).await;
        let want = expected(&cfg, format, &feed, &recs);
        let got = r.wait_for(before + want.len(), Duration::from_secs(15)).await;
        let got = got[before..].to_vec();
        assert_same_messages(got.clone(), want, &r);
        assert!(got.iter().all(|m| m.len() <= cfg.max_message_size));
        let truncated = o365fwd::telemetry::get("o365fwd_syslog_truncated_total", &[("sink", &name)]);
        let marked = got.iter().filter(|m| m.contains("o365fwd_truncated\":") || m.contains(" o365fwdTruncated=")).count();
        assert!(marked >= 1, "the oversized record was cut");
        assert_eq!(truncated, marked as u64, "every cut record is counted");

        let parsed = parse_5424(&got);
        for p in &parsed {
            assert_eq!(p["hostname"], header(&format!("evil host{nasty}"), 255));
            assert_eq!(p["appname"], header(&cfg.app_name, 48));
            assert_eq!(p["procid"], header(&format!("12{nasty}"), 128));
            let sd = &p["sd"][SD_ID];
            assert_eq!(sd["tenant"], sd_escaped(&tenant));
            assert_eq!(sd["tenantId"], sd_escaped(&tenant_id));
            let id = sd["recordId"].as_str().unwrap();
            let rec = recs.iter().find(|r| sd_escaped(&r.id) == id).unwrap_or_else(|| panic!("unknown id {id:?}"));
            let op = rec.operation.as_deref().unwrap_or("");
            let msgid = if op.is_empty() { Value::Null } else { Value::from(header(op, 32)) };
            assert_eq!(p["msgid"], msgid);
            let msg = p["msg"].as_str().unwrap();
            if rec.id.starts_with("h3") {
                // Cut to fit, and still parseable as what it is.
                match format {
                    Format::Cef => assert!(msg.starts_with("CEF:0|") && msg.contains(" o365fwdTruncated="), "{msg}"),
                    _ => {
                        let v: Value = serde_json::from_str(msg).unwrap();
                        assert!(v["o365fwd_truncated"].as_u64().unwrap() > 8192);
                        let blob = v["Blob"].as_str().unwrap_or_default();
                        assert!(blob.len() > 4000, "the cut keeps what fits: {msg}");
                    }
                }
            } else if framing == Framing::Lf {
                assert!(!msg.contains('\n'), "{msg:?}");
            } else if rec.id.as_ref() == "h2" {
                assert_eq!(msg, rec.raw.get(), "octet counting keeps the line feed");
            }
        }
    }
}

/// Stops rsyslog mid-run (cleanly, or killed), sends on while it is down, restarts it: every
/// record arrives, and duplicates never exceed what the sink counted as re-sent.
async fn receiver_down_mid_run(name: &str, signal: i32) {
    if !external_ready(name) {
        return;
    }
    let mut r = Rsyslog::start(None);
    let mut cfg = config(&r.address(), Transport::Tcp);
    if let Ok(w) = std::env::var("O365FWD_TEST_RESEND_WINDOW_MS") {
        // To see the test fail without the window: O365FWD_TEST_RESEND_WINDOW_MS=0.
        cfg.resend_window = Duration::from_millis(w.parse().unwrap());
    }
    let mut run = Run::start(name, &cfg, Format::Raw, feed());
    let (batches, per) = (40, 50);
    for b in 0..batches {
        if b == 15 {
            r.stop(signal);
        }
        if b == 20 {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            r.restart();
        }
        run.send(records(b * per, per)).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let acks = run.finish(Duration::from_secs(60)).await;
    assert_eq!(acks.len(), batches);
    let total = batches * per;
    let got = r.wait_for(total, Duration::from_secs(20)).await;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for m in &got {
        let json = &m[m.find("] {").expect("payload after SD") + 2..];
        let v: Value = serde_json::from_str(json).unwrap();
        *seen.entry(v["Id"].as_str().unwrap().to_string()).or_default() += 1;
    }
    let missing: Vec<_> = (0..total).map(|i| format!("rec-{i}")).filter(|id| !seen.contains_key(id)).collect();
    assert!(missing.is_empty(), "lost {} records, e.g. {:?}; rsyslogd: {}", missing.len(), &missing[..missing.len().min(5)], r.log());
    let dups: usize = seen.values().map(|n| n - 1).sum();
    let resent = o365fwd::telemetry::get("o365fwd_syslog_resent_records_total", &[("sink", name)]);
    assert!(resent > 0, "the break was noticed and the window re-sent");
    assert!(dups as u64 <= resent, "{dups} duplicates but only {resent} records re-sent");
    assert_eq!(seen.len(), total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_stopped_mid_run_and_restarted_loses_nothing() {
    receiver_down_mid_run("syslog-restart-term", libc::SIGTERM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_killed_mid_run_and_restarted_loses_nothing() {
    receiver_down_mid_run("syslog-restart-kill", libc::SIGKILL).await;
}

/// The real binary, fed by the simulator, with a syslog sink beside the file sink: every
/// simulated record reaches rsyslog, and the file sink still gets each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_binary_every_simulated_record_reaches_rsyslog() {
    use crate::harness::{Env, sim_config, tail};
    if !external_ready("syslog-e2e") {
        return;
    }
    let r = Rsyslog::start(None);
    let sink = format!(
        "[sinks.siem]\ntype = \"syslog\"\naddress = \"{}\"\ntransport = \"tcp\"\nframing = \"octet_counting\"\nformat = \"raw\"\n",
        r.address()
    );
    let env = Env::start_with_sinks(sim_config(1, &[ContentType::General, ContentType::Exchange]), "", &sink).await;
    let want = env.expected();
    assert!(want.len() > 50, "{}", want.len());
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(90)).await,
        "not everything delivered; log:\n{}",
        tail(&env.log(), 30)
    );
    // Acknowledged by every sink before it was committed: rsyslog has it all by now.
    let got = r.wait_for(want.len(), Duration::from_secs(10)).await;
    agent.stop();
    env.assert_exactly_once(&want);
    let ids: std::collections::BTreeSet<String> = got
        .iter()
        .map(|m| {
            let v: Value = serde_json::from_str(&m[m.find("] {").unwrap() + 2..]).unwrap();
            v["Id"].as_str().unwrap().to_string()
        })
        .collect();
    let missing: Vec<_> = want.difference(&ids).take(5).collect();
    assert!(missing.is_empty(), "missing at rsyslog: {missing:?}");
    assert!(parse_5424(&got).iter().all(|p| p["appname"] == "o365fwd"));
}
