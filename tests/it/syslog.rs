//! The syslog sink against a real rsyslog (installed by `.ci/rsyslog.sh`): UDP, TCP with
//! octet counting, TCP with LF framing, TLS; a receiver restart mid-run; hostile values in
//! every header and SD field. What arrives is compared byte for byte with what the formatter
//! produced, and parsed by a third-party RFC 5424 parser (syslog-rfc5424-parser on PyPI).
//!
//! Without rsyslog, openssl or the parser these tests fail; outside CI,
//! `O365FWD_SKIP_EXTERNAL=1` turns that into a loud SKIPPED line.

pub mod rsyslog;
pub mod support;

use std::time::Duration;

use o365fwd::format::{Encoder, Format, FormatOptions};
use o365fwd::pipeline::FeedShared;
use o365fwd::record::ContentType;
use o365fwd::sink::syslog::{Framing, Transport};
use serde_json::Value;

use self::rsyslog::{Rsyslog, make_cert};
use self::support::*;

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
    let mut run = Run::start(name, &cfg, format, feed()).await;
    let mut all = Vec::new();
    for b in 0..6 {
        let recs = records(b * 40, 40);
        all.extend(recs.clone());
        run.send(recs).await;
        if transport == Transport::Udp {
            // UDP has no flow control: a busy receiver drops what overflows its buffer.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
        assert_eq!(
            (p["hostname"].as_str(), p["appname"].as_str()),
            (Some("fwd-test"), Some("o365fwd"))
        );
        assert_eq!(p["procid"], 4242);
        assert_eq!(p["msgid"], "FileAccessed");
        let sd = &p["sd"][SD_ID];
        assert_eq!(sd["tenant"], "contoso");
        assert_eq!(sd["contentType"], "Audit.SharePoint");
        let id = sd["recordId"].as_str().unwrap();
        let rec = all.iter().find(|r| r.id() == id).expect("known record id");
        let mut payload = Vec::new();
        enc.encode(rec, &feed.origin(), &mut payload);
        assert_eq!(p["msg"].as_str().unwrap().as_bytes(), payload.as_slice());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_delivers_every_record_once_byte_for_byte() {
    round_trip(
        "syslog-udp",
        Transport::Udp,
        Framing::OctetCounting,
        Format::Raw,
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_octet_counting_delivers_every_record_once_byte_for_byte() {
    round_trip(
        "syslog-tcp-oc",
        Transport::Tcp,
        Framing::OctetCounting,
        Format::Cef,
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_lf_framing_delivers_every_record_once_byte_for_byte() {
    round_trip(
        "syslog-tcp-lf",
        Transport::Tcp,
        Framing::Lf,
        Format::Ecs,
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_delivers_every_record_once_byte_for_byte() {
    round_trip(
        "syslog-tls",
        Transport::Tls,
        Framing::OctetCounting,
        Format::Cef,
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_in_every_header_and_sd_field_still_parse() {
    if !external_ready("syslog-hostile") {
        return;
    }
    let r = Rsyslog::start(None);
    let nasty = "ü]\"\\\n\r\t é";
    for (i, (framing, format)) in [
        (Framing::OctetCounting, Format::Raw),
        (Framing::Lf, Format::Cef),
    ]
    .into_iter()
    .enumerate()
    {
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
        let mut run = Run::start(
            &name,
            &cfg,
            format,
            FeedShared::new(o365fwd::feed_id::FeedId::new(
                &tenant,
                &tenant_id,
                ContentType::General,
            )),
        )
        .await;
        let recs = hostile_records();
        run.send(recs.clone()).await;
        let feed = run.feed.clone();
        run.finish(Duration::from_secs(30)).await;
        let want = expected(&cfg, format, &feed, &recs);
        let got = r
            .wait_for(before + want.len(), Duration::from_secs(15))
            .await;
        let got = got[before..].to_vec();
        assert_same_messages(got.clone(), want, &r);
        assert!(got.iter().all(|m| m.len() <= cfg.max_message_size));
        let truncated = o365fwd::telemetry::metric::SYSLOG_TRUNCATED.get([&name]);
        let marked = got
            .iter()
            .filter(|m| m.contains("o365fwd_truncated\":") || m.contains(" o365fwdTruncated="))
            .count();
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
            let rec = recs
                .iter()
                .find(|r| sd_escaped(r.id()) == id)
                .unwrap_or_else(|| panic!("unknown id {id:?}"));
            let op = rec.operation().unwrap_or("");
            let msgid = if op.is_empty() {
                Value::Null
            } else {
                Value::from(header(op, 32))
            };
            assert_eq!(p["msgid"], msgid);
            let msg = p["msg"].as_str().unwrap();
            if rec.id().starts_with("h3") {
                // Cut to fit, and still parseable as what it is.
                match format {
                    Format::Cef => assert!(
                        msg.starts_with("CEF:0|") && msg.contains(" o365fwdTruncated="),
                        "{msg}"
                    ),
                    _ => {
                        let v: Value = serde_json::from_str(msg).unwrap();
                        assert!(v["o365fwd_truncated"].as_u64().unwrap() > 8192);
                        let blob = v["Blob"].as_str().unwrap_or_default();
                        assert!(blob.len() > 4000, "the cut keeps what fits: {msg}");
                    }
                }
            } else if framing == Framing::Lf {
                assert!(!msg.contains('\n'), "{msg:?}");
            } else if rec.id() == "h2" {
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
    let r = Rsyslog::start(None);
    let mut cfg = config(&r.address(), Transport::Tcp);
    if let Ok(w) = std::env::var("O365FWD_TEST_RESEND_WINDOW_MS") {
        // To see the test fail without the window: O365FWD_TEST_RESEND_WINDOW_MS=0.
        cfg.resend_window = Duration::from_millis(w.parse().unwrap());
    }
    let mut run = Run::start(name, &cfg, Format::Raw, feed()).await;
    let (batches, per) = (40, 50);
    let mut r = Some(r);
    let mut restarter = None;
    for b in 0..batches {
        if b == 15 {
            // Down for 1.5 s while batches keep coming: sending blocks (polling would stall)
            // until it is back.
            let mut down = r.take().unwrap();
            down.stop(signal);
            restarter = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1500));
                down.restart();
                down
            }));
        }
        run.send(records(b * per, per)).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let acks = run.finish(Duration::from_secs(60)).await;
    assert_eq!(acks.len(), batches);
    let r = restarter.map_or_else(|| r.unwrap(), |h| h.join().unwrap());
    let total = batches * per;
    let got = r.wait_for(total, Duration::from_secs(20)).await;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for m in &got {
        let json = &m[m.find("] {").expect("payload after SD") + 2..];
        let v: Value = serde_json::from_str(json).unwrap();
        *seen
            .entry(v["Id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let missing: Vec<_> = (0..total)
        .map(|i| format!("rec-{i}"))
        .filter(|id| !seen.contains_key(id))
        .collect();
    assert!(
        missing.is_empty(),
        "lost {} records, e.g. {:?}; rsyslogd: {}",
        missing.len(),
        &missing[..missing.len().min(5)],
        r.log()
    );
    let dups: usize = seen.values().map(|n| n - 1).sum();
    let resent = o365fwd::telemetry::metric::SYSLOG_RESENT_RECORDS.get([name]);
    assert!(resent > 0, "the break was noticed and the window re-sent");
    assert!(
        dups as u64 <= resent,
        "{dups} duplicates but only {resent} records re-sent"
    );
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
    let env = Env::start_with_sinks(
        sim_config(1, &[ContentType::General, ContentType::Exchange]),
        "",
        &sink,
    )
    .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_delivers_with_the_client_certificate_and_never_acks_without() {
    let name = "syslog-mtls";
    if !external_ready(name) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = make_cert(dir.path());
    let r = Rsyslog::start_auth(Some(&files), "x509/certvalid");
    let mut cfg = config(&r.address(), Transport::Tls);
    cfg.tls.ca_file = Some(files.ca.clone());

    // No client certificate: the receiver refuses the session; the batch is never
    // acknowledged (polling would stall), however long we wait.
    let mut run = Run::start("syslog-mtls-none", &cfg, Format::Cef, feed()).await;
    run.send(records(0, 5)).await;
    let pending = run.acks.pop().unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(3), pending)
            .await
            .is_err(),
        "acknowledged without delivery"
    );
    drop(run);
    assert!(r.received().is_empty());

    cfg.tls.cert_file = Some(files.client_cert.clone());
    let key = std::fs::read_to_string(&files.client_key).unwrap();
    cfg.tls.key = Some(o365fwd::secret::Secret::new(key));
    let mut run = Run::start(name, &cfg, Format::Cef, feed()).await;
    let recs = records(0, 30);
    run.send(recs.clone()).await;
    let feed = run.feed.clone();
    run.finish(Duration::from_secs(30)).await;
    let want = expected(&cfg, Format::Cef, &feed, &recs);
    let got = r.wait_for(want.len(), Duration::from_secs(10)).await;
    assert_same_messages(got, want, &r);
}

/// A local datagram socket like `/dev/log` (here a test socket that reads what arrives).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_datagram_socket_gets_one_message_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sock");
    let server = tokio::net::UnixDatagram::bind(&path).unwrap();
    let cfg = config(&path.display().to_string(), Transport::Unix);
    let mut run = Run::start("syslog-unix", &cfg, Format::Raw, feed()).await;
    let recs = records(0, 25);
    run.send(recs.clone()).await;
    let feed = run.feed.clone();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 70_000];
        while got.len() < 25 {
            let n = server.recv(&mut buf).await.unwrap();
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        got
    });
    run.finish(Duration::from_secs(10)).await;
    let got = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got,
        expected(&cfg, Format::Raw, &feed, &recs),
        "in order, byte for byte"
    );
}
