//! A secret given by exactly one of three keys (inline, `*_file`, `*_env`), such as a
//! tenant's `client_secret`, resolved at load time (by [`crate::secret`]'s rules) so a missing
//! file or variable fails `check` and start-up rather than the first request. No message
//! here ever contains a value.

use std::path::Path;

use super::table::{Ctx, Span, Table};
use crate::secret::{Env, Exposure, Secret, SecretOrigin, exposure, read_env, read_file};

const KEYS: [&str; 3] = ["client_secret", "client_secret_file", "client_secret_env"];

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

/// Checks who besides its owner may read a secret file ([`exposure`]): one every user can
/// read is refused (reported; false), one its group can read is accepted with a warning.
pub(super) fn private(ctx: &mut Ctx<'_>, key: &str, span: &Span, path: &Path) -> bool {
    match exposure(path) {
        Exposure::Private => true,
        Exposure::Group(warning) => {
            ctx.warn(key, Some(span), warning);
            true
        }
        Exposure::World(problem) => {
            ctx.report(key, Some(span), problem);
            false
        }
    }
}
