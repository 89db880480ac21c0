use super::*;

#[test]
fn real_browsers_and_office_clients() {
    let p = parser().unwrap();
    let chrome = p.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.130 Safari/537.36");
    assert_eq!(chrome.name, "Chrome");
    assert_eq!(chrome.version.as_deref(), Some("120.0.6099"));
    assert_eq!(chrome.os_name.as_deref(), Some("Windows"));
    assert_eq!(chrome.os_full.as_deref(), Some("Windows 10"));
    let firefox = p.parse(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.14; rv:72.0) Gecko/20100101 Firefox/72.0",
    );
    assert_eq!(firefox.name, "Firefox");
    assert_eq!(firefox.version.as_deref(), Some("72.0"));
    assert_eq!(firefox.os_full.as_deref(), Some("Mac OS X 10.14"));
    assert_eq!(firefox.device, "Mac");
    let edge = p.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0");
    assert_eq!(edge.name, "Edge");
    let iphone = p.parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1");
    assert_eq!(iphone.name, "Mobile Safari");
    assert_eq!(iphone.os_name.as_deref(), Some("iOS"));
    assert_eq!(iphone.device, "iPhone");
    let outlook =
        p.parse("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)");
    assert_eq!(outlook.name, "Outlook");
    assert_eq!(outlook.os_name.as_deref(), Some("Windows"));
    let unknown = p.parse("python-requests/2.31.0");
    assert_eq!(unknown.name, "Python Requests");
    let nothing = p.parse("x");
    assert_eq!(
        (nothing.name.as_str(), nothing.device.as_str()),
        ("Other", "Other")
    );
    assert!(nothing.os_name.is_none());
    // The cache answers the same value.
    assert_eq!(p.parse("x"), nothing);
}
