//! Property-style robustness: random bytes and random mutations of the example config must
//! never panic, and every reported location must lie inside the text.

use std::ffi::OsString;
use std::path::Path;

use super::super::parse_with_env;

fn env(name: &str) -> Option<OsString> {
    (name == "O365FWD_CONTOSO_SECRET").then(|| OsString::from("s3cr3t"))
}

/// Parses, renders the outcome, and checks every location is plausible.
fn check(text: &str) {
    let lines = text.split('\n').count();
    match parse_with_env(text, Path::new("/nonexistent/config.toml"), &env) {
        Ok(c) => {
            let _ = super::super::summary(&c);
        }
        Err(e) => {
            assert!(!e.problems.is_empty());
            let _ = e.to_string();
            for p in &e.problems {
                if let Some(line) = p.line {
                    assert!(line >= 1 && line <= lines, "{p:?} outside {lines} lines");
                    assert!(p.column.is_some_and(|c| c >= 1));
                }
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(0x0365);
    for _ in 0..2000 {
        let len = rng.usize(0..200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        check(&String::from_utf8_lossy(&bytes));
    }
}

/// Characters that matter to TOML, durations, URLs and GUIDs.
const ALPHABET: &[char] = &[
    '[', ']', '{', '}', '"', '\'', '=', ',', '.', '\n', '#', ' ', '0', '9', '-', '_', 'a', 'z',
    ':', '/', 'é', '\\', 's', 'h', '\t', '\r',
];

#[test]
fn mutated_example_never_panics() {
    let example = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"));
    let lines: Vec<&str> = example.lines().collect();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..1500 {
        let mut text: Vec<char> = example.chars().collect();
        for _ in 0..rng.usize(1..6) {
            let at = rng.usize(0..=text.len());
            match rng.u8(0..4) {
                0 if at < text.len() => {
                    let end = (at + rng.usize(1..20)).min(text.len());
                    text.drain(at..end);
                }
                1 => text.insert(at, ALPHABET[rng.usize(0..ALPHABET.len())]),
                2 => {
                    let line = lines[rng.usize(0..lines.len())];
                    text.splice(at..at, line.chars().chain(['\n']));
                }
                _ => {
                    if let Some(c) = text.get_mut(at) {
                        *c = ALPHABET[rng.usize(0..ALPHABET.len())];
                    }
                }
            }
        }
        check(&text.into_iter().collect::<String>());
    }
}

#[test]
fn hostile_values_never_panic() {
    let base = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"));
    for (from, to) in [
        ("\"60s\"", "\"18446744073709551615s\""),
        ("\"60s\"", "\"99999999999999999999999d\""),
        ("500", "9223372036854775807"),
        ("500", "-9223372036854775808"),
        ("500", "1e400"),
        ("= 16", "= -1"),
        ("\"1h\"", "\"\""),
        ("\"commercial\"", "[[1]]"),
        ("\"/var/lib/o365fwd\"", "\"\\u0000\""),
        ("\"/var/log/o365fwd/archive.ndjson\"", "\"/dev/zero\""),
        ("O365FWD_CONTOSO_SECRET", "A=B"),
        ("[tenants.contoso]", "[[tenants]]"),
        ("[sinks.archive]", "[sinks]\n[sinks.x.y]"),
    ] {
        check(&base.replacen(from, to, 1));
    }
    // Deep nesting must hit the parser's recursion limit, not overflow the stack.
    for deep in [
        format!("a = {}", "[".repeat(100_000)),
        format!("a = {}", "{a=".repeat(100_000)),
        format!("a{} = 1", ".a".repeat(100_000)),
        format!("[a{}]", ".a".repeat(100_000)),
    ] {
        let e = parse_with_env(&deep, Path::new("c.toml"), &env).unwrap_err();
        assert_eq!(e.problems.len(), 1, "{e}");
    }
}
