//! Certificate credentials, the tenant proxy and the four clouds.

use super::super::tests::{GUID_A, GUID_B, SECRET, ok, one, private_copy, problems};
use crate::api::Cloud;

/// A file of the test certificate set; keys as private copies (secret files others can
/// read are refused, and the repository checks them out readable by all).
fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/cert/{name}", env!("CARGO_MANIFEST_DIR"));
    if name.contains("key") {
        private_copy(&path)
    } else {
        path
    }
}

/// Tenant table on line 1, credential lines from line 4; sink after.
fn tenant_with(lines: &str) -> String {
    format!(
        "[tenants.contoso]\ntenant_id = \"{GUID_A}\"\nclient_id = \"{GUID_B}\"\n{lines}\n\n[sinks.out]\ntype = \"stdout\"\n"
    )
}

#[test]
fn certificate_by_file_or_thumbprint() {
    let c = ok(&tenant_with(&format!(
        "certificate_key_file = \"{}\"\ncertificate_file = \"{}\"",
        fixture("test-only-key.pem"),
        fixture("test-only-cert.pem")
    )));
    let t = &c.tenants["contoso"];
    let cert = t.certificate.as_ref().expect("certificate credential");
    assert_eq!(cert.x5t(), "yywJzkff9Qv3bPOLIr0uHezNLN4");
    assert!(t.client_secret.expose().is_empty());
    let summary = c.summary();
    assert!(
        summary.contains("certificate    x5t yywJzkff9Qv3bPOLIr0uHezNLN4, key from file"),
        "{summary}"
    );
    assert!(!summary.contains("BEGIN"));

    let c = ok(&tenant_with(&format!(
        "certificate_key_file = \"{}\"\ncertificate_thumbprint = \"cb:2c:09:ce:47:df:f5:0b:f7:6c:f3:8b:22:bd:2e:1d:ec:cd:2c:de\"",
        fixture("test-only-key-pkcs1.pem")
    )));
    assert_eq!(
        c.tenants["contoso"].certificate.as_ref().unwrap().x5t(),
        "yywJzkff9Qv3bPOLIr0uHezNLN4"
    );
}

#[test]
fn certificate_problems_point_at_the_key() {
    let key = fixture("test-only-key.pem");
    one(
        &tenant_with(&format!(
            "certificate_key_file = \"{key}\"\ncertificate_file = \"{}\"",
            fixture("test-only-other-cert.pem")
        )),
        "tenants.contoso.certificate_file",
        5,
        20,
        "does not belong to the private key",
    );
    one(
        &tenant_with(&format!("certificate_key_file = \"{key}\"")),
        "tenants.contoso.certificate_file",
        1,
        1,
        "missing required key",
    );
    one(
        &tenant_with(&format!(
            "client_secret = \"{SECRET}\"\ncertificate_key_file = \"{key}\"\ncertificate_thumbprint = \"00\""
        )),
        "tenants.contoso.client_secret",
        4,
        17,
        "not both",
    );
    one(
        &tenant_with(&format!(
            "certificate_key_file = \"{key}\"\ncertificate_thumbprint = \"xyz\""
        )),
        "tenants.contoso.certificate_thumbprint",
        5,
        26,
        "SHA-1 thumbprint",
    );
    one(
        &tenant_with(&format!(
            "certificate_key_file = \"{}\"\ncertificate_thumbprint = \"cb2c09ce47dff50bf76cf38b22bd2e1deccd2cde\"",
            private_copy(&fixture("test-only-cert.pem"))
        )),
        "tenants.contoso.certificate_key_file",
        4,
        24,
        "not PEM",
    );
    let ps = problems(&tenant_with(
        "certificate_key_env = \"NOPE\"\ncertificate_thumbprint = \"cb2c09ce47dff50bf76cf38b22bd2e1deccd2cde\"",
    ));
    assert!(
        ps.iter().any(|p| p.message.contains("NOPE is not set")),
        "{ps:?}"
    );
}

#[test]
fn proxy_setting() {
    let c = ok(&tenant_with(&format!(
        "client_secret = \"{SECRET}\"\nproxy = \"http://proxy.corp:3128\""
    )));
    assert_eq!(
        c.tenants["contoso"].proxy.as_ref().map(|u| u.as_str()),
        Some("http://proxy.corp:3128/")
    );
    assert!(
        c.summary()
            .contains("proxy          http://proxy.corp:3128/")
    );
    for (bad, needle) in [
        ("socks5://p:1080", "unsupported proxy scheme"),
        ("http://u:pw@p:3128", "not supported"),
        ("http://p:3128/path", "no path"),
        ("not a url", "not a valid URL"),
    ] {
        one(
            &tenant_with(&format!("client_secret = \"{SECRET}\"\nproxy = \"{bad}\"")),
            "tenants.contoso.proxy",
            5,
            9,
            needle,
        );
    }
}

#[test]
fn four_clouds_have_their_hosts_authority_and_scope() {
    let cases = [
        (
            "commercial",
            Cloud::Commercial,
            "https://manage.office.com/",
            "https://login.microsoftonline.com/",
        ),
        (
            "gcc",
            Cloud::Gcc,
            "https://manage-gcc.office.com/",
            "https://login.microsoftonline.com/",
        ),
        (
            "gcc_high",
            Cloud::GccHigh,
            "https://manage.office365.us/",
            "https://login.microsoftonline.us/",
        ),
        (
            "dod",
            Cloud::Dod,
            "https://manage.protection.apps.mil/",
            "https://login.microsoftonline.us/",
        ),
    ];
    for (name, cloud, api, login) in cases {
        let c = ok(&tenant_with(&format!(
            "client_secret = \"{SECRET}\"\ncloud = \"{name}\""
        )));
        let t = &c.tenants["contoso"];
        assert_eq!(t.cloud, cloud);
        assert_eq!(t.api_url.as_str(), api, "{name}");
        assert_eq!(t.login_url.as_str(), login, "{name}");
        assert_eq!(
            format!("{}/", t.resource),
            api,
            "{name}: token resource = API host"
        );
    }
}

#[test]
fn graph_host_per_cloud_and_its_override() {
    let cases = [
        ("commercial", "https://graph.microsoft.com/"),
        ("gcc", "https://graph.microsoft.com/"),
        ("gcc_high", "https://graph.microsoft.us/"),
        ("dod", "https://dod-graph.microsoft.us/"),
    ];
    for (name, graph) in cases {
        let c = ok(&tenant_with(&format!(
            "client_secret = \"{SECRET}\"\ncloud = \"{name}\""
        )));
        let t = &c.tenants["contoso"];
        assert_eq!(t.graph_url.as_str(), graph, "{name}");
        assert_eq!(
            format!("{}/", t.cloud.graph_url()),
            graph,
            "{name}: token scope host"
        );
    }
    let c = ok(&tenant_with(&format!(
        "client_secret = \"{SECRET}\"\ngraph_url = \"http://127.0.0.1:9000\""
    )));
    assert_eq!(
        c.tenants["contoso"].graph_url.as_str(),
        "http://127.0.0.1:9000/"
    );
    assert_eq!(
        c.tenants["contoso"].cloud.graph_url(),
        "https://graph.microsoft.com",
        "the token is still asked for the cloud's Graph"
    );
}
