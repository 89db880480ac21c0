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
    secret(ctx, t, base, env, KEYS, true).unwrap_or((Secret::new(""), SecretOrigin::Inline))
}

/// Whether any of the keys of one secret is set.
pub(super) fn given(t: &mut Table<'_, '_>, keys: [&'static str; 3]) -> bool {
    keys.into_iter().filter(|k| t.get(k).is_some()).count() > 0
}

/// Resolves a secret given by exactly one of `keys` = [inline, file, environment variable]
/// (e.g. `token`, `token_file`, `token_env`). `None` when absent (reported if `required`) or
/// when a problem was reported.
pub(super) fn secret(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
    keys: [&'static str; 3],
    required: bool,
) -> Option<(Secret, SecretOrigin)> {
    let [inline, file, var] = keys;
    let given: Vec<(&'static str, Span)> = keys
        .into_iter()
        .filter_map(|k| t.get(k).map(|v| (k, v.span())))
        .collect();
    match given.as_slice() {
        [] => {
            if required {
                t.missing(
                    ctx,
                    inline,
                    &format!("set one of {inline}, {file} or {var}"),
                );
            }
            return None;
        }
        [_] => {}
        [(first, _), rest @ ..] => {
            for (k, span) in rest {
                ctx.report(
                    &t.key(k),
                    Some(span),
                    format!("set only one of {inline}, {file} or {var} (`{first}` is set too)"),
                );
            }
            return None;
        }
    }
    if let Some((s, span)) = t.str(ctx, inline) {
        if s.is_empty() {
            ctx.report(&t.key(inline), Some(&span), "is empty");
            return None;
        }
        return Some((Secret::new(s), SecretOrigin::Inline));
    }
    if let Some((p, span)) = t.str(ctx, file) {
        let path = super::resolve(base, p);
        if !private(ctx, &t.key(file), &span, &path) {
            return None;
        }
        return match read_file(&path) {
            Ok(s) => Some((Secret::new(s), SecretOrigin::File(path))),
            Err(e) => {
                ctx.report(&t.key(file), Some(&span), e);
                None
            }
        };
    }
    if let Some((name, span)) = t.str(ctx, var) {
        return match read_env(name, env, inline) {
            Ok(s) => Some((Secret::new(s), SecretOrigin::Env(name.to_string()))),
            Err(e) => {
                ctx.report(&t.key(var), Some(&span), e);
                None
            }
        };
    }
    // The one key given had the wrong type; `str` reported it.
    None
}

/// Checks who besides its owner may read a secret file: one every user can read is
/// refused (reported; false), one its group can read is accepted with a warning (the group
/// may hold more users than the service). A file that cannot be examined is left to the
/// read that follows, which reports why.
pub(super) fn private(ctx: &mut Ctx<'_>, key: &str, span: &Span, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else {
        return true;
    };
    let mode = m.mode() & 0o777;
    let shown = path.display();
    if mode & 0o004 != 0 {
        ctx.report(
            key,
            Some(span),
            format!(
                "secret file {shown} is readable by every user (mode {mode:04o}): chmod o-rwx {shown} (600, or 640 with a group only the service is in)"
            ),
        );
        return false;
    }
    if mode & 0o040 != 0 {
        ctx.warn(
            key,
            Some(span),
            format!(
                "secret file {shown} is readable by its group (gid {}, mode {mode:04o}): make sure only the service is in that group, or chmod 600 {shown}",
                m.gid()
            ),
        );
    }
    true
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

pub(super) fn read_env(name: &str, env: Env<'_>, inline_key: &str) -> Result<String, String> {
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
