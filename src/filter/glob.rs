//! Value patterns: exact, prefix (`Retrieve*`) or glob (`*` any run, `?` one character),
//! matched ASCII-case-insensitively and without allocating.

/// A compiled pattern. The common shapes (exact, prefix, match-all) skip the glob loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: Box<str>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    /// `text` ends with its only `*`.
    Prefix,
    Any,
    Glob,
}

impl Pattern {
    /// Compiles a pattern; the error says why it is not one (for a config problem).
    pub fn new(text: &str) -> Result<Pattern, String> {
        if text.trim().is_empty() {
            return Err("an empty pattern matches nothing".into());
        }
        if let Some(c) = text
            .chars()
            .find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\'))
        {
            return Err(format!(
                "{text:?}: {c:?} is not supported in patterns (only `*` for any run of characters and `?` for one character)"
            ));
        }
        let stars = text.matches('*').count();
        let kind = if text.bytes().all(|b| b == b'*') {
            Kind::Any
        } else if !text.contains('?') && stars == 0 {
            Kind::Exact
        } else if !text.contains('?') && stars == 1 && text.ends_with('*') {
            Kind::Prefix
        } else {
            Kind::Glob
        };
        Ok(Pattern {
            text: text.into(),
            kind,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, s: &str) -> bool {
        let p = self.text.as_bytes();
        let s = s.as_bytes();
        match self.kind {
            Kind::Any => true,
            Kind::Exact => p.eq_ignore_ascii_case(s),
            Kind::Prefix => {
                let p = &p[..p.len() - 1];
                s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p)
            }
            Kind::Glob => glob(p, s),
        }
    }
}

/// Iterative wildcard matching with one backtrack point (the last `*`): linear in practice,
/// O(p·s) at worst, no recursion and no allocation. `?` consumes one UTF-8 character.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some(b'?') => {
                pi += 1;
                si += char_len(s[si]);
                continue;
            }
            Some(c) if c.eq_ignore_ascii_case(&s[si]) => {
                pi += 1;
                si += 1;
                continue;
            }
            _ => {}
        }
        match star {
            // Let the last `*` swallow one more character and retry from there.
            Some((sp, ss)) => {
                let next = ss + char_len(s[ss]);
                star = Some((sp, next));
                pi = sp + 1;
                si = next;
            }
            None => return false,
        }
    }
    p[pi.min(p.len())..].iter().all(|&b| b == b'*')
}

/// Bytes in the UTF-8 character starting with `b` (1 for a stray continuation byte).
fn char_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests;
