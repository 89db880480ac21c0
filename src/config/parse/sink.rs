//! `[sinks.NAME]`: the `type` selects which keys are allowed.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::secret::Env;
use super::table::{Ctx, Span, Table};
use crate::config::{SinkConfig, SinkKind};
use crate::format::Format;

const SUPPORTED: &str = "file, stdout or kafka";
/// Designed, not built yet: named so the error says "not yet" rather than "no such thing".
const LATER: [&str; 4] = ["syslog", "splunk_hec", "elasticsearch", "http"];

/// A sink and, for a file sink, where its path is written (to report two sinks on one file).
pub(super) struct Parsed {
    pub cfg: SinkConfig,
    pub path_span: Option<Span>,
}

/// `None` when the type is missing or unusable: the other keys cannot be checked then.
pub(super) fn sink(
    ctx: &mut Ctx<'_>,
    name: &str,
    mut t: Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
) -> Option<Parsed> {
    let (kind, kind_span) = t.required_str(ctx, "type", SUPPORTED)?;
    if !["file", "stdout", "kafka"].contains(&kind) {
        let message = if LATER.contains(&kind) {
            format!("sink type {kind:?} is not supported in this version (supported: {SUPPORTED})")
        } else {
            format!(
                "unknown sink type {kind:?} (supported: {SUPPORTED}; planned: {})",
                LATER.join(", ")
            )
        };
        ctx.report(&t.key("type"), Some(&kind_span), message);
        return None;
    }

    let format = match t.str(ctx, "format") {
        None => Format::default(),
        Some((s, span)) => Format::from_str(s).unwrap_or_else(|e| {
            ctx.report(&t.key("format"), Some(&span), e);
            Format::default()
        }),
    };
    let format_options = super::format::options(ctx, &mut t);

    let mut path_span = None;
    let kind = if kind == "file" {
        let path = match t.required_str(ctx, "path", "the file to append records to") {
            Some(("", span)) => {
                ctx.report(&t.key("path"), Some(&span), "is empty");
                PathBuf::new()
            }
            Some((p, span)) => {
                path_span = Some(span);
                super::resolve(base, p)
            }
            None => PathBuf::new(),
        };
        SinkKind::File { path }
    } else if kind == "kafka" {
        SinkKind::Kafka(super::kafka::kafka(ctx, &mut t, base, env))
    } else {
        SinkKind::Stdout
    };
    t.finish(ctx);

    Some(Parsed {
        cfg: SinkConfig {
            name: name.to_string(),
            format,
            format_options,
            kind,
        },
        path_span,
    })
}
