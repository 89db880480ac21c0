#[test]
fn skip_tokens_are_bound_to_their_query() {
    let t = super::token("q1", 300);
    assert_eq!(super::parse_token("q1", &t), Some(300));
    assert_eq!(super::parse_token("q2", &t), None);
    assert_eq!(super::parse_token("q1", "12x34"), None);
}
