//! `ClientIP` and friends: the forms the API sends, read the way Elastic's pipeline reads
//! them (`ip`, `[ip]`, `ip:port`, `[ip]:port`, `host`, `host:port`, `[host]:port`,
//! `host (ip)`, IPv4-mapped IPv6), anything else kept as an address string.

use std::net::IpAddr;

/// What a client-address string says. `address` is set for IP forms and for text that is
/// not recognisable (as Elastic does); `domain` for host-name forms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddr {
    pub address: Option<String>,
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
    pub domain: Option<String>,
}

impl ClientAddr {
    /// The IP as text, without formatting it again (`address` holds it whenever `ip` is
    /// set).
    pub fn ip_text(&self) -> Option<&str> {
        self.ip.and(self.address.as_deref())
    }
}

fn ip(s: &str) -> Option<IpAddr> {
    let ip: IpAddr = s.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    })
}

fn port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|p| *p > 0)
}

/// `text` is what `ip` was parsed from: an IPv4 address read straight from text is already
/// in its canonical form (Rust's parser refuses leading zeros), so it is kept instead of
/// formatting the address again; IPv6 is formatted (compressed, lower case).
fn with_ip(ip: IpAddr, port: Option<u16>, text: &str) -> ClientAddr {
    let canonical_v4 = ip.is_ipv4() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    ClientAddr {
        address: Some(if canonical_v4 {
            text.to_string()
        } else {
            ip.to_string()
        }),
        ip: Some(ip),
        port,
        domain: None,
    }
}

/// Parses a client address; `None` for empty text.
pub fn parse_client(s: &str) -> Option<ClientAddr> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(ip) = ip(s) {
        return Some(with_ip(ip, None, s));
    }
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((inner, after)) = rest.split_once(']') {
            let p = match after {
                "" => None,
                a => match a.strip_prefix(':').and_then(port) {
                    Some(p) => Some(p),
                    None => return Some(garbage(s)),
                },
            };
            if let Some(ip) = ip(inner) {
                return Some(with_ip(ip, p, inner));
            }
            if let Some(hi) = host_and_ip(inner) {
                return Some(hi);
            }
            if p.is_some() && !inner.is_empty() && !inner.contains(char::is_whitespace) {
                return Some(ClientAddr {
                    domain: Some(inner.to_string()),
                    port: p,
                    ..ClientAddr::default()
                });
            }
        }
        return Some(garbage(s));
    }
    if let Some((host, p)) = s.rsplit_once(':')
        && !host.contains(':')
        && let Some(p) = port(p)
    {
        if let Some(ip) = ip(host) {
            return Some(with_ip(ip, Some(p), host));
        }
        if !host.is_empty() && !host.contains(char::is_whitespace) {
            return Some(ClientAddr {
                domain: Some(host.to_string()),
                port: Some(p),
                ..ClientAddr::default()
            });
        }
    }
    if let Some(hi) = host_and_ip(s) {
        return Some(hi);
    }
    if !s.contains(char::is_whitespace) {
        return Some(ClientAddr {
            domain: Some(s.to_string()),
            ..ClientAddr::default()
        });
    }
    Some(garbage(s))
}

/// `host (ip)`.
fn host_and_ip(s: &str) -> Option<ClientAddr> {
    let inner = s.strip_suffix(')')?;
    let (host, addr) = inner.split_once(" (")?;
    if host.is_empty() || host.contains(char::is_whitespace) || addr.contains(')') {
        return None;
    }
    let ip = ip(addr);
    Some(ClientAddr {
        address: Some(
            ip.map(|i| i.to_string())
                .unwrap_or_else(|| addr.to_string()),
        ),
        ip,
        port: None,
        domain: Some(host.to_string()),
    })
}

fn garbage(s: &str) -> ClientAddr {
    ClientAddr {
        address: Some(s.to_string()),
        ..ClientAddr::default()
    }
}

#[cfg(test)]
mod tests;
