//! The fuzz target `record_formats` in miniature, so `cargo test` checks its invariants on
//! every run: simulator records with random byte mutations, parsed as a blob and encoded in
//! every format. ECS is always one JSON object, CEF one line, raw the record byte for byte.

use super::{Encoder, Format, FormatOptions, Origin};
use crate::record::{ContentType, parse_blob};
use crate::sim::{SimConfig, write_ndjson};

fn check(body: &[u8]) {
    let Ok(records) = parse_blob("c", body) else {
        return;
    };
    let origin = Origin {
        tenant: "contoso",
        tenant_id: "41463f53-8812-40f4-890f-865bf6e35190",
        content_type: ContentType::General,
    };
    let mut out = Vec::new();
    for rec in &records {
        for format in [Format::Raw, Format::Ecs, Format::Cef, Format::Text] {
            out.clear();
            Encoder::new(format, FormatOptions::default()).encode(rec, &origin, &mut out);
            match format {
                Format::Ecs => {
                    // Syntax, as the input was checked: numbers are copied verbatim, so one
                    // out of f64's range (valid JSON) stays as it came.
                    let v: &serde_json::value::RawValue = serde_json::from_slice(&out)
                        .unwrap_or_else(|e| panic!("ECS not JSON ({e}) for {}", rec.raw.get()));
                    assert!(v.get().starts_with('{'));
                }
                Format::Cef => {
                    assert!(out.starts_with(b"CEF:0|"));
                    assert!(
                        !out.contains(&b'\n') && !out.contains(&b'\r'),
                        "CEF not one line for {}",
                        rec.raw.get()
                    );
                }
                Format::Raw => assert_eq!(out, rec.raw.get().as_bytes()),
                Format::Text => {}
            }
        }
    }
}

#[test]
fn mutated_simulator_records_keep_every_format_well_formed() {
    let cfg = SimConfig {
        records_per_blob: (5, 5),
        backlog: std::time::Duration::from_secs(600),
        blob_interval: std::time::Duration::from_secs(600),
        ..SimConfig::default()
    };
    let mut nd = Vec::new();
    write_ndjson(&cfg, &mut nd).unwrap();
    let text = String::from_utf8(nd).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 5);
    check(format!("[{}]", lines.join(",")).as_bytes());
    let mut rng = fastrand::Rng::with_seed(0xf022);
    let alphabet = b"\"\\{}[]:,0123456789.eE-+ \n\r\t|=abcZ\x00\x7f";
    for _ in 0..3000 {
        let mut b = lines[rng.usize(..lines.len())].as_bytes().to_vec();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(..b.len());
            match rng.u8(..3) {
                0 => b[i] = alphabet[rng.usize(..alphabet.len())],
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, alphabet[rng.usize(..alphabet.len())]),
            }
            if b.is_empty() {
                break;
            }
        }
        let mut body = b"[".to_vec();
        body.extend_from_slice(&b);
        body.push(b']');
        check(&body);
    }
}
