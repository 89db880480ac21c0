use super::*;

#[test]
fn host_of_strips_port_and_brackets() {
    assert_eq!(host_of("127.0.0.1:6514"), "127.0.0.1");
    assert_eq!(host_of("[::1]:6514"), "::1");
    assert_eq!(host_of("siem.example.com:514"), "siem.example.com");
}
