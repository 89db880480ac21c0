use super::*;

#[test]
fn identifiers() {
    assert!(is_identifier("contoso-eu_2"));
    assert!(!is_identifier(""));
    assert!(!is_identifier("con toso"));
    assert!(!is_identifier("contoso.eu"));
}

#[test]
fn suggestions() {
    let known = ["poll_interval", "overlap", "state_dir"];
    assert_eq!(closest("poll_intervall", &known), Some("poll_interval"));
    assert_eq!(closest("statedir", &known), Some("state_dir"));
    assert_eq!(closest("colour", &known), None);
}
