use super::*;

#[test]
fn escape_scan_matches_bytewise() {
    let mut rng = fastrand::Rng::with_seed(7);
    let alphabet = [
        b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff, b'!', 0x21, 0x5b, 0x5d,
    ];
    for _ in 0..20_000 {
        let v: Vec<u8> = (0..rng.usize(0..24))
            .map(|_| {
                if rng.bool() {
                    b'x'
                } else {
                    alphabet[rng.usize(..alphabet.len())]
                }
            })
            .collect();
        let slow = v.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20);
        assert_eq!(needs_escape(&v), slow, "{v:?}");
    }
}

#[test]
fn writes_nested_valid_json() {
    let mut out = Vec::new();
    let mut o = Obj::new(&mut out);
    write_str(o.dkey("a\"b"), "x\ny");
    o.str("plain", "é\\");
    o.num("n", 3);
    let mut c = o.obj("c");
    c.strs("l", ["p", "q"]);
    c.bool("t", true);
    c.end();
    o.raw("r", "[1,null]");
    o.end();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["a\"b"], "x\ny");
    assert_eq!(v["plain"], "é\\");
    assert_eq!(v["c"]["l"][1], "q");
    assert_eq!(v["r"][1], serde_json::Value::Null);
}
