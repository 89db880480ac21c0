//! `o365fwd check` on the safe-configuration rules, as `ExecStartPre` runs it: Kafka in
//! clear to a remote broker, secret files others can read, secrets in URLs.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{run_cli, write_private};

const TENANT: &str = "[tenants.contoso]\ntenant_id = \"0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n";

fn check(dir: &std::path::Path, text: &str) -> (i32, String, String) {
    let config = dir.join("config.toml");
    std::fs::write(&config, text).unwrap();
    run_cli(&["check", "--config", config.to_str().unwrap()])
}

#[test]
fn check_refuses_kafka_in_clear_secret_files_others_read_and_never_echoes_a_url_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client.secret");
    write_private(&secret, b"hunter2-secret\n");
    let tenant = format!("{TENANT}client_secret_file = \"{}\"\n", secret.display());

    // Kafka: sasl_plaintext to a remote broker, then allowed by name, then TLS by default.
    let kafka = |extra: &str, protocol: &str| {
        format!(
            "{tenant}[sinks.k]\ntype = \"kafka\"\nbrokers = \"kafka.example:9092\"\ntopic = \"t\"\n{extra}{protocol}"
        )
    };
    let clear = "[sinks.k.librdkafka]\n\"security.protocol\" = \"sasl_plaintext\"\n\"sasl.mechanisms\" = \"PLAIN\"\n";
    let (code, _, err) = check(dir.path(), &kafka("", clear));
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("in clear") && err.contains("allow_plaintext = true"),
        "{err}"
    );
    let (code, out, err) = check(dir.path(), &kafka("allow_plaintext = true\n", clear));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("security.protocol sasl_plaintext"), "{out}");
    let (code, out, err) = check(dir.path(), &kafka("", ""));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("security.protocol ssl"), "{out}");

    // Secret file modes.
    let stdout_sink = "[sinks.out]\ntype = \"stdout\"\n";
    let set =
        |mode| std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode)).unwrap();
    set(0o644);
    let (code, _, err) = check(dir.path(), &format!("{tenant}{stdout_sink}"));
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("readable by every user"), "{err}");
    set(0o640);
    let (code, out, err) = check(dir.path(), &format!("{tenant}{stdout_sink}"));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning:") && err.contains("readable by its group"),
        "{err}"
    );
    assert!(out.contains("configuration OK"));
    set(0o600);
    let (code, _, err) = check(dir.path(), &format!("{tenant}{stdout_sink}"));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");

    // A URL with a secret in it is refused without echoing the secret.
    let (code, out, err) = check(
        dir.path(),
        &format!(
            "{tenant}[sinks.hook]\ntype = \"http\"\nurl = \"https://collector.example/in?apikey=TOPSECRET42\"\n"
        ),
    );
    assert_eq!(code, 78, "{err}");
    assert!(!format!("{out}{err}").contains("TOPSECRET42"), "{err}");
    assert!(err.contains("https://collector.example/in?***"), "{err}");
    assert!(!format!("{out}{err}").contains("hunter2"));
}
