use super::*;

/// What serde_json says about the same blob: accepted, and each element's text.
fn serde_view(body: &[u8]) -> Option<Vec<String>> {
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_slice(body).ok()?;
    Some(items.iter().map(|r| r.get().to_string()).collect())
}

fn ours(body: &[u8]) -> Option<Vec<String>> {
    let (text, scan) = scan_blob(body).ok()?;
    Some(
        scan.elements
            .iter()
            .map(|e| text[e.start..e.end].to_string())
            .collect(),
    )
}

#[test]
fn agrees_with_serde_json_on_edge_cases() {
    let cases: &[&[u8]] = &[
        b"[]",
        b" [ ] ",
        b"[1]",
        b"[1,]",
        b"[,1]",
        b"[01]",
        b"[-0]",
        b"[-]",
        b"[1.]",
        b"[1.5e]",
        b"[1.5e+3, -2E-7, 0.0, 10]",
        b"[1e5x]",
        b"[tru]",
        b"[true,false,null]",
        b"[nul]",
        b"[\"a\\u00e9\\n\\\"\"]",
        b"[\"\\x\"]",
        b"[\"\\u12G4\"]",
        b"[\"\\u12\"]",
        b"[\"a\tb\"]",
        b"[\"unterminated]",
        b"[\"\xff\"]",
        "[\"é ü 漢字 😀\"]".as_bytes(),
        b"[{}]",
        b"[{ }]",
        b"[{\"a\":1,}]",
        b"[{\"a\" 1}]",
        b"[{1:2}]",
        b"[{\"a\":[1,{\"b\":[[],{}]}],\"c\":{\"d\":null}}]",
        b"[{\"a\":[1,2,]}]",
        b"[{\"a\":{\"b\":1,}}]",
        b"[{\"a\":1}] x",
        b"[{\"a\":1}] \n",
        b"[{\"a\":1}",
        b"{\"a\":1}",
        b"",
        b"   ",
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        b"[1 2]",
        b"[{\"a\":1} {\"b\":2}]",
        b"[\"a\" , \"b\" ]",
        b"[{\"\\ud800\":1}]",
        b"[\"\\ud800\"]",
        b"[{\"a\":1,\"a\":2}]",
        b"[{\"k\\u0041\":1}]",
    ];
    for body in cases {
        assert_eq!(
            ours(body),
            serde_view(body),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn deep_nesting_is_iterative() {
    let depth = 100_000;
    let body = format!("[{}{}]", "[".repeat(depth), "]".repeat(depth));
    let (_, scan) = scan_blob(body.as_bytes()).unwrap();
    assert_eq!(scan.elements.len(), 1);
}

#[test]
fn indexes_top_level_members() {
    let body = br#"[ {"Id" : "a", "N":[1,{"x":"}"}], "S":"q\"uote", "E":{} } , 42, {"d":1,"d":2}, {"k\u0041":1}]"#;
    let (text, scan) = scan_blob(body).unwrap();
    let els = &scan.elements;
    assert_eq!(els.len(), 4);
    let rec = &text[els[0].start..els[0].end];
    let m = scan.members(&els[0]).unwrap();
    let pairs: Vec<(&str, &str)> = m.iter().map(|m| (m.key(rec), m.value(rec))).collect();
    assert_eq!(
        pairs,
        [
            ("Id", "\"a\""),
            ("N", r#"[1,{"x":"}"}]"#),
            ("S", r#""q\"uote""#),
            ("E", "{}")
        ]
    );
    let index = els[0].index.unwrap();
    for (k, _) in &pairs {
        assert!(index.may_hold(k), "{k} is in the signature");
    }
    let absent = ["Ix", "Id2", "S ", "Operation", "CreationTime", "e"];
    assert!(
        absent.iter().any(|k| !index.may_hold(k)),
        "the signature rules keys out"
    );
    assert!(els[1].index.is_none(), "not an object");
    assert!(
        els[2].index.is_none(),
        "a repeated key is left to the full parser"
    );
    assert!(
        els[3].index.is_none(),
        "an escaped key is left to the full parser"
    );
}

#[test]
fn errors_say_where() {
    let e = scan_blob(b"[{\"a\":1},\n {\"b\": tru}]").unwrap_err();
    assert_eq!(e.what, "invalid literal");
    assert_eq!(e.at, 17);
    assert_eq!(
        scan_blob(b"{}").unwrap_err().to_string(),
        "expected `[` (a blob is a JSON array) at byte 0"
    );
}

#[test]
fn random_mutations_agree_with_serde_json() {
    // A deterministic mutation fuzz over a realistic record; the cargo-fuzz target does the
    // same at length.
    let base = br#"[{"CreationTime":"2026-01-01T00:00:00","Id":"6f1c","N":-12.5e3,"A":[true,false,null,{"x":"\u00e9\n"}],"O":{}},7]"#;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"[]{}\",:\\/0123456789-+.eEtrufalsn \t\nu";
    for _ in 0..20_000 {
        let mut b = base.to_vec();
        for _ in 0..(next() % 3 + 1) {
            let pos = (next() as usize) % b.len();
            match next() % 3 {
                0 => b[pos] = alphabet[(next() as usize) % alphabet.len()],
                1 => {
                    b.remove(pos);
                }
                _ => b.insert(pos, alphabet[(next() as usize) % alphabet.len()]),
            }
        }
        assert_eq!(ours(&b), serde_view(&b), "{}", String::from_utf8_lossy(&b));
    }
}
