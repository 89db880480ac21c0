//! The fuzz target `record_formats` in miniature (the same [`check`]), so `cargo test`
//! checks its invariants on every run: simulator records with random byte mutations, parsed as a blob and encoded in
//! every format. ECS is always one JSON object, CEF one line, raw the record byte for byte.

use super::invariants::check;
use crate::sim::{SimConfig, write_ndjson};

#[test]
fn mutated_simulator_records_keep_every_format_well_formed() {
    for body in mutated_blobs() {
        check(&body);
    }
}

/// A blob of simulator records, then 3000 one-record blobs with random byte mutations
/// (the same every run): what the fuzz target `record_formats` explores, in miniature.
pub(crate) fn mutated_blobs() -> Vec<Vec<u8>> {
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
    let mut out = vec![format!("[{}]", lines.join(",")).into_bytes()];
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
        out.push(body);
    }
    out
}
