//! A strict, span-aware reader over one TOML table.
//!
//! Every accessor records the key as known, reports a wrong type or a bad value as a
//! [`Problem`] located at the value, and returns a fallback so validation can go on and
//! report every problem in one pass. [`Table::finish`] then reports the keys nobody asked
//! for, which is how unknown keys become errors (`deny_unknown_fields` semantics).

use std::ops::{Range, RangeInclusive};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::checks::closest;
use crate::config::Problem;

pub(super) type Span = Range<usize>;
pub(super) type Value<'i> = Spanned<DeValue<'i>>;

/// The text being validated and the problems found so far.
pub(super) struct Ctx<'t> {
    text: &'t str,
    /// Byte offset where each line starts, to turn spans into line:column.
    line_starts: Vec<usize>,
    pub problems: Vec<Problem>,
    /// Accepted, but worth the operator's attention (`check` prints them, `run` logs them).
    pub warnings: Vec<Problem>,
}

impl<'t> Ctx<'t> {
    pub fn new(text: &'t str) -> Ctx<'t> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Ctx {
            text,
            line_starts,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = match self.text.get(start..offset) {
            Some(s) => s.chars().count(),
            None => offset - start,
        };
        (line, column + 1)
    }

    /// Records a warning at `span`: the configuration is still accepted.
    pub fn warn(&mut self, key: &str, span: Option<&Span>, message: impl Into<String>) {
        let p = self.problem(key, span, message.into());
        self.warnings.push(p);
    }

    /// Records a problem at `span` (or without a location).
    pub fn report(&mut self, key: &str, span: Option<&Span>, message: impl Into<String>) {
        let p = self.problem(key, span, message.into());
        self.problems.push(p);
    }

    fn problem(&self, key: &str, span: Option<&Span>, message: String) -> Problem {
        let (line, column) = match span.map(|s| self.position(s.start)) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        Problem {
            key: key.to_string(),
            line,
            column,
            message,
        }
    }
}

/// A TOML type with its article, for messages.
pub(super) fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Joins a dotted key path.
pub(super) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// One table being read; see the module docs.
pub(super) struct Table<'a, 'i> {
    table: &'a DeTable<'i>,
    /// Dotted path of this table (`tenants.contoso`; empty for the document root).
    pub path: String,
    /// Where the table is defined (its `[header]`), for "missing key" problems.
    pub span: Option<Span>,
    known: Vec<&'static str>,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, path: String, span: Option<Span>) -> Table<'a, 'i> {
        Table {
            table,
            path,
            span,
            known: Vec::new(),
        }
    }

    /// The key path of one of this table's keys.
    pub fn key(&self, name: &str) -> String {
        join(&self.path, name)
    }

    /// The raw value of a key, which becomes known.
    pub fn get(&mut self, name: &'static str) -> Option<&'a Value<'i>> {
        if !self.known.contains(&name) {
            self.known.push(name);
        }
        self.table.get(name)
    }

    /// Reports that a required key is absent, at the table's header.
    pub fn missing(&self, ctx: &mut Ctx<'_>, name: &str, what: &str) {
        let span = self.span.clone();
        ctx.report(
            &self.key(name),
            span.as_ref(),
            format!("missing required key `{name}` ({what})"),
        );
    }

    pub fn wrong_type(&self, ctx: &mut Ctx<'_>, name: &str, v: &Value<'_>, expected: &str) {
        ctx.report(
            &self.key(name),
            Some(&v.span()),
            format!("expected {expected}, found {}", type_name(v.get_ref())),
        );
    }

    /// A string value, with its span.
    pub fn str(&mut self, ctx: &mut Ctx<'_>, name: &'static str) -> Option<(&'a str, Span)> {
        self.str_or_type(ctx, name, "a string")
    }

    /// A non-empty string value; reports `what` when the key is absent.
    pub fn required_str(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &'static str,
        what: &str,
    ) -> Option<(&'a str, Span)> {
        let present = self.table.get(name).is_some();
        let got = self.str(ctx, name);
        if !present {
            self.missing(ctx, name, what);
        }
        got
    }

    pub fn bool(&mut self, ctx: &mut Ctx<'_>, name: &'static str, default: bool) -> bool {
        let Some(v) = self.get(name) else {
            return default;
        };
        match v.get_ref().as_bool() {
            Some(b) => b,
            None => {
                self.wrong_type(ctx, name, v, "true or false");
                default
            }
        }
    }

    /// An integer within `range`, converted to the field's type.
    pub fn int<T: TryFrom<i64>>(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &'static str,
        range: RangeInclusive<i64>,
        default: T,
    ) -> T {
        let Some(v) = self.get(name) else {
            return default;
        };
        let Some(i) = v.get_ref().as_integer() else {
            self.wrong_type(ctx, name, v, "an integer");
            return default;
        };
        let parsed = i64::from_str_radix(i.as_str(), i.radix()).ok();
        match parsed.filter(|n| range.contains(n)).map(T::try_from) {
            Some(Ok(n)) => n,
            _ => {
                ctx.report(
                    &self.key(name),
                    Some(&v.span()),
                    format!(
                        "{i} is out of range (expected {} to {})",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    /// A humantime duration (`"90s"`, `"1h 30m"`, `"7days"`) within `range`.
    pub fn duration(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &'static str,
        default: Duration,
        range: RangeInclusive<Duration>,
    ) -> Duration {
        let (min, max) = (*range.start(), *range.end());
        let Some((s, span)) = self.str_or_type(ctx, name, "a duration string such as \"60s\"")
        else {
            return default;
        };
        let problem = match humantime::parse_duration(s) {
            Err(e) => {
                format!("invalid duration {s:?}: {e} (examples: \"90s\", \"5m\", \"1h 30m\")")
            }
            Ok(d) if d < min && min == Duration::from_nanos(1) => {
                format!("must be greater than zero, found {s:?}")
            }
            Ok(d) if d < min => format!(
                "{s:?} is too short (at least {})",
                humantime::format_duration(min)
            ),
            Ok(d) if d > max => format!(
                "{s:?} is too long (at most {})",
                humantime::format_duration(max)
            ),
            Ok(d) => return d,
        };
        ctx.report(&self.key(name), Some(&span), problem);
        default
    }

    /// Like [`Table::str`] with a more specific description of the expected value.
    fn str_or_type(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &'static str,
        expected: &str,
    ) -> Option<(&'a str, Span)> {
        let v = self.get(name)?;
        match v.get_ref().as_str() {
            Some(s) => Some((s, v.span())),
            None => {
                self.wrong_type(ctx, name, v, expected);
                None
            }
        }
    }

    /// A sub-table (`[agent]`, `[tenants]` …).
    pub fn table(&mut self, ctx: &mut Ctx<'_>, name: &'static str) -> Option<Table<'a, 'i>> {
        let v = self.get(name)?;
        match v.get_ref().as_table() {
            Some(t) => Some(Table::new(t, self.key(name), Some(v.span()))),
            None => {
                self.wrong_type(ctx, name, v, "a table");
                None
            }
        }
    }

    /// Every entry, in source order, for tables whose keys are names (`[tenants.*]`).
    pub fn entries(&self) -> Vec<(&'a str, Span, &'a Value<'i>)> {
        let mut all: Vec<_> = self
            .table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
            .collect();
        all.sort_by_key(|(_, span, _)| span.start);
        all
    }

    /// Reports every key that no accessor asked for.
    pub fn finish(self, ctx: &mut Ctx<'_>) {
        for (name, span, _) in self.entries() {
            if self.known.contains(&name) {
                continue;
            }
            let mut message = format!("unknown key `{name}`");
            match closest(name, &self.known) {
                Some(guess) => message.push_str(&format!(" (did you mean `{guess}`?)")),
                None if !self.known.is_empty() => {
                    message.push_str(&format!(" (expected one of: {})", self.known.join(", ")));
                }
                None => {}
            }
            ctx.report(&self.key(name), Some(&span), message);
        }
    }
}
