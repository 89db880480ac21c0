//! Topic names: a literal, or a template resolved per record (`o365.{content_type}`).
//!
//! Parsed once at configuration time so a typo in a placeholder is a config error, not a
//! stream of records to a topic literally named `o365.{workload}`.

use std::fmt;

use crate::format::Origin;
use crate::record::Record;

/// Placeholders a topic template may use.
pub const PLACEHOLDERS: [&str; 5] = [
    "content_type",
    "workload",
    "record_type",
    "tenant",
    "tenant_id",
];

/// Kafka's limit on topic name length.
const MAX_LEN: usize = 249;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    ContentType,
    Workload,
    RecordType,
    Tenant,
    TenantId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicTemplate {
    parts: Vec<Part>,
    source: String,
}

impl fmt::Display for TopicTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl TopicTemplate {
    /// Parses `o365.{content_type}`; the error is a sentence for the config report.
    pub fn parse(s: &str) -> Result<TopicTemplate, String> {
        if s.is_empty() {
            return Err("is empty".into());
        }
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            let (text, after) = rest.split_at(open);
            if text.contains('}') {
                return Err(format!("unmatched `}}` in topic {s:?}"));
            }
            if !text.is_empty() {
                check_text(text, s)?;
                parts.push(Part::Text(text.to_string()));
            }
            let close = after
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` in topic {s:?}"))?;
            let name = &after[1..close];
            parts.push(match name {
                "content_type" => Part::ContentType,
                "workload" => Part::Workload,
                "record_type" => Part::RecordType,
                "tenant" => Part::Tenant,
                "tenant_id" => Part::TenantId,
                _ => {
                    return Err(format!(
                        "unknown placeholder {{{name}}} in topic {s:?} (known: {})",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ));
                }
            });
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("unmatched `}}` in topic {s:?}"));
        }
        if !rest.is_empty() {
            check_text(rest, s)?;
            parts.push(Part::Text(rest.to_string()));
        }
        if s.len() > MAX_LEN && parts.iter().all(|p| matches!(p, Part::Text(_))) {
            return Err(format!("topic names are at most {MAX_LEN} characters"));
        }
        Ok(TopicTemplate {
            parts,
            source: s.to_string(),
        })
    }

    /// The topic when the template has no placeholder (checked at start-up).
    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// Every topic the template can produce for these feeds, or `None` when it depends on record data (`{workload}`,
    /// `{record_type}`) and cannot be known in advance.
    pub fn enumerate(&self, feeds: &[crate::feed_id::FeedId]) -> Option<Vec<String>> {
        if self
            .parts
            .iter()
            .any(|p| matches!(p, Part::Workload | Part::RecordType))
        {
            return None;
        }
        let mut out: Vec<String> = Vec::new();
        for f in feeds {
            let mut t = String::new();
            for p in &self.parts {
                match p {
                    Part::Text(s) => t.push_str(s),
                    Part::ContentType => push_clean(&mut t, f.content_type.as_str()),
                    Part::Tenant => push_clean(&mut t, &f.tenant),
                    Part::TenantId => push_clean(&mut t, &f.tenant_id),
                    Part::Workload | Part::RecordType => {}
                }
            }
            t.truncate(MAX_LEN);
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Some(out)
    }

    /// The topic for one record. Characters Kafka does not allow in topic names become `_`,
    /// a missing field becomes `unknown`.
    pub fn render(&self, rec: &Record, origin: &Origin<'_>, out: &mut String) {
        out.clear();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::ContentType => push_clean(out, origin.content_type.as_str()),
                Part::Workload => push_clean(out, rec.workload().unwrap_or("unknown")),
                Part::RecordType => match rec.record_type {
                    Some(n) => out.push_str(&n.to_string()),
                    None => out.push_str("unknown"),
                },
                Part::Tenant => push_clean(out, origin.tenant),
                Part::TenantId => push_clean(out, origin.tenant_id),
            }
        }
        if out.len() > MAX_LEN {
            out.truncate(MAX_LEN);
        }
    }
}

fn legal(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fn check_text(text: &str, whole: &str) -> Result<(), String> {
    match text.chars().find(|c| !legal(*c)) {
        Some(c) => Err(format!(
            "character {c:?} is not allowed in a Kafka topic name ({whole:?}; allowed: letters, digits, `.`, `_`, `-`)"
        )),
        None => Ok(()),
    }
}

fn push_clean(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push_str("unknown");
        return;
    }
    out.extend(value.chars().map(|c| if legal(c) { c } else { '_' }));
}

#[cfg(test)]
mod tests;
