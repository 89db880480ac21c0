use super::*;

fn m(p: &str, s: &str) -> bool {
    Pattern::new(p).unwrap().matches(s)
}

#[test]
fn shapes_and_case() {
    assert!(m("WhoAmI", "whoami"));
    assert!(!m("WhoAmI", "WhoAmI2"));
    assert!(m("Retrieve*", "RetrieveMultiple"));
    assert!(m("Retrieve*", "retrieve"));
    assert!(!m("Retrieve*", "Retriev"));
    assert!(m("*", ""));
    assert!(m("*", "anything"));
    assert_eq!(Pattern::new("Retrieve*").unwrap().kind, Kind::Prefix);
    assert_eq!(Pattern::new("a*b").unwrap().kind, Kind::Glob);
}

#[test]
fn globs() {
    assert!(m("Retrieve*Metadata*", "RetrieveEntityMetadataChanges"));
    assert!(m("Retrieve*Metadata*", "RetrieveMetadata"));
    assert!(!m("Retrieve*Metadata*", "RetrieveMultiple"));
    assert!(m("*@contoso.com", "Svc-Sync@CONTOSO.com"));
    assert!(!m("*@contoso.com", "a@contoso.com.evil"));
    assert!(m("svc-????@*", "svc-sync@x"));
    assert!(!m("svc-????@*", "svc-syn@x"));
    assert!(m("a?c", "aéc"), "? is one character, not one byte");
    assert!(!m("a?c", "aéxc"));
    assert!(m("*a*a*a*b", "aaaaaaaaaaaaaaaaab"));
    assert!(!m("*a*a*a*b", "aaaaaaaaaaaaaaaaaa"));
    assert!(m("**x", "yyx"));
    assert!(!m("x?", "x"));
}

#[test]
fn invalid_patterns() {
    assert!(Pattern::new("").is_err());
    assert!(Pattern::new("  ").is_err());
    let e = Pattern::new("Retrieve[AB]").unwrap_err();
    assert!(e.contains("only `*`"), "{e}");
    assert!(Pattern::new("{a,b}").is_err());
}
