//! User-agent parsing with uap-core's standard regexes (the `ua-parser` crate), as
//! Elastic's `user_agent` ingest processor does. The regexes are compiled once per process
//! (about a thousand of them); results are cached by user-agent text, since a tenant's
//! records carry few distinct user agents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// uap-core's `regexes.yaml` as bundled in the `ua-parser` crate, converted to JSON by
/// `scripts/uap-regexes`.
const REGEXES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/format/enrich/uap-regexes.json"
));

/// A cache of at most this many user agents (emptied when full: bounded memory).
const CACHE_ENTRIES: usize = 4096;
/// Longer user agents are parsed every time and not cached.
const CACHE_KEY_MAX: usize = 1024;

/// One parsed user agent, in ECS terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAgent {
    pub name: String,
    pub version: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub os_full: Option<String>,
    pub device: String,
}

pub struct Parser {
    extractor: ua_parser::Extractor<'static>,
    cache: Mutex<HashMap<Box<str>, Arc<UserAgent>>>,
}

/// The process-wide parser, compiled on first use.
pub fn parser() -> Result<&'static Parser, String> {
    static PARSER: OnceLock<Result<Parser, String>> = OnceLock::new();
    PARSER
        .get_or_init(|| {
            let regexes: ua_parser::Regexes<'static> = serde_json::from_str(REGEXES)
                .map_err(|e| format!("the bundled uap-core regexes do not load: {e}"))?;
            let extractor = ua_parser::Extractor::try_from(regexes)
                .map_err(|e| format!("the bundled uap-core regexes do not compile: {e}"))?;
            Ok(Parser {
                extractor,
                cache: Mutex::new(HashMap::new()),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn dotted<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    let mut out = String::new();
    for p in parts.into_iter().map_while(|p| p.filter(|s| !s.is_empty())) {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(p);
    }
    (!out.is_empty()).then_some(out)
}

impl Parser {
    pub fn parse(&self, ua: &str) -> Arc<UserAgent> {
        let cacheable = ua.len() <= CACHE_KEY_MAX;
        if cacheable && let Some(hit) = self.lock().get(ua) {
            return hit.clone();
        }
        let parsed = Arc::new(self.extract(ua));
        if cacheable {
            let mut cache = self.lock();
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(ua.into(), parsed.clone());
        }
        parsed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<UserAgent>>> {
        // A panic while holding the lock leaves a valid map: keep using it.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn extract(&self, ua: &str) -> UserAgent {
        let (agent, os, device) = self.extractor.extract(ua);
        let (name, version) = match agent {
            Some(a) => (a.family.into_owned(), dotted([a.major, a.minor, a.patch])),
            None => ("Other".to_string(), None),
        };
        let (os_name, os_version) = match os {
            Some(o) if o.os != "Other" => (
                Some(o.os.into_owned()),
                dotted([o.major.as_deref(), o.minor.as_deref(), o.patch.as_deref()]),
            ),
            _ => (None, None),
        };
        let os_full = os_name.as_ref().map(|n| match &os_version {
            Some(v) => format!("{n} {v}"),
            None => n.clone(),
        });
        UserAgent {
            name,
            version,
            os_name,
            os_version,
            os_full,
            device: device.map_or_else(|| "Other".to_string(), |d| d.device.into_owned()),
        }
    }
}

#[cfg(test)]
mod tests;
