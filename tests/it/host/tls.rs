//! Receivers with a self-signed certificate (`openssl req -x509`, the most common set-up
//! for rsyslog TLS): given as a CA the certificate is refused with a message that says what
//! is wrong and what to do; pinned with `tls_pinned_cert_file` it is trusted, exactly, by
//! the syslog (real rsyslog), Splunk HEC, Elasticsearch and webhook sinks; a receiver that
//! presents another certificate than the pinned one is refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use o365fwd::record::ContentType;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

use super::until;
use crate::harness::{Env, external_ready, sim_config, tail};
use crate::receivers::es::Es;
use crate::receivers::hec::{Hec, Token};
use crate::receivers::webhook::Hook;
use crate::syslog::rsyslog::{Rsyslog, TlsFiles};

const TOKEN: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

fn openssl_ready(test: &str, also: &[&str]) -> bool {
    let mut missing = Vec::new();
    for p in ["openssl"].iter().chain(also) {
        if crate::service::support::find(p).is_none() {
            missing.push(p.to_string());
        }
    }
    external_ready(test, &missing, ".ci/deps.sh")
}

/// A self-signed certificate for localhost / 127.0.0.1, the way the guides make one;
/// returns (certificate, key).
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn acceptor(cert: &Path, key: &Path) -> tokio_rustls::TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

/// Replaces every `{tls}` in the sinks of the config with `tls`.
fn set_tls(env: &Env, template: &str, tls: &str) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let head = text.split("[sinks.").next().unwrap().to_string();
    std::fs::write(&env.config, head + &template.replace("{tls}", tls)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_sinks_trust_a_pinned_self_signed_certificate_and_explain_a_refused_one() {
    if !openssl_ready("http_sinks_trust_a_pinned_self_signed_certificate", &[]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "receiver");
    let hec = Hec::start_tls(&[(TOKEN, Token::default())], Some(acceptor(&cert, &key))).await;
    let es = Es::start_tls(&[], Some(acceptor(&cert, &key))).await;
    let hook = Hook::start_tls(Some(acceptor(&cert, &key))).await;
    for url in [hec.url(), es.url(), hook.url()] {
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    }
    let retry = "batch_timeout = \"20ms\"\nretry_max_backoff = \"300ms\"\n";
    let template = format!(
        "[sinks.hec]\ntype = \"splunk_hec\"\nendpoint = \"{}\"\ntoken = \"{TOKEN}\"\n{retry}{{tls}}\
         [sinks.es]\ntype = \"elasticsearch\"\nendpoint = \"{}\"\nindex = \"o365\"\nformat = \"raw\"\n{retry}{{tls}}\
         [sinks.hook]\ntype = \"http\"\nurl = \"{}\"\n{retry}{{tls}}",
        hec.url(),
        es.url(),
        hook.url()
    );
    let env = Env::start_with_only_sinks(sim_config(1, &[ContentType::General]), "", "").await;
    let want = env.expected();

    // The certificate given as a CA: refused, with what to do, and nothing delivered.
    set_tls(
        &env,
        &template,
        &format!("tls_ca_file = \"{}\"\n", cert.display()),
    );
    let agent = env.spawn();
    let explained = until(Duration::from_secs(30), || {
        let log = env.log();
        ["hec", "es", "hook"].iter().all(|s| {
            log.lines().any(|l| {
                l.contains(&format!("sink=\"{s}\""))
                    && l.contains("self-signed")
                    && l.contains("tls_pinned_cert_file")
            })
        })
    })
    .await;
    assert!(explained, "{}", tail(&env.log(), 30));
    assert!(hec.ids().is_empty() && es.docs("o365").is_empty() && hook.ids().is_empty());
    agent.stop();

    // Pinned: trusted, every record delivered once to each.
    set_tls(
        &env,
        &template,
        &format!("tls_pinned_cert_file = \"{}\"\n", cert.display()),
    );
    let (code, out, err) =
        crate::harness::run_cli(&["check", "--config", env.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let agent = env.spawn();
    let done = until(Duration::from_secs(60), || {
        hec.ids().len() >= want.len()
            && es.docs("o365").len() >= want.len()
            && hook.ids().len() >= want.len()
    })
    .await;
    agent.stop();
    assert!(done, "{}", tail(&env.log(), 30));
    for (name, got) in [
        ("hec", hec.ids()),
        ("hook", hook.ids()),
        (
            "es",
            es.docs("o365").keys().map(|k| (k.clone(), 1)).collect(),
        ),
    ] {
        assert_eq!(
            got.keys()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>(),
            want,
            "{name}"
        );
        assert!(got.values().all(|n| *n == 1), "{name}: once each");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_over_tls_to_rsyslog_with_a_pinned_self_signed_certificate() {
    if !openssl_ready(
        "syslog_over_tls_to_rsyslog_with_a_pinned_self_signed_certificate",
        &["rsyslogd"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "rsyslog");
    let (other, _) = self_signed(dir.path(), "other");
    let files = TlsFiles {
        ca: cert.clone(),
        cert: cert.clone(),
        key,
        client_cert: cert.clone(),
        client_key: dir.path().join("unused"),
    };
    let rsyslog = Rsyslog::start(Some(&files));
    let template = format!(
        "[sinks.siem]\ntype = \"syslog\"\ntransport = \"tls\"\naddress = \"{}\"\nformat = \"raw\"\n{{tls}}",
        rsyslog.address()
    );
    let env = Env::start_with_only_sinks(sim_config(1, &[ContentType::General]), "", "").await;
    let want = env.expected();

    for (tls, needle) in [
        (
            format!("tls_ca_file = \"{}\"\n", cert.display()),
            "self-signed",
        ),
        (
            format!("tls_pinned_cert_file = \"{}\"\n", other.display()),
            "another certificate than the pinned one",
        ),
    ] {
        set_tls(&env, &template, &tls);
        let agent = env.spawn();
        let explained = until(Duration::from_secs(30), || env.log().contains(needle)).await;
        agent.stop();
        assert!(explained, "{needle}: {}", tail(&env.log(), 30));
        assert!(
            rsyslog.received().is_empty(),
            "nothing sent to an untrusted receiver"
        );
    }

    set_tls(
        &env,
        &template,
        &format!("tls_pinned_cert_file = \"{}\"\n", cert.display()),
    );
    let agent = env.spawn();
    let got = rsyslog.wait_for(want.len(), Duration::from_secs(60)).await;
    agent.stop();
    assert_eq!(got.len(), want.len(), "{}", tail(&env.log(), 30));
    for id in &want {
        assert_eq!(
            got.iter().filter(|m| m.contains(id.as_str())).count(),
            1,
            "{id} once"
        );
    }
}
