use super::*;

#[test]
fn base64_variants() {
    assert_eq!(base64_decode("aWQ6c2VjcmV0").unwrap(), b"id:secret");
    assert_eq!(base64_decode("Pz8-Pw").unwrap(), b"??>?");
    assert_eq!(base64_decode("Pz8+Pw==").unwrap(), b"??>?");
    assert!(base64_decode("a*b").is_none());
    assert_eq!(
        parse_basic("Basic aWQ6c2VjcmV0"),
        Some(("id".into(), "secret".into()))
    );
    assert_eq!(parse_basic("Bearer x"), None);
}
