//! The client secret of a tenant: exactly one of `client_secret`, `client_secret_file` or
//! `client_secret_env`, resolved at load time so a missing file or variable fails `check`
//! and start-up rather than the first token request. No message here ever contains a value.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::table::{Ctx, Span, Table};
use crate::config::{Secret, SecretOrigin};

/// Looks up an environment variable; injected so tests need not mutate the process env.
pub(super) type Env<'e> = &'e dyn Fn(&str) -> Option<OsString>;

const KEYS: [&str; 3] = ["client_secret", "client_secret_file", "client_secret_env"];

/// A secret file larger than this is almost certainly the wrong file.
const MAX_FILE: u64 = 64 * 1024;

/// Resolves the tenant's secret; on any problem, reports it and returns an empty placeholder
/// (the configuration is rejected anyway).
pub(super) fn client_secret(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
) -> (Secret, SecretOrigin) {
    let fallback = (Secret::new(""), SecretOrigin::Inline);
    let given: Vec<(&'static str, Span)> = KEYS
        .into_iter()
        .filter_map(|k| t.get(k).map(|v| (k, v.span())))
        .collect();
    match given.as_slice() {
        [] => {
            t.missing(
                ctx,
                "client_secret",
                "set one of client_secret, client_secret_file or client_secret_env",
            );
            return fallback;
        }
        [_] => {}
        [(first, _), rest @ ..] => {
            for (k, span) in rest {
                ctx.report(
                    &t.key(k),
                    Some(span),
                    format!("set only one of client_secret, client_secret_file or client_secret_env (`{first}` is set too)"),
                );
            }
            return fallback;
        }
    }
    if let Some((s, span)) = t.str(ctx, "client_secret") {
        if s.is_empty() {
            ctx.report(&t.key("client_secret"), Some(&span), "is empty");
            return fallback;
        }
        return (Secret::new(s), SecretOrigin::Inline);
    }
    if let Some((p, span)) = t.str(ctx, "client_secret_file") {
        let path = super::resolve(base, p);
        return match read_file(&path) {
            Ok(s) => (Secret::new(s), SecretOrigin::File(path)),
            Err(e) => {
                ctx.report(&t.key("client_secret_file"), Some(&span), e);
                fallback
            }
        };
    }
    if let Some((name, span)) = t.str(ctx, "client_secret_env") {
        return match read_env(name, env) {
            Ok(s) => (Secret::new(s), SecretOrigin::Env(name.to_string())),
            Err(e) => {
                ctx.report(&t.key("client_secret_env"), Some(&span), e);
                fallback
            }
        };
    }
    // The one key given had the wrong type; `str` reported it.
    fallback
}

/// Reads a secret file; one trailing newline (as editors and `echo` add) is not part of it.
pub(super) fn read_file(path: &PathBuf) -> Result<String, String> {
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

pub(super) fn read_env(name: &str, env: Env<'_>) -> Result<String, String> {
    // Not echoed: a value that is no variable name may be the secret itself, pasted here by
    // mistake.
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(
            "is not an environment variable name (letters, digits and `_`); \
                    to write the secret itself, use client_secret"
                .into(),
        );
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
