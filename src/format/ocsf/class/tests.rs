use super::*;

#[test]
fn email_pattern_matches_ocsf() {
    for ok in ["a@b.c", "a.b+c_d-e@x-y.example.com", "A1@B2.c"] {
        assert!(is_email(ok), "{ok}");
    }
    for bad in [
        "", "a@b", "@b.c", "a@.c", "a@b.", "a b@c.d", "a@b@c.d", "é@b.c", "a@b_c.d",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
    for ok in ["a", "host-1.example.com", "A1"] {
        assert!(is_hostname(ok), "{ok}");
    }
    for bad in ["", "-a", "a-", "a..b", "é", "a_b", "a b"] {
        assert!(!is_hostname(bad), "{bad}");
    }
}
