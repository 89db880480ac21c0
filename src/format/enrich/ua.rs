//! User-agent parsing with uap-core's standard regexes (the `ua-parser` crate), as
//! Elastic's `user_agent` ingest processor does. The regexes are compiled once per process
//! (about a thousand of them); results are cached by user-agent text, since a tenant's
//! records carry few distinct user agents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// uap-core's `regexes.yaml` as bundled in the `ua-parser` crate, converted to JSON by
/// `scripts/uap-regexes`.
const REGEXES: &str = include_str!("uap-regexes.json");

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
mod tests {
    use super::*;

    #[test]
    fn real_browsers_and_office_clients() {
        let p = parser().unwrap();
        let chrome = p.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.130 Safari/537.36");
        assert_eq!(chrome.name, "Chrome");
        assert_eq!(chrome.version.as_deref(), Some("120.0.6099"));
        assert_eq!(chrome.os_name.as_deref(), Some("Windows"));
        assert_eq!(chrome.os_full.as_deref(), Some("Windows 10"));
        let firefox = p.parse(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.14; rv:72.0) Gecko/20100101 Firefox/72.0",
        );
        assert_eq!(firefox.name, "Firefox");
        assert_eq!(firefox.version.as_deref(), Some("72.0"));
        assert_eq!(firefox.os_full.as_deref(), Some("Mac OS X 10.14"));
        assert_eq!(firefox.device, "Mac");
        let edge = p.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0");
        assert_eq!(edge.name, "Edge");
        let iphone = p.parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1");
        assert_eq!(iphone.name, "Mobile Safari");
        assert_eq!(iphone.os_name.as_deref(), Some("iOS"));
        assert_eq!(iphone.device, "iPhone");
        let outlook =
            p.parse("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)");
        assert_eq!(outlook.name, "Outlook");
        assert_eq!(outlook.os_name.as_deref(), Some("Windows"));
        let unknown = p.parse("python-requests/2.31.0");
        assert_eq!(unknown.name, "Python Requests");
        let nothing = p.parse("x");
        assert_eq!(
            (nothing.name.as_str(), nothing.device.as_str()),
            ("Other", "Other")
        );
        assert!(nothing.os_name.is_none());
        // The cache answers the same value.
        assert_eq!(p.parse("x"), nothing);
    }
}
