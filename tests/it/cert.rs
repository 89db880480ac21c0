//! Certificate authentication against the simulator, which verifies the assertion's
//! signature, thumbprint, audience and lifetime; and the tenant `proxy` setting.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::harness::{Env, sim_config, tail};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cert")
        .join(name)
}

/// A private copy of a fixture key (the checkout is readable by all; o365fwd refuses such
/// a secret file).
fn private(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let to = dir.path().join(name);
    crate::harness::write_private(&to, &std::fs::read(fixture(name)).unwrap());
    to
}

fn cert_der(name: &str) -> Vec<u8> {
    CertificateDer::from_pem_file(fixture(name))
        .unwrap()
        .to_vec()
}

/// Replaces tenant `i`'s `client_secret` line in the config with `with`.
fn set_credential(env: &Env, i: usize, with: &str) {
    let secret = &env.sim.config().tenants[i].client_secret;
    let text = std::fs::read_to_string(&env.config).unwrap();
    let line = format!("client_secret = \"{secret}\"\n");
    assert!(text.contains(&line));
    std::fs::write(&env.config, text.replace(&line, &format!("{with}\n"))).unwrap();
}

fn key_and_cert(key: &str, cert: &str) -> String {
    format!(
        "certificate_key_file = \"{}\"\ncertificate_file = \"{}\"",
        private(key).display(),
        fixture(cert).display()
    )
}

async fn wait_log(env: &Env, needle: &str, timeout: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if env.log().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Nothing that identifies key material or an assertion may reach the log.
fn assert_no_key_material(log: &str) {
    for bad in [
        "BEGIN",
        "PRIVATE KEY",
        "client_assertion=",
        "eyJhbGciOiJSUzI1Ni",
    ] {
        assert!(
            !log.contains(bad),
            "log contains {bad:?}:\n{}",
            tail(log, 20)
        );
    }
}

#[tokio::test]
async fn certificate_credential_by_file_and_by_thumbprint() {
    let mut sim = sim_config(2, &[ContentType::General]);
    for t in sim.tenants.clone() {
        sim.certificates
            .insert(t.client_id, cert_der("test-only-cert.pem"));
    }
    let env = Env::start(sim, "").await;
    set_credential(
        &env,
        0,
        &key_and_cert("test-only-key.pem", "test-only-cert.pem"),
    );
    // PKCS#1 key and the thumbprint as the Azure portal shows it.
    set_credential(
        &env,
        1,
        &format!(
            "certificate_key_file = \"{}\"\ncertificate_thumbprint = \"CB2C09CE47DFF50BF76CF38B22BD2E1DECCD2CDE\"",
            private("test-only-key-pkcs1.pem").display()
        ),
    );
    let want = env.expected();
    assert!(want.len() > 20);
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(60)).await,
        "records did not arrive; log:\n{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    env.assert_exactly_once(&want);
    let tokens: Vec<_> = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/token"))
        .collect();
    let tenants: BTreeSet<_> = tokens.iter().filter_map(|r| r.tenant.clone()).collect();
    assert_eq!(tenants.len(), 2, "both tenants fetched a token");
    assert!(tokens.iter().all(|r| r.status == 200), "{tokens:?}");
    assert_no_key_material(&env.log());
}

#[tokio::test]
async fn refused_assertions_give_a_clear_error_without_secrets() {
    // (what is wrong, credential, AADSTS code expected)
    let cases = [
        ("wrong key", "other", 700027u32),
        ("wrong audience", "audience", 700023),
        ("expired", "expired", 700024),
    ];
    for (what, case, code) in cases {
        let mut sim = sim_config(1, &[ContentType::General]);
        let app = sim.tenants[0].client_id.clone();
        sim.certificates.insert(app, cert_der("test-only-cert.pem"));
        let env = Env::start(sim, "").await;
        let cred = match case {
            "other" => key_and_cert("test-only-other-key.pem", "test-only-other-cert.pem"),
            _ => key_and_cert("test-only-key.pem", "test-only-cert.pem"),
        };
        set_credential(&env, 0, &cred);
        let mut text = std::fs::read_to_string(&env.config).unwrap();
        if case == "audience" {
            // Same simulator, other host name: the assertion's audience names a token
            // endpoint that is not the simulator's.
            let base = env.sim.base_url();
            let other = base.replace("127.0.0.1", "localhost");
            text = text.replace(
                &format!("login_url = \"{base}\""),
                &format!("login_url = \"{other}\""),
            );
            std::fs::write(&env.config, text).unwrap();
        }
        if case == "expired" {
            // The simulator's clock runs an hour ahead: the assertion expired for it.
            env.sim.advance(Duration::from_secs(3600));
        }
        let agent = env.spawn();
        let needle = format!("AADSTS{code}");
        let seen = wait_log(&env, &needle, Duration::from_secs(30)).await;
        agent.stop();
        let log = env.log();
        assert!(seen, "{what}: no {needle} in the log:\n{}", tail(&log, 20));
        assert!(
            log.contains("authentication failed"),
            "{what}: {}",
            tail(&log, 20)
        );
        assert!(
            env.delivered().is_empty(),
            "{what}: nothing may be delivered"
        );
        assert_no_key_material(&log);
    }
}

/// A forwarding HTTP proxy for plain-http origins: reads one request in absolute form,
/// forwards it in origin form with `Connection: close`, relays the answer. Records the
/// target and whether it carried a bearer token or a client assertion.
mod proxy {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    #[derive(Debug, Clone)]
    pub struct Seen {
        pub target: String,
        pub path: String,
    }

    pub async fn start() -> (String, Arc<Mutex<Vec<Seen>>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        tokio::spawn(async move {
            while let Ok((c, _)) = l.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(c, s).await;
                });
            }
        });
        (url, seen)
    }

    async fn read_head(c: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
        loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return Ok(Some(i + 4));
            }
            let mut chunk = [0u8; 4096];
            let n = c.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn serve(mut c: TcpStream, seen: Arc<Mutex<Vec<Seen>>>) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let Some(end) = read_head(&mut c, &mut buf).await? else {
            return Ok(());
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let mut lines = head.split("\r\n");
        let first = lines.next().unwrap_or("");
        let mut parts = first.split(' ');
        let (method, uri) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let rest = uri.strip_prefix("http://").expect("absolute-form request");
        let (target, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let mut len = 0usize;
        let mut out = format!("{method} {path} HTTP/1.1\r\n");
        for l in lines.filter(|l| !l.is_empty()) {
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("content-length:") {
                len = l[15..].trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:") || lower.starts_with("proxy-") {
                continue;
            }
            out.push_str(l);
            out.push_str("\r\n");
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut body = buf[end..].to_vec();
        while body.len() < len {
            let mut chunk = vec![0u8; len - body.len()];
            let n = c.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        seen.lock().unwrap().push(Seen {
            target: target.to_string(),
            path: path.to_string(),
        });
        let mut up = TcpStream::connect(target).await?;
        up.write_all(out.as_bytes()).await?;
        up.write_all(&body).await?;
        // Answer with `Connection: close` so the client does not reuse this connection.
        let mut resp = Vec::new();
        let Some(hend) = read_head(&mut up, &mut resp).await? else {
            return Ok(());
        };
        let rhead = String::from_utf8_lossy(&resp[..hend]).to_string();
        let mut fixed = String::new();
        for l in rhead.split("\r\n").filter(|l| !l.is_empty()) {
            if !l.to_ascii_lowercase().starts_with("connection:") {
                fixed.push_str(l);
                fixed.push_str("\r\n");
            }
        }
        fixed.push_str("Connection: close\r\n\r\n");
        c.write_all(fixed.as_bytes()).await?;
        c.write_all(&resp[hend..]).await?;
        let mut rest = Vec::new();
        up.read_to_end(&mut rest).await?;
        c.write_all(&rest).await?;
        c.shutdown().await
    }
}

#[tokio::test]
async fn tenant_proxy_carries_token_and_api_requests() {
    let mut sim = sim_config(1, &[ContentType::General, ContentType::Exchange]);
    let app = sim.tenants[0].client_id.clone();
    sim.certificates.insert(app, cert_der("test-only-cert.pem"));
    let env = Env::start(sim, "").await;
    let (proxy_url, seen) = proxy::start().await;
    set_credential(
        &env,
        0,
        &format!(
            "{}\nproxy = \"{proxy_url}\"",
            key_and_cert("test-only-key.pem", "test-only-cert.pem")
        ),
    );
    let want = env.expected();
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(60)).await,
        "records did not arrive; log:\n{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    env.assert_exactly_once(&want);
    let seen = seen.lock().unwrap().clone();
    let sim_host = env.sim.base_url().trim_start_matches("http://").to_string();
    assert!(
        seen.iter().any(|s| s.path.ends_with("/oauth2/v2.0/token")),
        "token via the proxy"
    );
    assert!(
        seen.iter().any(|s| s.path.contains("/audit/")),
        "blobs via the proxy"
    );
    assert!(
        seen.iter().all(|s| s.target == sim_host),
        "the proxy is a transport: every request targets the configured host: {seen:?}"
    );
    assert_eq!(
        seen.len(),
        env.sim.requests().len(),
        "every request the simulator served came through the proxy"
    );
}
