use super::*;

#[test]
fn guids() {
    assert!(is_guid("0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b"));
    assert!(is_guid("0B4E5A2C-1F3D-4C5E-9A7B-8C9D0E1F2A3B"));
    assert!(!is_guid("0b4e5a2c1f3d4c5e9a7b8c9d0e1f2a3b"));
    assert!(!is_guid("0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3"));
    assert!(!is_guid("zb4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b"));
    assert!(!is_guid("contoso.onmicrosoft.com"));
}

#[test]
fn urls() {
    assert!(endpoint_url("https://manage.office.com").is_ok());
    assert!(endpoint_url("http://127.0.0.1:8080").is_ok());
    assert!(endpoint_url("http://127.3.4.5").is_ok());
    assert!(endpoint_url("http://localhost:9000/prefix").is_ok());
    assert!(endpoint_url("http://[::1]:9000").is_ok());
    let e = endpoint_url("http://10.0.0.1").unwrap_err();
    assert!(e.contains("in clear"), "{e}");
    assert!(endpoint_url("http://localhost.example.com").is_err());
    assert!(endpoint_url("ftp://manage.office.com").is_err());
    assert!(endpoint_url("https://u:p@manage.office.com").is_err());
    assert!(endpoint_url("https://manage.office.com/?a=1").is_err());
    assert!(endpoint_url("manage.office.com").is_err());
    let kept = endpoint_url("https://proxy.example.com/o365/").unwrap();
    assert_eq!(kept.path(), "/o365/");
}
