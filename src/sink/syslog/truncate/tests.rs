use super::*;

const DOC: &str =
    r#"{"Id":"a\"]\\","N":[1,2,{"x":"é\n"}],"O":{"p":{"q":[]},"r":"sss"},"Z":"zzzzzzzzzz"}"#;

#[test]
fn json_stays_one_valid_object_at_every_budget() {
    let mut cut_some = 0;
    for budget in 0..DOC.len() {
        let mut out = Vec::new();
        truncate(DOC.as_bytes(), budget, Kind::Json, &mut out);
        assert!(out.len() <= budget, "budget {budget}: {}", out.len());
        if budget >= 30 {
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
                panic!("budget {budget}: {e}: {}", String::from_utf8_lossy(&out))
            });
            assert_eq!(v["o365fwd_truncated"], DOC.len(), "budget {budget}");
            cut_some += 1;
        }
    }
    assert!(cut_some > 40);
    // Room for everything but the last member and the marker: only that member goes.
    let marker = format!(",\"o365fwd_truncated\":{}}}", DOC.len());
    let budget = DOC.find(r#","Z""#).unwrap() + marker.len();
    let mut out = Vec::new();
    truncate(DOC.as_bytes(), budget, Kind::Json, &mut out);
    assert_eq!(out.len(), budget);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["O"]["r"], "sss");
    assert_eq!(v["Id"], "a\"]\\");
}

#[test]
fn json_long_string_values_are_cut_inside_never_in_an_escape() {
    let doc = r#"{"Id":"a","Blob":"\u00e9\u00e9\\\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","k":1}"#;
    let mut seen_cut_value = false;
    for budget in 40..doc.len() {
        let mut out = Vec::new();
        truncate(doc.as_bytes(), budget, Kind::Json, &mut out);
        assert!(out.len() <= budget);
        let v: serde_json::Value = serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("budget {budget}: {e}: {}", String::from_utf8_lossy(&out)));
        assert_eq!(v["Id"], "a");
        if let Some(b) = v["Blob"].as_str() {
            assert!(
                "éé\\\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".starts_with(b),
                "{b}"
            );
            seen_cut_value |= b.len() > 3;
        }
    }
    assert!(seen_cut_value);
    // Keys are never cut: a budget that ends inside a key closes before it.
    let mut out = Vec::new();
    truncate(br#"{"a":1,"verylongkeyname":2}"#, 33, Kind::Json, &mut out);
    assert_eq!(out, br#"{"a":1,"o365fwd_truncated":27}"#);
}

#[test]
fn json_that_is_not_an_object_falls_back_to_text() {
    let mut out = Vec::new();
    let p: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    let p = format!("[{}]", p.join(","));
    truncate(p.as_bytes(), 60, Kind::Json, &mut out);
    let s = String::from_utf8(out).unwrap();
    let marker = format!(" [o365fwd: truncated from {} bytes]", p.len());
    assert!(s.starts_with("[0,1,2") && s.ends_with(&marker), "{s}");
    assert!(s.len() <= 60);
}

#[test]
fn cef_keeps_header_and_escapes_and_ends_with_the_marker() {
    let cef = r"CEF:0|Microsoft|Office 365|1.0|Op\|x|Name|5|rt=1 msg=a\\b\=c\nd suser=alice@x cs1Label=Long cs1=ééééé end";
    let ext = cef_ext_start(cef.as_bytes()).unwrap();
    for budget in ext + 30..cef.len() {
        let mut out = Vec::new();
        truncate(cef.as_bytes(), budget, Kind::Cef, &mut out);
        let s = String::from_utf8(out).expect("cut on a character boundary");
        assert!(s.len() <= budget);
        assert!(
            s.starts_with(r"CEF:0|Microsoft|Office 365|1.0|Op\|x|Name|5|"),
            "{s}"
        );
        let marker = format!("o365fwdTruncated={}", cef.len());
        let body = s.strip_suffix(&marker).unwrap_or_else(|| panic!("{s}"));
        // No dangling escape before the marker.
        let bs = body
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| *c == '\\')
            .count();
        assert_eq!(bs % 2, 0, "{s}");
        // Every extension token before the marker is a whole `key=` pair start.
        assert!(!body.trim_end().ends_with("cs1La"), "{s}");
    }
}

#[test]
fn cef_cut_inside_a_key_drops_the_half_key() {
    let cef = "CEF:0|M|O|1|S|N|3|suser=alice cs1Label=Long";
    let mut out = Vec::new();
    // Room for "...suser=alice cs1La" + " " + marker.
    let budget = cef.find("bel").unwrap() + 1 + "o365fwdTruncated=43".len();
    truncate(cef.as_bytes(), budget, Kind::Cef, &mut out);
    assert_eq!(cef.len(), 43);
    assert_eq!(out, b"CEF:0|M|O|1|S|N|3|suser=alice o365fwdTruncated=43");
}

#[test]
fn text_cut_respects_utf8_and_tiny_budgets() {
    let p = "ééééééééééééééééééééééééééééééééééééééééééééé".as_bytes();
    let mut out = Vec::new();
    truncate(p, 45, Kind::Text, &mut out);
    let s = String::from_utf8(out).unwrap();
    assert!(
        s.ends_with("truncated from 90 bytes]") && s.len() <= 45,
        "{s}"
    );
    let mut out = Vec::new();
    truncate(p, 5, Kind::Text, &mut out);
    assert_eq!(out, "éé".as_bytes());
}
