//! `[sinks.NAME]`: the `type` selects which keys are allowed.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::sink_http;
use super::sink_syslog;
use super::table::{Ctx, Span, Table};
use crate::format::Format;
use crate::secret::Env;
use crate::sink::config::{self as rules, SinkConfig, SinkKind};

/// A sink and, for a file sink, where its path is written (to report two sinks on one file).
pub(super) struct Parsed {
    pub cfg: SinkConfig,
    pub path_span: Option<Span>,
    /// The filter's `tenant` values, checked against the tenants once all are read.
    pub filter_tenants: Vec<super::filter::TenantValue>,
}

/// `None` when the type is missing or unusable: the other keys cannot be checked then.
pub(super) fn sink(
    ctx: &mut Ctx<'_>,
    name: &str,
    mut t: Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
) -> Option<Parsed> {
    let (kind, kind_span) = t.required_str(ctx, "type", rules::SUPPORTED)?;
    if !rules::TYPES.contains(&kind) {
        let message = format!(
            "unknown sink type {kind:?} (supported: {})",
            rules::SUPPORTED
        );
        ctx.report(&t.key("type"), Some(&kind_span), message);
        return None;
    }

    let given = t.str(ctx, "format");
    let format_span = given.as_ref().map(|(_, span)| span.clone());
    let default = rules::default_format(kind);
    let format = match given {
        None => default,
        Some((s, span)) => Format::from_str(s).unwrap_or_else(|e| {
            ctx.report(&t.key("format"), Some(&span), e);
            default
        }),
    };
    let format_options = super::format::options(ctx, &mut t);
    let reassemble = super::format::reassembly(ctx, &mut t);
    let mut filter_tenants = Vec::new();
    let filter = super::filter::filter(ctx, &mut t, &mut filter_tenants);

    let mut path_span = None;
    let kind = match kind {
        "kafka" => SinkKind::Kafka(super::kafka::kafka(ctx, &mut t, base, env)),
        "splunk_hec" => sink_http::splunk_hec(ctx, &mut t, base, env, format),
        "elasticsearch" => sink_http::elasticsearch(ctx, &mut t, base, env, format, format_span),
        "http" => sink_http::webhook(ctx, &mut t, base, env),
        "syslog" => SinkKind::Syslog(sink_syslog::syslog(ctx, &mut t, base)),
        _ => file_or_stdout(ctx, &mut t, base, kind, &mut path_span),
    };
    t.finish(ctx);

    Some(Parsed {
        cfg: SinkConfig {
            name: name.to_string(),
            format,
            format_options,
            reassemble,
            filter,
            kind,
        },
        path_span,
        filter_tenants,
    })
}

fn file_or_stdout(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    kind: &str,
    path_span: &mut Option<Span>,
) -> SinkKind {
    if kind == "file" {
        let path = match t.required_str(ctx, "path", "the file to append records to") {
            Some(("", span)) => {
                ctx.report(&t.key("path"), Some(&span), "is empty");
                PathBuf::new()
            }
            Some((p, span)) => {
                *path_span = Some(span);
                super::resolve(base, p)
            }
            None => PathBuf::new(),
        };
        SinkKind::File { path }
    } else {
        SinkKind::Stdout
    }
}
