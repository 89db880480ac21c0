use super::*;

#[test]
fn decodes_percent_escapes() {
    assert_eq!(percent_decode("a%24b"), "a$b");
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("%zz%41"), "%zzA");
}
