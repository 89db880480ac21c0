//! Criterion benchmarks of the per-record hot functions, on records the simulator renders
//! (the same shapes the end-to-end benchmark uses): blob parsing, ECS, CEF and OCSF encoding
//! (also with `[enrich]`: GeoIP/ASN databases built by `tests/fixtures/enrich/make_mmdb.py`,
//! which needs python3 with mmdb-writer, and user agents), and one RFC 5424 syslog message
//! with its framing.
//!
//! `cargo bench --bench hot` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use o365fwd::format::enrich::{DEFAULT_WATCH, EnrichConfig, Enricher};
use o365fwd::format::{Encoder, Format, FormatOptions, Origin};
use o365fwd::record::{ContentType, Record, parse_blob};
use o365fwd::sim::{SimConfig, write_ndjson};
use o365fwd::sink::syslog::{Formatter, SyslogConfig, Transport, frame};

/// A realistic blob: 200 records of every content type, as the simulator serves them.
fn blob() -> (Vec<u8>, usize) {
    let cfg = SimConfig {
        records_per_blob: (40, 40),
        backlog: Duration::from_secs(600),
        blob_interval: Duration::from_secs(600),
        ..SimConfig::default()
    };
    let mut nd = Vec::new();
    write_ndjson(&cfg, &mut nd).expect("render");
    let text = String::from_utf8(nd).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    let body = format!("[{}]", lines.join(","));
    (body.into_bytes(), lines.len())
}

fn origin() -> Origin<'static> {
    Origin {
        tenant: "contoso",
        tenant_id: "41463f53-8812-40f4-890f-865bf6e35190",
        content_type: ContentType::General,
    }
}

fn records(body: &[u8]) -> Vec<Record> {
    parse_blob("20260101000000000000000000000000000000$1", body).expect("blob parses")
}

/// GeoIP/ASN test databases (every public IPv4 address is in them) and user agents.
fn enricher() -> Result<(std::sync::Arc<Enricher>, tempfile::TempDir), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/enrich/make_mmdb.py");
    let ok = std::process::Command::new("python3")
        .arg(script)
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err("python3 with mmdb-writer is needed to build the test databases".into());
    }
    let cfg = EnrichConfig {
        city: Some(dir.path().join("City.mmdb")),
        asn: Some(dir.path().join("ASN.mmdb")),
        user_agent: true,
        watch_interval: DEFAULT_WATCH,
    };
    Ok((std::sync::Arc::new(Enricher::open(&cfg)?), dir))
}

fn bench(c: &mut Criterion) {
    let (body, n) = blob();
    let recs = records(&body);
    assert_eq!(recs.len(), n);
    let mut g = c.benchmark_group("per_record");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("parse_blob", |b| b.iter(|| records(black_box(&body))));
    let o = origin();
    for format in [Format::Raw, Format::Ecs, Format::Cef, Format::Ocsf] {
        let enc = Encoder::new(format, FormatOptions::default());
        let mut out = Vec::with_capacity(1 << 16);
        g.bench_function(format!("encode_{}", format.as_str()), |b| {
            b.iter(|| {
                for r in &recs {
                    out.clear();
                    enc.encode(black_box(r), &o, &mut out);
                }
                out.len()
            })
        });
    }
    match enricher() {
        Ok((en, _dir)) => {
            for format in [Format::Ecs, Format::Cef, Format::Ocsf] {
                let opts = FormatOptions {
                    enrich: Some(en.clone()),
                    ..FormatOptions::default()
                };
                let enc = Encoder::new(format, opts);
                let mut out = Vec::with_capacity(1 << 16);
                g.bench_function(format!("encode_{}_enriched", format.as_str()), |b| {
                    b.iter(|| {
                        for r in &recs {
                            out.clear();
                            enc.encode(black_box(r), &o, &mut out);
                        }
                        out.len()
                    })
                });
            }
        }
        Err(e) => eprintln!("enriched encodings not measured: {e}"),
    }
    let mut cfg = SyslogConfig::new("127.0.0.1:514", Transport::Tcp);
    cfg.hostname = Some("bench-host".into());
    let fmt = Formatter::new(&cfg, Encoder::new(Format::Cef, FormatOptions::default()));
    let (mut payload, mut msg, mut framed) = (Vec::new(), Vec::new(), Vec::new());
    g.bench_function("syslog_rfc5424_cef_framed", |b| {
        b.iter(|| {
            framed.clear();
            for r in &recs {
                msg.clear();
                fmt.format(black_box(r), &o, &mut payload, &mut msg);
                frame(cfg.framing, &msg, &mut framed);
            }
            framed.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
