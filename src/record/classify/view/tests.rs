use super::*;

#[test]
fn keeps_order_types_and_escaped_keys() {
    let raw = r#" {"B":1.50,"A":"x\"y","C\u0041":[1,{"z":null}],"D":null,"B":2} "#;
    let f = Fields::parse(raw).unwrap();
    let keys: Vec<&str> = f.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["B", "A", "CA", "D"]);
    assert_eq!(f.get("B").unwrap().get(), "2");
    assert_eq!(f.str("A").unwrap(), "x\"y");
    assert_eq!(f.get("CA").unwrap().get(), r#"[1,{"z":null}]"#);
    assert!(is_null(f.get("D").unwrap()));
    assert!(f.str("B").is_none());
    assert_eq!(raw_scalar_text(f.get("B").unwrap()).unwrap(), "2");
}

#[test]
fn lookups_through_the_index_agree_with_a_full_parse() {
    let raw = r#"{"Id":"1","Operation":"Op","Workload":"CRM","UserId":"u@x","ClientIP":"1.2.3.4","E":{}}"#;
    let fast = Fields::parse(raw).unwrap();
    assert!(fast.keys_are_plain());
    let slow = Fields::parse_slow(raw).unwrap();
    for key in [
        "Id",
        "Operation",
        "Workload",
        "UserId",
        "ClientIP",
        "E",
        "I",
        "Idx",
        "Op",
        "CRM",
        "",
        "ClientIp",
        "userid",
        "Workloads",
        "Ed",
    ] {
        assert_eq!(fast.get(key), slow.get(key), "{key}");
        assert_eq!(fast.position(key), slow.position(key), "{key}");
    }
}

#[test]
fn rejects_non_objects() {
    for raw in ["42", "[1]", "\"s\"", "null", "{\"a\":1} x", "{\"a\":"] {
        assert!(Fields::parse(raw).is_none(), "{raw}");
    }
}
