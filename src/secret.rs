//! Secrets: a value that never shows, where it came from, how it is read from a file or the
//! environment, and the two checks that keep one from leaking (a URL is shown redacted; clear
//! text travels only to this host). A leaf: every component that holds a credential uses it,
//! it uses none of them.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use url::Host;

/// A secret value. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The only way to read the value: call sites are easy to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

/// Where a secret came from. Shown by `o365fwd check` in place of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    /// Written in the configuration file itself.
    Inline,
    /// A `*_file` key, read at load time (absolute path).
    File(PathBuf),
    /// An `*_env` key: the variable's name.
    Env(String),
}

impl fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretOrigin::Inline => f.write_str("inline (in the configuration file)"),
            SecretOrigin::File(p) => write!(f, "file {}", p.display()),
            SecretOrigin::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

/// Looks up an environment variable; injected so tests need not mutate the process env.
pub type Env<'e> = &'e dyn Fn(&str) -> Option<OsString>;

/// A secret file larger than this is almost certainly the wrong file.
pub const MAX_FILE: u64 = 64 * 1024;

/// Reads a secret file; one trailing newline (as editors and `echo` add) is not part of it.
/// No message contains the content.
pub fn read_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read secret file {shown}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read secret file {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "secret file {shown} is larger than {} KiB; is it the right file?",
            MAX_FILE / 1024
        ));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| format!("secret file {shown} is not valid UTF-8"))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(format!("secret file {shown} is empty"));
    }
    Ok(secret.to_string())
}

/// Reads a secret from the environment variable `name`; `inline_key` is the key that would
/// hold the value itself, named when `name` looks like a pasted secret.
pub fn read_env(name: &str, env: Env<'_>, inline_key: &str) -> Result<String, String> {
    // Not echoed: a value that is no variable name may be the secret itself, pasted here by
    // mistake.
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "is not an environment variable name (letters, digits and `_`); \
             to write the secret itself, use {inline_key}"
        ));
    }
    let value = env(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
    let value = value
        .into_string()
        .map_err(|_| format!("environment variable {name} is not valid UTF-8"))?;
    if value.is_empty() {
        return Err(format!("environment variable {name} is empty"));
    }
    Ok(value)
}

/// Who besides its owner may read a secret file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// Only its owner (or the file cannot be examined: the read that follows says why).
    Private,
    /// Its group may read it: accepted, with this warning (the group may hold more users
    /// than the service).
    Group(String),
    /// Every user may read it: refused, with this message.
    World(String),
}

/// How exposed a secret file is, by its mode.
pub fn exposure(path: &Path) -> Exposure {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else {
        return Exposure::Private;
    };
    let mode = m.mode() & 0o777;
    let shown = path.display();
    if mode & 0o004 != 0 {
        return Exposure::World(format!(
            "secret file {shown} is readable by every user (mode {mode:04o}): chmod o-rwx {shown} (600, or 640 with a group only the service is in)"
        ));
    }
    if mode & 0o040 != 0 {
        return Exposure::Group(format!(
            "secret file {shown} is readable by its group (gid {}, mode {mode:04o}): make sure only the service is in that group, or chmod 600 {shown}",
            m.gid()
        ));
    }
    Exposure::Private
}

/// A URL as it may appear in a message: what could be a secret (the user and password
/// before `@`, the query and fragment, where API keys and signatures travel) replaced by
/// `***`. Works on text that does not parse as a URL too.
pub fn redact_url(s: &str) -> String {
    let (base, rest) = match s.find(['?', '#']) {
        Some(i) => (&s[..i], Some(&s[i..i + 1])),
        None => (s, None),
    };
    let start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[start..].find('/').map_or(base.len(), |i| start + i);
    let mut out = match base[start..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}", &base[..start], &base[start + at + 1..]),
        None => base.to_string(),
    };
    if let Some(mark) = rest {
        out.push_str(mark);
        out.push_str("***");
    }
    out
}

/// Whether a host is this machine: the only place credentials may travel in clear.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}
