//! TLS: a receiver with a certificate from a private CA that requires a client certificate.
//! The sink delivers with `tls_ca_file` + `tls_cert_file` / `tls_key_file`; without the CA
//! it refuses the server, without its certificate the server refuses it (retried, never
//! acknowledged).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

use super::real_clients::external_available;
use super::*;
use crate::receivers::es::Es;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`.
fn make_pki(dir: &Path) {
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(key);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=o365fwd test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(dir, &ca);
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let (k, csr) = (format!("{name}.key"), format!("{name}.csr"));
        let mut req = vec!["req"];
        req.extend(key);
        req.extend(["-keyout", &k, "-out", &csr, "-subj", "/CN=o365fwd-test"]);
        openssl(dir, &req);
        let (pem, ext) = (format!("{name}.pem"), format!("{name}.ext"));
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

fn acceptor(dir: &Path) -> tokio_rustls::TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let cfg = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_a_private_ca() {
    let has = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !external_available("openssl (Debian package openssl)", has) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    let es = Es::start_tls(&[], Some(acceptor(dir.path()))).await;
    assert!(es.url().starts_with("https://127.0.0.1:"));
    let p = |f: &str| dir.path().join(f).display().to_string();
    let sink_toml = |name: &str, tls: &str| {
        format!(
            "[sinks.{name}]\ntype = \"elasticsearch\"\nendpoint = \"{}\"\nindex = \"tls\"\nformat = \"raw\"\n\
             batch_timeout = \"10ms\"\nretry_max_backoff = \"200ms\"\n{tls}",
            es.url()
        )
    };
    let full = format!(
        "tls_ca_file = \"{}\"\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
        p("ca.pem"),
        p("client.pem"),
        p("client.key")
    );
    let sink = start_sink(&sink_toml("tls_ok", &full)).await;
    let recs = records("tls", 5);
    let want = ids(&recs);
    let mut rx = sink.submit(recs).await;
    ack_within(&mut rx, Duration::from_secs(10))
        .await
        .expect("delivered over mutual TLS");
    let got = es.docs("tls").keys().map(|k| (k.clone(), 1)).collect();
    assert_once(&got, &want);
    sink.close().await;

    // The system roots alone do not trust the private CA.
    let no_ca = format!(
        "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
        p("client.pem"),
        p("client.key")
    );
    // Trusting the server is not enough when it requires a client certificate.
    let no_cert = format!("tls_ca_file = \"{}\"\n", p("ca.pem"));
    for (name, tls) in [("tls_no_ca", no_ca), ("tls_no_cert", no_cert)] {
        let sink = start_sink(&sink_toml(name, &tls)).await;
        let mut rx = sink.submit(records(name, 2)).await;
        assert!(
            ack_within(&mut rx, Duration::from_millis(1500))
                .await
                .is_none(),
            "{name}"
        );
        assert!(
            o365fwd::telemetry::metric::SINK_RETRIES.get([name, "transport"]) >= 1,
            "{name}"
        );
        sink.abort().await;
    }
    assert_eq!(es.docs("tls").len(), 5);
}
