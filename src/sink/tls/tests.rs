use super::*;

#[test]
fn refused_certificates_are_explained_through_io_and_source_chains() {
    let ca = rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
        Arc::new(webpki::Error::CaUsedAsEndEntity),
    )));
    let io = std::io::Error::new(std::io::ErrorKind::InvalidData, ca);
    let text = describe(&io);
    assert!(text.contains("self-signed"), "{text}");
    assert!(text.contains("tls_pinned_cert_file"), "{text}");
    let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
    assert!(describe(&unknown).contains("set tls_ca_file"));
    let other = std::io::Error::other("connection refused");
    assert_eq!(describe(&other), "connection refused");
}

#[test]
fn a_pin_file_holds_exactly_one_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    assert!(
        pinned_cert(&empty)
            .unwrap_err()
            .contains("no PEM certificate")
    );
    assert!(
        pinned_cert(&dir.path().join("nope"))
            .unwrap_err()
            .contains("cannot read")
    );
}
