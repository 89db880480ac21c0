//! ECS and CEF encodings: golden files, escaping properties, and independent validation
//! (the `cefp` CEF parser, the official ECS field definitions).
//!
//! `UPDATE_GOLDEN=1` rewrites the expected files under `tests/fixtures/formats/`.
//! Validators come from `.ci/validators.sh`; without them the validation tests fail, unless
//! `O365FWD_SKIP_EXTERNAL=1` is set outside CI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use o365fwd::format::{Encoder, Format, FormatOptions, Origin, cef};
use o365fwd::record::split::{Reassembler, SplitConfig};
use o365fwd::record::{ContentType, Record, parse_blob};
use serde::Deserialize;
use serde_json::value::RawValue;

const TENANT: &str = "contoso";
const TENANT_ID: &str = "41463f53-8812-40f4-890f-865bf6e35190";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats")
}

#[derive(Deserialize)]
struct Input {
    content_type: String,
    records: Box<RawValue>,
}

pub(crate) struct Fixture {
    name: String,
    content_type: ContentType,
    /// The records, then the merged views of split groups.
    pub(crate) records: Vec<Record>,
}

impl Fixture {
    pub(crate) fn origin(&self) -> Origin<'static> {
        Origin {
            tenant: TENANT,
            tenant_id: TENANT_ID,
            content_type: self.content_type,
        }
    }
}

pub(crate) fn fixtures() -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .filter(|n| !n.contains('.'))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "fixtures missing: {names:?}");
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap();
            let input: Input = serde_json::from_str(&text).unwrap();
            let mut records = parse_blob(&name, input.records.get().as_bytes()).unwrap();
            let cfg = SplitConfig::default();
            let mut split = Reassembler::new(cfg.clone());
            let t0 = Instant::now();
            let mut merged = Vec::new();
            for r in &records {
                merged.extend(split.push(r, t0));
            }
            merged.extend(split.poll(t0 + cfg.horizon));
            records.extend(merged.into_iter().map(|m| m.record));
            Fixture {
                content_type: input.content_type.parse().unwrap(),
                name,
                records,
            }
        })
        .collect()
}

fn encode_lines(f: &Fixture, enc: &Encoder) -> Vec<String> {
    f.records
        .iter()
        .map(|r| {
            let mut out = Vec::new();
            enc.encode(r, &f.origin(), &mut out);
            String::from_utf8(out).unwrap()
        })
        .collect()
}

fn ecs() -> Encoder {
    Encoder::new(Format::Ecs, FormatOptions::default())
}

fn cef_enc() -> Encoder {
    Encoder::new(Format::Cef, FormatOptions::default())
}

#[test]
fn golden_ecs_and_cef() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut checked = 0;
    for f in fixtures() {
        for (ext, enc) in [("ecs.ndjson", ecs()), ("cef", cef_enc())] {
            let lines = encode_lines(&f, &enc);
            let actual = lines.join("\n") + "\n";
            let path = dir().join(format!("{}.{ext}", f.name));
            if update {
                std::fs::write(&path, &actual).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
            for (i, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
                assert_eq!(a, e, "{} line {} differs", path.display(), i + 1);
            }
            assert_eq!(actual, expected, "{}", path.display());
            checked += 1;
        }
    }
    assert!(update || checked >= 18);
}

/// Spot checks of the golden output, so a regenerated file cannot silently go wrong.
#[test]
fn golden_semantics() {
    let fx = fixtures();
    let get = |name: &str| fx.iter().find(|f| f.name == name).unwrap();
    let docs = |name: &str| -> Vec<serde_json::Value> {
        encode_lines(get(name), &ecs())
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let d = docs("dynamics-retrievemultiple-split");
    assert_eq!(d.len(), 3, "two parts and the merged view");
    assert_eq!(d[0]["o365"]["dynamics"]["access"], "ReadMultiple");
    assert_eq!(d[2]["o365"]["dynamics"]["query_result_count"], 4);
    assert_eq!(d[2]["o365fwd"]["split"]["partial"], false);
    assert_eq!(
        d[2]["o365fwd"]["split"]["parts"].as_array().unwrap().len(),
        2
    );
    let d = docs("dynamics-create");
    assert_eq!(
        d[0]["event"]["type"],
        serde_json::json!(["info", "creation"])
    );
    assert_eq!(d[0]["o365"]["dynamics"]["fields"]["new_taxid"], "*");
    assert_eq!(d[1]["o365"]["dynamics"]["fields"]["statecode"], "2");
    assert_eq!(d[1]["source"]["port"], 51234);
    assert_eq!(d[1]["source"]["ip"], "2001:db8:85a3::8a2e:370:7334");
    let d = docs("dynamics-exporttoexcel");
    assert_eq!(d[0]["user"]["id"], "8f3e2d1c-0b9a-4c8d-8e7f-6a5b4c3d2e1f");
    assert_eq!(d[0]["user"]["email"], "megan.bowen@contoso.onmicrosoft.com");
    assert_eq!(
        d[0]["organization"]["id"],
        "41463f53-8812-40f4-890f-865bf6e35190"
    );
    let d = docs("aad-logon");
    assert_eq!(d[0]["event"]["outcome"], "success");
    assert_eq!(d[1]["event"]["outcome"], "failure");
    assert_eq!(d[2]["event"]["outcome"], "failure");
    assert!(
        d[0]["user_agent"]["original"]
            .as_str()
            .unwrap()
            .ends_with("Firefox/72.0")
    );
    assert_eq!(
        d[0]["o365"]["audit"]["ExtendedProperties"]["RequestType"],
        "OAuth2:Authorize"
    );
    assert_eq!(d[3]["event"]["action"], "added-user-account");
    assert_eq!(d[3]["user"]["target"]["name"], "user001");
    let d = docs("odd");
    assert_eq!(
        d[0]["o365"]["audit"]["PrimaryFieldValue"].to_string(),
        "1.5"
    );
    assert_eq!(d[0]["client"]["address"], "not an ip");
    assert_eq!(d[1]["event"]["code"], "9999");
    assert_eq!(d[1]["event"]["outcome"], "unknown");
    assert_eq!(d[1]["user"]["id"], "12345");

    let cef = encode_lines(get("dynamics-exporttoexcel"), &cef_enc());
    assert!(cef[0].starts_with(
        "CEF:0|Microsoft|Dynamics 365|1.0|ExportToExcel|Export to excel (opportunity)|8|"
    ));
    assert!(cef[0].contains(" cat=ReadMultiple "));
    let cef = encode_lines(get("dynamics-retrieve"), &cef_enc());
    assert!(cef[0].contains("|Retrieve|Retrieve (account)|3|rt=1520033156000 externalId="));
}

// ---------------------------------------------------------------------------------------
// A small CEF reader, written from the spec, for the property tests.

fn unescape_header(s: &str) -> Result<Vec<String>, String> {
    let mut fields = vec![String::new()];
    let mut chars = s.chars();
    let mut rest = None;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | '|')) => fields.last_mut().unwrap().push(e),
                other => return Err(format!("bad header escape \\{other:?}")),
            },
            '|' if fields.len() == 7 => {
                rest = Some(chars.as_str().to_string());
                break;
            }
            '|' => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields.push(rest.ok_or("fewer than 8 fields")?);
    Ok(fields)
}

fn unescape_ext(s: &str) -> Result<Vec<(String, String)>, String> {
    // Positions (byte offsets) of unescaped '='.
    let b = s.as_bytes();
    let mut eqs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'=' => {
                eqs.push(i);
                i += 1
            }
            _ => i += 1,
        }
    }
    let mut out = Vec::new();
    let mut key_start = 0;
    for (n, &eq) in eqs.iter().enumerate() {
        let key = &s[key_start..eq];
        if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("bad key {key:?}"));
        }
        let end = match eqs.get(n + 1) {
            Some(&next) => {
                let sp = s[..next].rfind(' ').ok_or("no space before next key")?;
                key_start = sp + 1;
                sp
            }
            None => s.len(),
        };
        let raw = &s[eq + 1..end];
        let mut v = String::new();
        let mut cs = raw.chars();
        while let Some(c) = cs.next() {
            if c == '\\' {
                match cs.next() {
                    Some('\\') => v.push('\\'),
                    Some('=') => v.push('='),
                    Some('n') => v.push('\n'),
                    Some('r') => v.push('\r'),
                    other => return Err(format!("bad value escape \\{other:?}")),
                }
            } else {
                v.push(c);
            }
        }
        out.push((key.to_string(), v));
    }
    Ok(out)
}

/// What a reader must get back for one event: header fields and extension pairs, after
/// the encoder's truncation.
fn expected(ev: &cef::Event<'_>) -> (Vec<String>, Vec<(String, String)>) {
    let cut = |s: &str, limit: usize| {
        let (t, c) = cef::truncate(s, limit);
        let mut t = t.to_string();
        if c {
            t.push(cef::TRUNCATION_MARK);
        }
        t
    };
    let head = |s: &str, limit: usize| cut(s, limit).replace(['\r', '\n'], " ");
    let header = vec![
        "CEF:0".to_string(),
        head(cef::VENDOR, 63),
        head(ev.product, 63),
        head(cef::DEVICE_VERSION, 31),
        head(ev.signature, 1023),
        head(&ev.name, 512),
        ev.severity.to_string(),
    ];
    let ext = ev
        .ext
        .iter()
        .map(|(k, v)| (k.to_string(), cut(v, cef::ext_limit(k))))
        .collect();
    (header, ext)
}

const PIECES: [&str; 22] = [
    "a", "Z", "0", " ", "|", "=", "\\", "\n", "\r", "\r\n", "\t", "é", "中", "🚀", "cs1=", "\\=",
    "|x|", " k=v ", "msg=", "\\n", "CEF:0|", "\u{2028}",
];

fn random_text(rng: &mut fastrand::Rng) -> String {
    let n = if rng.u8(..20) == 0 {
        rng.usize(500..1500)
    } else {
        rng.usize(0..12)
    };
    (0..n).map(|_| PIECES[rng.usize(..PIECES.len())]).collect()
}

pub(crate) fn random_record(rng: &mut fastrand::Rng) -> String {
    let mut m = serde_json::Map::new();
    let rt = [
        serde_json::json!(21),
        serde_json::json!(15),
        serde_json::json!(6),
        serde_json::json!(8),
        serde_json::json!(1),
        serde_json::json!("21"),
        serde_json::json!(9999),
    ];
    m.insert("RecordType".into(), rt[rng.usize(..rt.len())].clone());
    m.insert("CreationTime".into(), "2024-01-02T03:04:05".into());
    for key in [
        "Id",
        "Operation",
        "UserId",
        "UserKey",
        "EntityName",
        "EntityId",
        "Query",
        "ItemUrl",
        "CorrelationId",
        "ClientIP",
        "UserAgent",
        "LogonError",
        "OrganizationId",
        "Message",
        "ObjectId",
        "SourceFileName",
        "ResultStatus",
        "QueryResults",
    ] {
        if rng.bool() {
            m.insert(key.into(), random_text(rng).into());
        }
    }
    if rng.bool() {
        m.insert("Workload".into(), "CRM".into());
    } else if rng.bool() {
        m.insert("Workload".into(), random_text(rng).into());
    }
    if rng.u8(..4) == 0 {
        let fields: Vec<serde_json::Value> = (0..rng.usize(0..4))
            .map(|_| serde_json::json!({"Name": random_text(rng), "Value": random_text(rng)}))
            .collect();
        m.insert("Fields".into(), fields.into());
    }
    serde_json::Value::Object(m).to_string()
}

fn random_options(rng: &mut fastrand::Rng) -> FormatOptions {
    let mut o = FormatOptions::default();
    if rng.bool() {
        o.cef_fields = vec![
            ("cs6".into(), format!("={}", random_text(rng))),
            ("flexString1".into(), "Query".into()),
            ("msg".into(), String::new()),
            ("cs1".into(), "Fields.0.Name".into()),
        ];
    }
    o
}

pub(crate) fn seed() -> u64 {
    std::env::var("O365FWD_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0365_f00d)
}

#[test]
fn cef_escaping_round_trips_and_stays_one_line() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let origin = Origin {
        tenant: "ten|ant=x\n",
        tenant_id: TENANT_ID,
        content_type: ContentType::General,
    };
    for i in 0..3000 {
        let text = random_record(&mut rng);
        let rec = Record::from_json(&text, "fallback").unwrap();
        let opts = random_options(&mut rng);
        let enc = Encoder::new(Format::Cef, opts.clone());
        let mut out = Vec::new();
        enc.encode(&rec, &origin, &mut out);
        let line = String::from_utf8(out).unwrap();
        let ctx = || format!("seed {seed} case {i}\nrecord {text}\nline {line}");
        assert!(!line.contains(['\n', '\r']), "raw newline: {}", ctx());
        let fields = unescape_header(&line).unwrap_or_else(|e| panic!("{e}: {}", ctx()));
        let ext = unescape_ext(&fields[7]).unwrap_or_else(|e| panic!("{e}: {}", ctx()));
        let (want_header, want_ext) = expected(&cef::event(&rec, &origin, &opts));
        assert_eq!(fields[..7], want_header[..], "{}", ctx());
        assert_eq!(ext, want_ext, "{}", ctx());
        assert!(ext.iter().any(|(k, _)| k == "externalId"), "{}", ctx());
    }
}

#[test]
fn ecs_is_valid_json_and_keeps_every_value() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let origin = Origin {
        tenant: TENANT,
        tenant_id: TENANT_ID,
        content_type: ContentType::General,
    };
    let enc = Encoder::new(
        Format::Ecs,
        FormatOptions {
            keep_original: true,
            ..FormatOptions::default()
        },
    );
    for i in 0..2000 {
        let text = random_record(&mut rng);
        let rec = Record::from_json(&text, "fallback").unwrap();
        let mut out = Vec::new();
        enc.encode(&rec, &origin, &mut out);
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!(
                "seed {seed} case {i}: {e}\n{}",
                String::from_utf8_lossy(&out)
            )
        });
        assert_eq!(doc["event"]["original"], text.as_str());
        assert_eq!(doc["event"]["id"], rec.id());
        let input: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (k, v) in input.as_object().unwrap() {
            let kept = &doc["o365"]["audit"][k];
            // A field either stays as is under o365.audit or has moved to an ECS field.
            if kept.is_null() {
                let moved = [
                    "Id",
                    "Operation",
                    "Workload",
                    "OrganizationId",
                    "ClientIP",
                    "UserAgent",
                    "ObjectId",
                    "SourceFileName",
                    "ItemUrl",
                ];
                assert!(
                    moved.contains(&k.as_str()),
                    "seed {seed} case {i}: {k} lost"
                );
            } else if k != "Fields" {
                assert_eq!(kept, v, "seed {seed} case {i}: {k} changed");
            }
        }
    }
}

#[test]
fn non_object_records_still_encode() {
    let origin = Origin {
        tenant: TENANT,
        tenant_id: TENANT_ID,
        content_type: ContentType::General,
    };
    for raw in ["42", "\"a | string = x\\n\"", "[1,2]", "null"] {
        let rec = Record::from_json(raw, "cid#3").unwrap();
        let mut out = Vec::new();
        ecs().encode(&rec, &origin, &mut out);
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["event"]["kind"], "pipeline_error");
        assert_eq!(doc["event"]["original"], raw);
        assert!(doc["@timestamp"].is_string());
        let mut out = Vec::new();
        cef_enc().encode(&rec, &origin, &mut out);
        let line = String::from_utf8(out).unwrap();
        let f = unescape_header(&line).unwrap();
        assert_eq!(f[4], "Unparsed");
        let ext = unescape_ext(&f[7]).unwrap();
        assert!(
            ext.contains(&("msg".to_string(), raw.to_string())),
            "{line}"
        );
        assert!(ext.contains(&("externalId".to_string(), rec.id().to_string())));
    }
}

// ---------------------------------------------------------------------------------------
// Independent validators.

/// Whether a validator may run (see [`crate::harness::external_ready`]).
pub(crate) fn validator_available(name: &str, ok: bool) -> bool {
    ok || crate::harness::external_ready(
        "format validation",
        &[name.to_string()],
        "`sh .ci/validators.sh` (pip cefp==0.0.2, npm @elastic/ecs@9.4.0 into $O365FWD_VALIDATORS_DIR, default /opt/o365fwd-validators)",
    )
}

pub(crate) fn python() -> String {
    std::env::var("O365FWD_PYTHON").unwrap_or_else(|_| "python3".into())
}

pub(crate) fn run(mut cmd: Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

#[derive(Deserialize)]
struct CefpEvent {
    version: String,
    header: Vec<String>,
    ext: std::collections::BTreeMap<String, String>,
}

#[test]
fn cef_output_parses_with_cefp() {
    let has_cefp = Command::new(python())
        .args([
            "-c",
            "import importlib.metadata as m, sys; import cefp; sys.exit(m.version('cefp') != '0.0.2')",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !validator_available("cefp 0.0.2 (PyPI)", has_cefp) {
        return;
    }
    // Every fixture, plus hostile random records.
    let mut cases: Vec<(Record, Origin<'static>, FormatOptions)> = Vec::new();
    for f in fixtures() {
        let origin = f.origin();
        cases.extend(
            f.records
                .into_iter()
                .map(|r| (r, origin, FormatOptions::default())),
        );
    }
    let mut rng = fastrand::Rng::with_seed(seed());
    for _ in 0..500 {
        let rec = Record::from_json(&random_record(&mut rng), "fallback").unwrap();
        let origin = Origin {
            tenant: TENANT,
            tenant_id: TENANT_ID,
            content_type: ContentType::General,
        };
        cases.push((rec, origin, random_options(&mut rng)));
    }
    let mut input = String::new();
    for (rec, origin, opts) in &cases {
        let mut out = Vec::new();
        Encoder::new(Format::Cef, opts.clone()).encode(rec, origin, &mut out);
        input.push_str(std::str::from_utf8(&out).unwrap());
        input.push('\n');
    }
    let mut cmd = Command::new(python());
    cmd.arg(dir().join("validators/cef_check.py"));
    let out = run(cmd, &input);
    assert!(
        out.status.success(),
        "cefp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Vec<CefpEvent> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed.len(), cases.len());
    for ((rec, origin, opts), got) in cases.iter().zip(&parsed) {
        let (header, ext) = expected(&cef::event(rec, origin, opts));
        let ctx = || format!("record {}", rec.raw.get());
        assert_eq!(got.version, "0", "{}", ctx());
        assert_eq!(got.header[..], header[1..], "{}", ctx());
        let want: std::collections::BTreeMap<String, String> = ext.into_iter().collect();
        // cefp's reading of a value keeps the spaces before the next key: compare exactly.
        assert_eq!(got.ext, want, "{}", ctx());
    }
}

#[test]
fn ecs_output_matches_official_field_definitions() {
    let dir_v = std::env::var("O365FWD_VALIDATORS_DIR")
        .unwrap_or_else(|_| "/opt/o365fwd-validators".into());
    let flat = Path::new(&dir_v).join("node_modules/@elastic/ecs/build/commonjs/ecs_flat.js");
    let has_node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !validator_available(
        "node + @elastic/ecs 9.4.0 (npm)",
        has_node && flat.is_file(),
    ) {
        return;
    }
    let mut input = String::new();
    let enc = Encoder::new(
        Format::Ecs,
        FormatOptions {
            keep_original: true,
            ..FormatOptions::default()
        },
    );
    let mut docs = 0;
    for f in fixtures() {
        for line in encode_lines(&f, &enc) {
            input.push_str(&line);
            input.push('\n');
            docs += 1;
        }
    }
    let mut cmd = Command::new("node");
    cmd.arg(dir().join("validators/ecs_check.js")).arg(&dir_v);
    let out = run(cmd, &input);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ecs_check: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(summary["errors"], serde_json::json!([]), "ECS violations");
    assert!(out.status.success());
    assert_eq!(summary["docs"], docs);
    assert!(summary["checked"].as_u64().unwrap() > 20 * docs as u64 / 2);
}
