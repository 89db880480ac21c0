use super::*;

#[test]
fn base_urls_get_a_version_unless_they_name_one() {
    let b = |s: &str| base_url(&Url::parse(s).unwrap()).to_string();
    assert_eq!(
        b("https://graph.microsoft.com"),
        "https://graph.microsoft.com/v1.0/"
    );
    assert_eq!(
        b("https://graph.microsoft.us/"),
        "https://graph.microsoft.us/v1.0/"
    );
    assert_eq!(
        b("https://graph.microsoft.com/beta"),
        "https://graph.microsoft.com/beta/"
    );
    assert_eq!(
        b("http://127.0.0.1:9/x/v1.0/"),
        "http://127.0.0.1:9/x/v1.0/"
    );
}
