//! Token endpoints, API authorization and subscriptions.

use std::time::Duration;

use serde_json::Value;

use super::{Client, PUBLISHER, start};
use crate::record::ContentType;
use crate::sim::{SimConfig, SimTenant};

fn two_tenants() -> SimConfig {
    let mut cfg = SimConfig::default();
    cfg.tenants.push(SimTenant {
        tenant_id: "f28ab78a-d401-4060-8012-736e373933eb".into(),
        client_id: "b6099727-6b7b-482c-b509-1df309acc563".into(),
        client_secret: "other-secret".into(),
    });
    cfg
}

#[tokio::test]
async fn token_flows_v1_v2_basic_and_errors() {
    let h = start(SimConfig::default()).await;
    let t = h.config().tenants[0].clone();
    let http = reqwest::Client::new();
    let v1 = format!("{}/{}/oauth2/token", h.base_url(), t.tenant_id);
    let v2 = format!("{}/{}/oauth2/v2.0/token", h.base_url(), t.tenant_id);
    let post = |url: &str, form: Vec<(&str, &str)>| http.post(url).form(&form).send();
    let json = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap(),
        )
    };
    let base = |extra: (&'static str, &'static str)| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "a6099727-6b7b-482c-b509-1df309acc563"),
            extra,
        ]
    };

    let mut f = base(("resource", "https://manage.office.com"));
    f.push(("client_secret", &t.client_secret));
    let (s, v) = json(post(&v1, f).await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(v["expires_in"], "3599", "v1 sends numbers as strings");
    assert!(v["expires_on"].is_string() && v["not_before"].is_string());
    assert_eq!(v["resource"], "https://manage.office.com");

    let mut f = base(("scope", "https://manage.office.com/.default"));
    f.push(("client_secret", &t.client_secret));
    let (s, v) = json(post(&v2, f).await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(v["expires_in"], 3599, "v2 sends JSON numbers");
    assert!(v["access_token"].as_str().unwrap().len() > 40);

    let basic = http
        .post(&v2)
        .basic_auth(&t.client_id, Some(&t.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://manage.office.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200, "secret via HTTP Basic");

    let mut f = base(("scope", "https://manage.office.com/.default"));
    f.push(("client_secret", "wrong"));
    let (s, v) = json(post(&v2, f).await.unwrap()).await;
    assert_eq!(s, 401);
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"][0], 7000215);
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:")
    );
    assert!(
        !v.to_string().contains(&t.client_secret),
        "never echo the secret"
    );

    let f = vec![
        ("grant_type", "client_credentials"),
        ("client_id", "00000000-1111-2222-3333-444444444444"),
        ("client_secret", t.client_secret.as_str()),
        ("scope", "https://manage.office.com/.default"),
    ];
    let (s, v) = json(post(&v2, f.clone()).await.unwrap()).await;
    assert_eq!(
        (s, v["error_codes"][0].as_u64()),
        (400, Some(700016)),
        "unknown client"
    );
    let other = format!(
        "{}/99999999-1111-2222-3333-444444444444/oauth2/v2.0/token",
        h.base_url()
    );
    let (s, v) = json(post(&other, f).await.unwrap()).await;
    assert_eq!(
        (s, v["error_codes"][0].as_u64()),
        (400, Some(700016)),
        "unknown tenant"
    );

    let mut f = base(("scope", "https://outlook.office.com/.default"));
    f.push(("client_secret", &t.client_secret));
    let (s, v) = json(post(&v2, f).await.unwrap()).await;
    assert_eq!(
        (s, v["error_codes"][0].as_u64()),
        (400, Some(70011)),
        "wrong scope"
    );

    let mut f = base(("resource", "https://outlook.office.com"));
    f.push(("client_secret", &t.client_secret));
    let (s, v) = json(post(&v1, f).await.unwrap()).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_resource")));

    let log = h.requests();
    assert_eq!(log.len(), 8);
    assert_eq!(log[3].error_code.as_deref(), Some("AADSTS7000215"));
    assert!(log[2].had_authorization && !log[0].had_authorization);
}

#[tokio::test]
async fn api_authorization_errors_and_token_expiry() {
    let cfg = SimConfig {
        token_lifetime: Duration::from_secs(120),
        ..two_tenants()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let list = format!("{}/subscriptions/list", c.root());
    assert_eq!(c.get(&list).await.status, 200);

    let anon = c.http.get(&list).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    assert_eq!(anon.headers()["www-authenticate"], "Bearer");
    let body: Value = serde_json::from_str(&anon.text().await.unwrap()).unwrap();
    assert_eq!(
        body["Message"],
        "Authorization has been denied for this request."
    );

    let other = &h.config().tenants[1].tenant_id;
    let r = c
        .get(&format!(
            "{}/api/v1.0/{other}/activity/feed/subscriptions/list",
            c.base
        ))
        .await;
    assert_eq!(
        r.code().as_deref(),
        Some("AF20010"),
        "token of another tenant"
    );
    let r = c
        .get(&format!(
            "{}/api/v1.0/contoso.com/activity/feed/subscriptions/list",
            c.base
        ))
        .await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("AF20013")));
    let r = c
        .get(&format!(
            "{}/subscriptions/content?contentType=Audit.Foo",
            c.root()
        ))
        .await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("AF20020")));
    let r = c.get(&format!("{}/subscriptions/bogus", c.root())).await;
    assert_eq!(r.status, 404);

    h.advance(Duration::from_secs(121));
    let r = c.get(&list).await;
    assert_eq!(r.status, 401, "expired token");
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
}

#[tokio::test]
async fn subscription_lifecycle_and_start_rule() {
    let cfg = SimConfig {
        subscriptions_enabled: false,
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let c = Client::new(&h, 0).await;
    let (s, e) = super::whole_window(&h);
    let listing = c.content_url(ContentType::General, &s, &e);
    let r = c.get(&listing).await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("AF20022")));
    let r = c.get(&format!("{}/subscriptions/list", c.root())).await;
    assert_eq!(r.json(), serde_json::json!([]));

    let start_url = format!(
        "{}/subscriptions/start?contentType=Audit.General&PublisherIdentifier={PUBLISHER}",
        c.root()
    );
    let r = c.post(&start_url).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        serde_json::json!({"contentType":"Audit.General","status":"enabled","webhook":null})
    );
    let r = c.get(&listing).await;
    assert_eq!(r.status, 200);
    assert!(
        !r.json().as_array().unwrap().is_empty(),
        "backlog is listed once started"
    );

    let r = c.post(&start_url).await;
    assert_eq!(r.status, 429, "second start within 15 minutes");
    // The two starts may fall within the same millisecond of the simulated clock.
    let msg = "Too many frequent subscription start requests. Please retry again after";
    assert!(
        r.body.contains(&format!("{msg} 14m 5")) || r.body.contains(&format!("{msg} 15m 0s")),
        "{}",
        r.body
    );

    h.advance(Duration::from_secs(15 * 60));
    let r = c.post(&start_url).await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("AF20024")));

    let hook = c
        .send(
            c.http
                .post(format!(
                    "{}/subscriptions/start?contentType=Audit.Exchange",
                    c.root()
                ))
                .body(r#"{"webhook":{"address":"http://insecure.example/hook"}}"#),
        )
        .await;
    assert_eq!(hook.code().as_deref(), Some("AF20021"));

    let r = c
        .post(&format!(
            "{}/subscriptions/stop?contentType=Audit.General",
            c.root()
        ))
        .await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    let r = c.get(&listing).await;
    assert_eq!((r.status, r.code().as_deref()), (400, Some("AF20023")));
    let r = c.get(&format!("{}/subscriptions/list", c.root())).await;
    assert_eq!(r.json()[0]["status"], "disabled");

    let log = h.requests();
    let started: Vec<_> = log.iter().filter(|l| l.path.ends_with("/start")).collect();
    assert_eq!(started[0].publisher_identifier.as_deref(), Some(PUBLISHER));
    assert_eq!(started.last().unwrap().publisher_identifier, None);
}

/// Client assertions are verified like Entra does: signature against the registered
/// certificate, audience = this token endpoint, lifetime (reference §1.3).
#[tokio::test]
async fn certificate_assertions_verified() {
    use crate::api::{ASSERTION_TYPE, CertRef, CertificateKey};
    const KEY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cert/test-only-key.pem"
    ));
    const CERT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cert/test-only-cert.pem"
    ));
    const OTHER_KEY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cert/test-only-other-key.pem"
    ));
    const OTHER_CERT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cert/test-only-other-cert.pem"
    ));
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut cfg = SimConfig::default();
    let der = CertificateDer::from_pem_slice(CERT).unwrap().to_vec();
    cfg.certificates
        .insert(cfg.tenants[0].client_id.clone(), der);
    let h = start(cfg).await;
    let t = h.config().tenants[0].clone();
    let url = format!("{}/{}/oauth2/v2.0/token", h.base_url(), t.tenant_id);
    let good = CertificateKey::load(KEY, CertRef::Pem(CERT)).unwrap();
    let other = CertificateKey::load(OTHER_KEY, CertRef::Pem(OTHER_CERT)).unwrap();
    // Right thumbprint, wrong key: the signature does not verify.
    let forged = CertificateKey::load(
        OTHER_KEY,
        CertRef::Thumbprint("CB2C09CE47DFF50BF76CF38B22BD2E1DECCD2CDE"),
    )
    .unwrap();
    let now = h.now().timestamp();
    let http = reqwest::Client::new();
    let post = |assertion: String| {
        let form = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", t.client_id.clone()),
            ("scope", "https://manage.office.com/.default".into()),
            ("client_assertion_type", ASSERTION_TYPE.into()),
            ("client_assertion", assertion),
        ];
        let req = http.post(&url).form(&form);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            (status, v["error_codes"][0].as_u64())
        }
    };
    let sign = |k: &CertificateKey, aud: &str, at: i64| {
        k.assertion(&t.client_id, aud, at)
            .unwrap()
            .expose()
            .to_string()
    };
    assert_eq!(
        post(sign(&good, &url, now)).await,
        (200, None),
        "good assertion"
    );
    let cases = [
        ("unregistered certificate", sign(&other, &url, now), 700027),
        ("wrong key", sign(&forged, &url, now), 700027),
        ("expired", sign(&good, &url, now - 3600), 700024),
        ("not yet valid", sign(&good, &url, now + 3600), 700024),
        (
            "wrong audience",
            sign(
                &good,
                "https://login.microsoftonline.com/x/oauth2/v2.0/token",
                now,
            ),
            700023,
        ),
        ("not a JWT", "abc.def".to_string(), 50012),
    ];
    for (what, assertion, code) in cases {
        assert_eq!(post(assertion).await, (401, Some(code)), "{what}");
    }
    // Claims changed after signing: the signature no longer matches.
    let jwt = sign(&good, &url, now);
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = String::from_utf8(b64.decode(&parts[1]).unwrap()).unwrap();
    parts[1] =
        b64.encode(claims.replace(&format!("\"nbf\":{now}"), &format!("\"nbf\":{}", now + 1)));
    assert_eq!(
        post(parts.join(".")).await,
        (401, Some(700027)),
        "tampered claims"
    );
}
