//! A private rsyslog instance: foreground, its own config and work directory, listening on
//! 127.0.0.1, writing every message it receives (`%rawmsg%`, JSON-escaped so newlines survive)
//! to a file, one per line.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::require;

pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A client certificate the CA signed, for mutual TLS.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a server certificate it signed for `localhost` / 127.0.0.1 (openssl CLI).
/// (A self-signed certificate would not do: it is a CA certificate, which rustls refuses as
/// a server's own.)
pub fn make_cert(dir: &Path) -> TlsFiles {
    let days = ["-days", "2"];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=o365fwd test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ][..],
            &days,
        ]
        .concat(),
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "srv.csr",
        ],
        dir,
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            &[
                "x509",
                "-req",
                "-in",
                "srv.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "cert.pem",
                "-extfile",
                "ext.cnf",
            ][..],
            &days,
        ]
        .concat(),
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=o365fwd",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
        ],
        dir,
    );
    std::fs::write(
        dir.join("client.cnf"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl(
        &[
            &[
                "x509",
                "-req",
                "-in",
                "client.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "client.pem",
                "-extfile",
                "client.cnf",
            ][..],
            &days,
        ]
        .concat(),
        dir,
    );
    TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    }
}

fn free_port() -> u16 {
    loop {
        let t = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        // The same number must be free for UDP too (one port per instance keeps it simple).
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub struct Rsyslog {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Rsyslog {
    /// Starts rsyslog with imudp and imtcp on one port (TLS on the TCP side when `tls`).
    pub fn start(tls: Option<&TlsFiles>) -> Rsyslog {
        Rsyslog::start_auth(tls, "anon")
    }

    /// Like [`Rsyslog::start`]; `auth` is imtcp's TLS `streamDriver.authMode`
    /// (`x509/certvalid` demands a client certificate signed by the CA).
    pub fn start_auth(tls: Option<&TlsFiles>, auth: &str) -> Rsyslog {
        let rsyslogd = require("rsyslogd");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        let mut conf = format!(
            "global(workDirectory=\"{d}\" maxMessageSize=\"256k\" parser.escapeControlCharactersOnReceive=\"off\"\n"
        );
        let imtcp = match tls {
            Some(t) => {
                conf.push_str(&format!(
                    "  defaultNetstreamDriverCAFile=\"{a}\" defaultNetstreamDriverCertFile=\"{c}\" defaultNetstreamDriverKeyFile=\"{k}\")\n",
                    a = t.ca.display(),
                    c = t.cert.display(),
                    k = t.key.display()
                ));
                format!(
                    "module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"{auth}\")"
                )
            }
            None => {
                conf.push_str(")\n");
                "module(load=\"imtcp\")".to_string()
            }
        };
        conf.push_str(&format!(
            "module(load=\"imudp\")\n{imtcp}\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg:::json%\\n\")\n\
             ruleset(name=\"fwd\") {{ action(type=\"omfile\" file=\"{d}/raw.log\" template=\"raw\") }}\n\
             input(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"fwd\" rcvbufSize=\"8m\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"fwd\")\n"
        ));
        std::fs::write(dir.path().join("rsyslog.conf"), conf).unwrap();
        let mut r = Rsyslog {
            dir,
            port,
            child: None,
        };
        r.spawn(&rsyslogd);
        r
    }

    fn spawn(&mut self, rsyslogd: &str) {
        let p = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p.join("rsyslogd.log"))
            .unwrap();
        let child = Command::new(rsyslogd)
            .arg("-n")
            .arg("-f")
            .arg(p.join("rsyslog.conf"))
            .arg("-i")
            .arg(p.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("rsyslogd starts");
        self.child = Some(child);
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "rsyslogd did not listen on {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rsyslogd.log")).unwrap_or_default()
    }

    /// Sends `signal` (SIGTERM: a clean stop; SIGKILL: a crash, losing what it had read
    /// and not yet written), then waits for the process to end.
    pub fn stop(&mut self, signal: i32) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(c.id() as i32, signal);
            }
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port, appending to the same output.
    pub fn restart(&mut self) {
        self.stop(libc::SIGTERM);
        self.spawn(&require("rsyslogd"));
    }

    /// Every message received so far, as received.
    pub fn received(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("raw.log")).unwrap_or_default();
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                serde_json::from_str::<String>(&format!("\"{l}\"")).unwrap_or_else(|e| {
                    panic!("rsyslog output line is not a JSON string ({e}): {l}")
                })
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived (or the timeout passed).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let t0 = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n || t0.elapsed() > timeout {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
