//! CEF escaping and length limits. Header fields and extension values escape differently
//! (ArcSight CEF spec): header `\` and `|`, CR/LF become spaces; extension values `\`,
//! `=`, and CR/LF as `\r`/`\n`. Limits count characters; a value over its limit is cut and
//! ends with `…`, before escaping, so an escape sequence is never split.

/// The mark that ends a truncated value.
pub const TRUNCATION_MARK: char = '…';

/// `s` cut to `limit` characters, the last one being [`TRUNCATION_MARK`] when cut.
pub fn truncate(s: &str, limit: usize) -> (&str, bool) {
    match s.char_indices().nth(limit) {
        None => (s, false),
        Some(_) => {
            let keep = limit.saturating_sub(1);
            let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
            (&s[..end], true)
        }
    }
}

/// Appends a header field.
pub fn header(out: &mut Vec<u8>, s: &str, limit: usize) {
    let (s, cut) = truncate(s, limit);
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep: &[u8] = match b {
            b'\\' => b"\\\\",
            b'|' => b"\\|",
            b'\r' | b'\n' => b" ",
            _ => continue,
        };
        out.extend_from_slice(&s.as_bytes()[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&s.as_bytes()[start..]);
    if cut {
        push_mark(out);
    }
}

/// Appends an extension value.
pub fn ext_value(out: &mut Vec<u8>, s: &str, limit: usize) {
    let (s, cut) = truncate(s, limit);
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep: &[u8] = match b {
            b'\\' => b"\\\\",
            b'=' => b"\\=",
            b'\r' => b"\\r",
            b'\n' => b"\\n",
            _ => continue,
        };
        out.extend_from_slice(&s.as_bytes()[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&s.as_bytes()[start..]);
    if cut {
        push_mark(out);
    }
}

fn push_mark(out: &mut Vec<u8>) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(TRUNCATION_MARK.encode_utf8(&mut buf).as_bytes());
}

/// A valid extension key: one word of ASCII letters and digits.
pub fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Maximum length, in characters, of an extension value (ArcSight dictionary).
pub fn ext_limit(key: &str) -> usize {
    match key {
        "externalId" => 40,
        "act" | "outcome" => 63,
        "app" | "proto" => 31,
        "dvchost" => 100,
        "deviceExternalId" | "fileHash" | "dtz" => 255,
        "cs1" | "cs2" | "cs3" | "cs4" | "cs5" | "cs6" => 4000,
        _ => 1023,
    }
}

#[cfg(test)]
mod tests;
