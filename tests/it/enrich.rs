//! `[enrich]`: GeoIP/ASN from MaxMind-format databases built at test time by a third-party
//! writer (`mmdb-writer`, PyPI), and user agents of real browsers and Office clients, in
//! every format; without enrichment nothing changes; databases replaced on disk are picked
//! up; a missing or corrupt database is a clear `check` error.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use o365fwd::format::enrich::{DEFAULT_WATCH, EnrichConfig, Enricher};
use o365fwd::format::{Encoder, Format, FormatOptions, Origin};
use o365fwd::record::{ContentType, Record};
use serde_json::{Value, json};

fn writer_ready() -> bool {
    let ok = Command::new(crate::formats::python())
        .args(["-c", "import mmdb_writer"])
        .output()
        .is_ok_and(|o| o.status.success());
    crate::formats::validator_available("python3 + mmdb-writer 0.2.7 (PyPI)", ok)
}

/// Builds the test databases (`City.mmdb`, `ASN.mmdb`) into `dir`.
pub(crate) fn make_dbs(dir: &Path, variant: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/enrich/make_mmdb.py");
    let out = Command::new(crate::formats::python())
        .arg(script)
        .arg(dir)
        .arg(variant)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(dir: &Path) -> EnrichConfig {
    EnrichConfig {
        city: Some(dir.join("City.mmdb")),
        asn: Some(dir.join("ASN.mmdb")),
        user_agent: true,
        watch_interval: DEFAULT_WATCH,
    }
}

const ORIGIN: Origin<'static> = Origin {
    tenant: "contoso",
    tenant_id: "c0ffee00-0000-4000-8000-000000000001",
    content_type: ContentType::General,
};

fn encode(rec: &Record, format: Format, enrich: Option<&Arc<Enricher>>) -> Vec<u8> {
    let opts = FormatOptions {
        enrich: enrich.cloned(),
        ..FormatOptions::default()
    };
    let mut out = Vec::new();
    Encoder::new(format, opts).encode(rec, &ORIGIN, &mut out);
    out
}

fn record(json: &str) -> Record {
    Record::from_json(json, "content-1").unwrap()
}

#[test]
fn geo_asn_and_user_agent_in_every_format() {
    if !writer_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_dbs(dir.path(), "a");
    let en = Arc::new(Enricher::open(&config(dir.path())).unwrap());
    let sign_in = record(
        r#"{"Id":"e1","CreationTime":"2026-03-02T10:01:00","Operation":"UserLoggedIn","RecordType":15,
        "Workload":"AzureActiveDirectory","UserId":"alice@contoso.example","ClientIP":"81.2.69.142:51000",
        "ExtendedProperties":[{"Name":"UserAgent","Value":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.14; rv:72.0) Gecko/20100101 Firefox/72.0"}]}"#,
    );
    let ecs: Value = serde_json::from_slice(&encode(&sign_in, Format::Ecs, Some(&en))).unwrap();
    assert_eq!(
        ecs["source"],
        json!({"ip":"81.2.69.142","port":51000,
            "geo":{"city_name":"London","continent_name":"Europe","country_iso_code":"GB",
                   "country_name":"United Kingdom","location":{"lat":51.5142,"lon":-0.0931},
                   "region_iso_code":"GB-ENG","region_name":"England"},
            "as":{"number":64500,"organization":{"name":"Documentation ASN"}}})
    );
    assert_eq!(
        ecs["user_agent"],
        json!({"original":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.14; rv:72.0) Gecko/20100101 Firefox/72.0",
            "name":"Firefox","version":"72.0",
            "os":{"name":"Mac OS X","version":"10.14","full":"Mac OS X 10.14"},"device":{"name":"Mac"}})
    );
    let cef = String::from_utf8(encode(&sign_in, Format::Cef, Some(&en))).unwrap();
    assert!(cef.contains(" slat=51.5142 slong=-0.0931"), "{cef}");
    let ocsf: Value = serde_json::from_slice(&encode(&sign_in, Format::Ocsf, Some(&en))).unwrap();
    assert_eq!(
        ocsf["src_endpoint"]["location"],
        json!({"city":"London","continent":"Europe","country":"GB","region":"GB-ENG","coordinates":[-0.0931,51.5142]})
    );
    assert_eq!(
        encode(&sign_in, Format::Raw, Some(&en)),
        sign_in.raw.get().as_bytes(),
        "raw stays raw"
    );
    // IPv6, and an Office client's user agent.
    let outlook = record(
        r#"{"Id":"e2","Operation":"MailItemsAccessed","RecordType":50,"Workload":"Exchange",
        "ClientIPAddress":"[2001:db8::7]:443","UserAgent":"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"}"#,
    );
    let ecs: Value = serde_json::from_slice(&encode(&outlook, Format::Ecs, Some(&en))).unwrap();
    assert_eq!(ecs["source"]["geo"]["city_name"], "Las Vegas");
    assert_eq!(ecs["source"]["as"]["number"], 64496);
    assert_eq!(ecs["user_agent"]["name"], "Outlook");
    assert_eq!(ecs["user_agent"]["os"]["name"], "Windows");
    // A private address is in no database: nothing is added.
    let private = record(r#"{"Id":"e3","RecordType":15,"ClientIP":"10.1.2.3"}"#);
    let ecs: Value = serde_json::from_slice(&encode(&private, Format::Ecs, Some(&en))).unwrap();
    assert!(ecs["source"].get("geo").is_none() && ecs["source"].get("as").is_none());
}

/// Removes what enrichment adds, so the rest can be compared with the plain encoding.
fn strip(format: Format, v: &mut Value) {
    match format {
        Format::Ecs => {
            if let Some(s) = v.get_mut("source").and_then(Value::as_object_mut) {
                s.remove("geo");
                s.remove("as");
            }
            if let Some(u) = v.get_mut("user_agent").and_then(Value::as_object_mut) {
                u.retain(|k, _| k == "original");
            }
        }
        Format::Ocsf => {
            if let Some(s) = v.get_mut("src_endpoint").and_then(Value::as_object_mut) {
                s.remove("location");
            }
        }
        _ => {}
    }
}

#[test]
fn enrichment_only_adds_and_off_changes_nothing() {
    if !writer_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_dbs(dir.path(), "a");
    let en = Arc::new(Enricher::open(&config(dir.path())).unwrap());
    let mut recs: Vec<Record> = crate::parity::cases()
        .iter()
        .map(|c| record(&serde_json::to_string(&c["record"]).unwrap()))
        .collect();
    for f in crate::formats::fixtures() {
        recs.extend(f.records);
    }
    let (mut geo, mut ua) = (0, 0);
    for r in &recs {
        assert_eq!(encode(r, Format::Raw, Some(&en)), r.raw.get().as_bytes());
        for format in [Format::Ecs, Format::Ocsf] {
            let plain = encode(r, format, None);
            let mut rich: Value = serde_json::from_slice(&encode(r, format, Some(&en))).unwrap();
            if format == Format::Ecs {
                geo += usize::from(rich["source"].get("geo").is_some());
                ua += usize::from(rich["user_agent"].get("name").is_some());
            }
            strip(format, &mut rich);
            assert_eq!(
                rich,
                serde_json::from_slice::<Value>(&plain).unwrap(),
                "{format:?} {}",
                r.id()
            );
        }
        let plain = String::from_utf8(encode(r, Format::Cef, None)).unwrap();
        let rich = String::from_utf8(encode(r, Format::Cef, Some(&en))).unwrap();
        let without: String = rich
            .split(' ')
            .filter(|kv| !kv.starts_with("slat=") && !kv.starts_with("slong="))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(without, plain);
    }
    assert!(geo >= 10 && ua >= 5, "geo {geo}, user agents {ua}");
}

#[test]
fn enriched_documents_validate() {
    if !writer_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_dbs(dir.path(), "a");
    let en = Arc::new(Enricher::open(&config(dir.path())).unwrap());
    let recs: Vec<Record> = crate::parity::cases()
        .iter()
        .map(|c| record(&serde_json::to_string(&c["record"]).unwrap()))
        .collect();
    let ocsf: String = recs
        .iter()
        .map(|r| {
            format!(
                "{}\n",
                String::from_utf8(encode(r, Format::Ocsf, Some(&en))).unwrap()
            )
        })
        .collect();
    assert!(ocsf.contains("\"location\""));
    crate::ocsf::validate(&ocsf);
    let ecs: String = recs
        .iter()
        .map(|r| {
            format!(
                "{}\n",
                String::from_utf8(encode(r, Format::Ecs, Some(&en))).unwrap()
            )
        })
        .collect();
    crate::parity::ecs_check(&ecs, recs.len());
}

/// Replaces `name` in `dir` the way geoipupdate does: a new file renamed over the old one.
fn replace(dir: &Path, variant: &str) {
    let tmp = tempfile::tempdir_in(dir).unwrap();
    make_dbs(tmp.path(), variant);
    for name in ["City.mmdb", "ASN.mmdb"] {
        std::fs::rename(tmp.path().join(name), dir.join(name)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_replaced_on_disk_is_picked_up_and_a_broken_one_is_not() {
    if !writer_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_dbs(dir.path(), "a");
    let mut cfg = config(dir.path());
    cfg.watch_interval = Duration::from_millis(100);
    let en = Arc::new(Enricher::open(&cfg).unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = en.watch(stop.clone()).expect("watches the files");
    let ip = "81.2.69.142".parse().unwrap();
    let city = |en: &Enricher| {
        en.geo(ip, |g| (g.city_name.map(String::from), g.as_number))
            .unwrap()
    };
    assert_eq!(city(&en), (Some("London".into()), Some(64500)));
    replace(dir.path(), "b");
    let mut seen = city(&en);
    for _ in 0..100 {
        if seen.0.as_deref() == Some("Madrid") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = city(&en);
    }
    assert_eq!(seen, (Some("Madrid".into()), Some(64501)));
    // A broken file in its place: the working database stays in service, and it is counted.
    let errors = || o365fwd::telemetry::get("o365fwd_enrich_reloads_total", &[("result", "error")]);
    let before = errors();
    let tmp = dir.path().join("broken.tmp");
    std::fs::write(&tmp, b"truncated download").unwrap();
    std::fs::rename(&tmp, dir.path().join("City.mmdb")).unwrap();
    let t0 = std::time::Instant::now();
    while errors() == before && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(errors() > before, "the failed reopen is counted");
    assert_eq!(city(&en).0.as_deref(), Some("Madrid"));
    stop.cancel();
    watcher.await.unwrap();
}

fn check(dir: &Path, enrich: &str) -> (i32, String) {
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[tenants.t]\ntenant_id = \"0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b\"\nclient_id = \"0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b\"\nclient_secret = \"s\"\n\
             [sinks.out]\ntype = \"stdout\"\nformat = \"ecs\"\n[enrich]\n{enrich}"
        ),
    )
    .unwrap();
    let (code, out, err) = crate::harness::run_cli(&["check", "--config", cfg.to_str().unwrap()]);
    (code, format!("{out}{err}"))
}

#[test]
fn check_names_a_missing_or_corrupt_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing: PathBuf = dir.path().join("GeoLite2-City.mmdb");
    let (code, text) = check(
        dir.path(),
        &format!("geoip_city = \"{}\"\n", missing.display()),
    );
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("enrich.geoip_city")
            && text.contains("cannot read")
            && text.contains("GeoLite2-City.mmdb"),
        "{text}"
    );
    let corrupt = dir.path().join("GeoLite2-ASN.mmdb");
    std::fs::write(&corrupt, vec![0u8; 4096]).unwrap();
    let (code, text) = check(
        dir.path(),
        &format!("geoip_asn = \"{}\"\nuser_agent = true\n", corrupt.display()),
    );
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("enrich.geoip_asn") && text.contains("not a readable MaxMind DB"),
        "{text}"
    );
    if writer_ready() {
        make_dbs(dir.path(), "a");
        // A City database where an ASN one belongs.
        let (code, text) = check(
            dir.path(),
            &format!(
                "geoip_asn = \"{}\"\n",
                dir.path().join("City.mmdb").display()
            ),
        );
        assert_ne!(code, 0, "{text}");
        assert!(
            text.contains("not a ASN one") || text.contains("not an ASN one"),
            "{text}"
        );
        let (code, text) = check(
            dir.path(),
            &format!(
                "geoip_city = \"{}\"\ngeoip_asn = \"{}\"\nuser_agent = true\n",
                dir.path().join("City.mmdb").display(),
                dir.path().join("ASN.mmdb").display()
            ),
        );
        assert_eq!(code, 0, "{text}");
    }
}

/// City names in the ECS documents of `path` so far (complete lines only).
fn cities(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| l.ends_with('}'))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["source"]["geo"]["city_name"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reopens_the_databases_in_the_running_agent() {
    use crate::harness::{Env, sim_config, tail};
    if !writer_ready() {
        return;
    }
    let mut sim = sim_config(1, &[ContentType::AzureActiveDirectory]);
    sim.live = true;
    sim.backlog = Duration::from_secs(60);
    sim.blob_interval = Duration::from_secs(1);
    sim.records_per_blob = (5, 10);
    let dbs = tempfile::tempdir().unwrap();
    make_dbs(dbs.path(), "a");
    let out = dbs.path().join("ecs.ndjson");
    // No file watching within the test: only SIGHUP can change the databases in use.
    let sinks = format!(
        "[sinks.ecs]\ntype = \"file\"\npath = \"{}\"\nformat = \"ecs\"\n\n[enrich]\ngeoip_city = \"{}\"\ngeoip_asn = \"{}\"\nuser_agent = true\nwatch_interval = \"1day\"\n",
        out.display(),
        dbs.path().join("City.mmdb").display(),
        dbs.path().join("ASN.mmdb").display()
    );
    let env = Env::start_with_sinks(sim, "", &sinks).await;
    let agent = env.spawn();
    let wait = |want: &'static str| {
        let out = out.clone();
        async move {
            let t0 = std::time::Instant::now();
            while t0.elapsed() < Duration::from_secs(40) {
                if cities(&out).iter().any(|c| c == want) {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            false
        }
    };
    assert!(
        wait("Reykjavik").await,
        "enriched before: {}",
        tail(&env.log(), 20)
    );
    assert!(!cities(&out).iter().any(|c| c == "Oslo"));
    replace(dbs.path(), "b");
    unsafe {
        libc::kill(agent.child.id() as i32, libc::SIGHUP);
    }
    assert!(
        wait("Oslo").await,
        "the reloaded databases are used: {}",
        tail(&env.log(), 20)
    );
    assert!(env.log().contains("Configuration reloaded."));
    agent.stop();
}
