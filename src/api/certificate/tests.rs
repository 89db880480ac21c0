use super::*;

const KEY: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cert/test-only-key.pem"
));
const KEY1: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cert/test-only-key-pkcs1.pem"
));
const CERT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cert/test-only-cert.pem"
));
const OTHER_CERT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cert/test-only-other-cert.pem"
));
/// `openssl x509 -in test-only-cert.pem -noout -fingerprint -sha1`
const SHA1: &str = "CB:2C:09:CE:47:DF:F5:0B:F7:6C:F3:8B:22:BD:2E:1D:EC:CD:2C:DE";

fn part(jwt: &str, i: usize) -> serde_json::Value {
    let p = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

#[test]
fn assertion_header_claims_and_signature() {
    let k = CertificateKey::load(KEY, CertRef::Pem(CERT)).unwrap();
    let by_thumb = CertificateKey::load(KEY1, CertRef::Thumbprint(SHA1)).unwrap();
    assert_eq!(k.x5t(), by_thumb.x5t(), "x5t = base64url(SHA-1(cert DER))");
    let aud = "https://login.microsoftonline.com/t/oauth2/v2.0/token";
    let jwt = k.assertion("cid", aud, 1_700_000_000).unwrap();
    let jwt = jwt.expose();
    let h = part(jwt, 0);
    assert_eq!(
        (h["alg"].as_str(), h["typ"].as_str()),
        (Some("RS256"), Some("JWT"))
    );
    assert_eq!(h["x5t"], k.x5t());
    assert!(h["x5t#S256"].is_string());
    let c = part(jwt, 1);
    assert_eq!(
        (c["aud"].as_str(), c["iss"].as_str(), c["sub"].as_str()),
        (Some(aud), Some("cid"), Some("cid"))
    );
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["nbf"].as_i64().unwrap(),
        ASSERTION_LIFETIME_S
    );
    assert_eq!(c["jti"].as_str().unwrap().len(), 36);
    assert_ne!(
        part(k.assertion("cid", aud, 1).unwrap().expose(), 1)["jti"],
        c["jti"]
    );
    let (signed, sig) = jwt.rsplit_once('.').unwrap();
    let der = CertificateDer::from_pem_slice(CERT).unwrap();
    let cert = webpki::EndEntityCert::try_from(&der).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    assert!(
        cert.verify_signature(
            webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &sig
        )
        .is_ok()
    );
    assert!(!format!("{k:?}").contains("BEGIN"), "Debug hides the key");
}

#[test]
fn load_errors() {
    assert_eq!(
        CertificateKey::load(KEY, CertRef::Pem(OTHER_CERT)).unwrap_err(),
        CertError::Mismatch
    );
    assert_eq!(
        CertificateKey::load(CERT, CertRef::Pem(CERT)).unwrap_err(),
        CertError::KeyNotPem
    );
    assert_eq!(
        CertificateKey::load(KEY, CertRef::Pem(KEY)).unwrap_err(),
        CertError::CertNotPem
    );
    assert_eq!(
        CertificateKey::load(KEY, CertRef::Thumbprint("abc")).unwrap_err(),
        CertError::Thumbprint
    );
}
