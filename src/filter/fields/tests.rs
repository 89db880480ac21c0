use super::*;

#[test]
fn reads_top_level_fields_borrowed() {
    let raw = r#" { "Id":"x", "Nested":{"UserType":1,"a":[{"UserId":"no"},"}]\"{"]},"UserType" : 4,
            "UserId":"svc@contoso.com","Fields":[[1],[{"b":null}]],"EntityName":"account","Message":"WhoAmI","Z":true}"#;
    let mut e = Extra::new(raw);
    let s = |t: Option<Text<'_>>| t.map(Text::to_owned_string);
    // Asked in an order unlike the text's: each is still found, in one pass.
    assert_eq!(s(e.message()).as_deref(), Some("WhoAmI"));
    assert_eq!(e.user_type(), Some(4));
    assert_eq!(e.user_id().map(|t| t.escaped), Some(false));
    assert_eq!(s(e.user_id()).as_deref(), Some("svc@contoso.com"));
    assert_eq!(s(e.entity_name()).as_deref(), Some("account"));
    // Stops as soon as it has what was asked.
    let mut early = Extra::new(r#"{"UserType":2,"Rest":[1,2,3]}"#);
    assert_eq!(early.user_type(), Some(2));
    assert_eq!(early.pos, Some(14), "just after the comma");
}

#[test]
fn tolerates_every_shape() {
    let ut = |raw: &str| Extra::new(raw).user_type();
    assert_eq!(ut(r#"{"UserType":"System"}"#), Some(4));
    assert_eq!(ut(r#"{"UserType":"7"}"#), Some(7));
    assert_eq!(ut(r#"{"UserType":null}"#), None);
    assert_eq!(ut(r#"{"UserType":2.5}"#), None);
    assert_eq!(
        ut(r#"{"UserType":1,"UserType":2}"#),
        Some(1),
        "the first counts"
    );
    let user = |raw: &str| Extra::new(raw).user_id().map(Text::to_owned_string);
    assert_eq!(
        user(r#"{"UserId":"a\u0040b\"c"}"#).as_deref(),
        Some("a@b\"c")
    );
    assert_eq!(
        user(r#"{"UserId":"NT AUTHORITY\\SYSTEM \/ \t\u00e9\ud83d\ude00"}"#).as_deref(),
        Some("NT AUTHORITY\\SYSTEM / \té😀")
    );
    // Too long for the stack buffer: still right (through the heap).
    let long = format!(r#"{{"UserId":"{}\\x"}}"#, "a".repeat(600));
    assert_eq!(user(&long), Some(format!("{}\\x", "a".repeat(600))));
    assert_eq!(user(r#"{"UserId":5}"#), None);
    assert_eq!(
        Extra::new(r#"{"EntityName":"Zürich"}"#)
            .entity_name()
            .map(Text::to_owned_string)
            .as_deref(),
        Some("Zürich")
    );
    for odd in [
        "42",
        "[]",
        "{}",
        "",
        "{",
        r#"{"UserId""#,
        r#"{"a":[1,2"#,
        r#"{"a":"\"#,
    ] {
        let mut e = Extra::new(odd);
        assert!(e.user_id().is_none() && e.user_type().is_none(), "{odd}");
    }
    // Fields before a broken tail are still read.
    assert_eq!(ut(r#"{"UserType":3,"x":"#), Some(3));
}

#[test]
fn names_and_numbers() {
    assert_eq!(user_type("system"), Some(4));
    assert_eq!(user_type("ServicePrincipal"), Some(6));
    assert_eq!(user_type("8"), Some(8));
    assert_eq!(user_type("Robot"), None);
    assert_eq!(record_type("CRM"), Some(21));
    assert_eq!(record_type("azureactivedirectorystslogon"), Some(15));
    assert_eq!(record_type("21"), Some(21));
    assert_eq!(record_type("NoSuchType"), None);
}

#[test]
fn the_index_and_the_scan_read_the_same_values() {
    for raw in [
        r#"{"UserType":2,"UserId":"NT AUTHORITY\\SYSTEM (w3wp)","EntityName":"account","Message":"Retrieve"}"#,
        r#"{"UserType":"Admin","UserId":42,"Rest":{"UserId":"nested"}}"#,
        r#"{"UserType":" 5 ","EntityName":"","Message":null}"#,
        r#"{"X":[1,{"Message":"no"}]}"#,
    ] {
        let rec = Record::from_json(raw, "t").unwrap();
        assert!(rec.members().is_some(), "{raw}");
        let (mut a, mut b) = (Extra::of(&rec), Extra::new(raw));
        assert_eq!(a.user_type(), b.user_type(), "{raw}");
        assert_eq!(a.user_id(), b.user_id(), "{raw}");
        assert_eq!(a.entity_name(), b.entity_name(), "{raw}");
        assert_eq!(a.message(), b.message(), "{raw}");
    }
}
