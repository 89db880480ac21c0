//! Value checks that need no context: GUIDs, names, endpoint URLs, spelling suggestions.

use url::{Host, Url};

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits of either case.
pub(super) fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Tenant and sink names end up in metrics labels, log fields and state keys, so they are
/// kept to `[A-Za-z0-9_-]+`.
pub(super) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks an `api_url` / `login_url` override. `https://` is required because the bearer
/// token (API) and the client secret (login) travel in these requests; plain `http://` is
/// only accepted to a loopback host, for the simulator and local test receivers. A path
/// prefix is kept; a query, fragment or credentials are refused.
pub(super) fn endpoint_url(s: &str) -> Result<Url, String> {
    let shown = redact_url(s);
    let url = Url::parse(s).map_err(|e| format!("{shown:?} is not a valid URL: {e}"))?;
    let host = match url.host() {
        Some(h) => h,
        None => return Err(format!("{shown:?} has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(format!(
                "plain http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); \
                 to {host} the bearer token and the client secret would travel in clear: use https://"
            ));
        }
        other => {
            return Err(format!(
                "unsupported scheme {other:?} in {shown:?} (expected https://)"
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain credentials (user:password@); use the client_secret keys".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{shown:?} must not have a query or fragment"));
    }
    Ok(url)
}

/// A URL as it may appear in a message: what could be a secret (the user and password
/// before `@`, the query and fragment, where API keys and signatures travel) replaced by
/// `***`. Works on text that does not parse as a URL too.
pub(crate) fn redact_url(s: &str) -> String {
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

pub(super) fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The known key closest to a misspelt one, if it is close enough to be a likely typo.
pub(super) fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, on characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b"));
        assert!(is_guid("0B4E5A2C-1F3D-4C5E-9A7B-8C9D0E1F2A3B"));
        assert!(!is_guid("0b4e5a2c1f3d4c5e9a7b8c9d0e1f2a3b"));
        assert!(!is_guid("0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3"));
        assert!(!is_guid("zb4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b"));
        assert!(!is_guid("contoso.onmicrosoft.com"));
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("contoso-eu_2"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("con toso"));
        assert!(!is_identifier("contoso.eu"));
    }

    #[test]
    fn urls() {
        assert!(endpoint_url("https://manage.office.com").is_ok());
        assert!(endpoint_url("http://127.0.0.1:8080").is_ok());
        assert!(endpoint_url("http://127.3.4.5").is_ok());
        assert!(endpoint_url("http://localhost:9000/prefix").is_ok());
        assert!(endpoint_url("http://[::1]:9000").is_ok());
        let e = endpoint_url("http://10.0.0.1").unwrap_err();
        assert!(e.contains("in clear"), "{e}");
        assert!(endpoint_url("http://localhost.example.com").is_err());
        assert!(endpoint_url("ftp://manage.office.com").is_err());
        assert!(endpoint_url("https://u:p@manage.office.com").is_err());
        assert!(endpoint_url("https://manage.office.com/?a=1").is_err());
        assert!(endpoint_url("manage.office.com").is_err());
        let kept = endpoint_url("https://proxy.example.com/o365/").unwrap();
        assert_eq!(kept.path(), "/o365/");
    }

    #[test]
    fn suggestions() {
        let known = ["poll_interval", "overlap", "state_dir"];
        assert_eq!(closest("poll_intervall", &known), Some("poll_interval"));
        assert_eq!(closest("statedir", &known), Some("state_dir"));
        assert_eq!(closest("colour", &known), None);
    }
}
