use super::*;

#[test]
fn pads_the_day_with_a_space_and_cleans_the_tag() {
    let rec = crate::sink::syslog::test_record(
        r#"{"Id":"a","CreationTime":"2024-06-05T06:13:20","Operation":"X"}"#,
    );
    let mut out = Vec::new();
    header(&mut out, 134, &rec, "fwd01", "o365 fwd[x]:", "42");
    assert_eq!(out, b"<134>Jun  5 06:13:20 fwd01 o365fwdx[42]:");
    let long = "a".repeat(40);
    assert_eq!(tag(&long).len(), 32);
    assert_eq!(tag("::"), "o365fwd");
}
