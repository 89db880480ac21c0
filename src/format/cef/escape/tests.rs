use super::*;

fn h(s: &str, l: usize) -> String {
    let mut o = Vec::new();
    header(&mut o, s, l);
    String::from_utf8(o).unwrap()
}
fn e(s: &str, l: usize) -> String {
    let mut o = Vec::new();
    ext_value(&mut o, s, l);
    String::from_utf8(o).unwrap()
}

#[test]
fn spec_examples() {
    assert_eq!(h("Mailbox|Export", 99), r"Mailbox\|Export");
    assert_eq!(h(r"C:\temp", 99), r"C:\\temp");
    assert_eq!(h("line1\nline2\r", 99), "line1 line2 ");
    assert_eq!(h("a=b", 99), "a=b");
    assert_eq!(e("a=b", 99), r"a\=b");
    assert_eq!(e(r"C:\x=1", 99), r"C:\\x\=1");
    assert_eq!(e("l1\r\nl2", 99), r"l1\r\nl2");
    assert_eq!(e("https://x/y?a=1|b", 99), r"https://x/y?a\=1|b");
}

#[test]
fn truncation_counts_chars_and_marks() {
    assert_eq!(truncate("abcdef", 6), ("abcdef", false));
    assert_eq!(truncate("abcdefg", 6), ("abcde", true));
    assert_eq!(e("ééééééé", 4), "ééé…");
    // Cut before escaping: an escape is never split and the limit holds unescaped.
    assert_eq!(e("ab=\\cd", 4), "ab\\=…");
    assert_eq!(h("|||||", 3), "\\|\\|…");
    assert_eq!(truncate("abc", 0), ("", true));
}

#[test]
fn keys() {
    assert!(valid_key("cs1Label"));
    assert!(!valid_key("cs 1") && !valid_key("a=b") && !valid_key("") && !valid_key("é"));
    assert_eq!(ext_limit("externalId"), 40);
    assert_eq!(ext_limit("msg"), 1023);
}
