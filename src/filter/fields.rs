//! The record fields a filter can look at that the pipeline does not already pull out at
//! parse time (`UserType`, `UserId`, `EntityName`, `Message`), read from the raw JSON only
//! when a filter asks for them.
//!
//! A small scanner over the top-level members does it, borrowing the text: no allocation
//! (a serde struct would allocate serde_json's scratch stack for nested values). A string
//! with JSON escapes (`"NT AUTHORITY\\SYSTEM"`) is unescaped into a stack buffer when it is
//! matched. A record the blob scan indexed (almost all) is read through its index; the
//! scanner is for the rest, and never panics on anything.

use crate::record::Record;
use crate::record::scan::{Member, find_member};

/// `UserType` names as the API documents them, indexed by their number.
pub const USER_TYPES: [&str; 9] = [
    "Regular",
    "Reserved",
    "Admin",
    "DcAdmin",
    "System",
    "Application",
    "ServicePrincipal",
    "CustomPolicy",
    "SystemPolicy",
];

/// A `UserType` name (any case) or number.
pub fn user_type(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    USER_TYPES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .map(|i| i as i64)
}

/// A `RecordType` name (any case, the names of the API's table) or number.
pub fn record_type(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    (0..512).find(|n| {
        crate::record::classify::record_type_name(*n).is_some_and(|t| t.eq_ignore_ascii_case(s))
    })
}

/// The lazily read fields of one record: the members are scanned only as far as needed
/// to answer what is asked, at most once in all. The first occurrence of a key counts.
#[derive(Debug)]
pub struct Extra<'a> {
    raw: &'a str,
    /// The blob scan's index of the record's members and their key signature, when it has
    /// one: a key is then one lookup, without scanning the text.
    index: Option<(&'a [Member], u64)>,
    /// Where the next member starts; `None` once the scan is over.
    pos: Option<usize>,
    /// Bit per key found so far (`Key as u8`).
    found: u8,
    user_type: Option<i64>,
    user_id: Option<Text<'a>>,
    entity_name: Option<Text<'a>>,
    message: Option<Text<'a>>,
}

#[derive(Debug, Clone, Copy)]
enum Key {
    UserType = 1,
    UserId = 2,
    EntityName = 4,
    Message = 8,
}

impl<'a> Extra<'a> {
    /// Nothing is read yet; the record's member index is used when it has one.
    pub fn of(rec: &'a Record) -> Extra<'a> {
        let mut e = Extra::new(rec.raw.get());
        e.index = rec.members().zip(rec.index().map(|i| i.sig));
        e
    }

    /// Nothing is read yet. Text that is not an object has none of the fields.
    pub fn new(raw: &'a str) -> Extra<'a> {
        let b = raw.as_bytes();
        let i = ws(b, 0);
        Extra {
            raw,
            index: None,
            pos: (b.get(i) == Some(&b'{')).then_some(i + 1),
            found: 0,
            user_type: None,
            user_id: None,
            entity_name: None,
            message: None,
        }
    }

    /// `UserType`: a number, or a string holding a number or a name (re-serialisations).
    pub fn user_type(&mut self) -> Option<i64> {
        self.seek(Key::UserType);
        self.user_type
    }

    pub fn user_id(&mut self) -> Option<Text<'a>> {
        self.seek(Key::UserId);
        self.user_id
    }

    pub fn entity_name(&mut self) -> Option<Text<'a>> {
        self.seek(Key::EntityName);
        self.entity_name
    }

    /// Dynamics 365 SDK message (the access class is derived from it).
    pub fn message(&mut self) -> Option<Text<'a>> {
        self.seek(Key::Message);
        self.message
    }

    /// Scans on until `key` has been found or the members are exhausted.
    fn seek(&mut self, key: Key) {
        if let Some((members, sig)) = self.index {
            if self.found & key as u8 == 0 {
                self.found |= key as u8;
                let name = key.name();
                if let Some(i) = find_member(members, sig, self.raw, name) {
                    self.keep(key, members[i].value(self.raw));
                }
            }
            return;
        }
        while self.found & key as u8 == 0 {
            let Some(pos) = self.pos else { return };
            self.pos = self.member(pos);
        }
    }

    /// Reads the member at `i`, keeping it if wanted; where the next one starts.
    fn member(&mut self, i: usize) -> Option<usize> {
        let (raw, b) = (self.raw, self.raw.as_bytes());
        let mut i = ws(b, i);
        if *b.get(i)? != b'"' {
            return None; // `}` (the end) or not JSON
        }
        let key_end = string_end(b, i)?;
        let key = &raw[i + 1..key_end - 1];
        i = ws(b, key_end);
        if *b.get(i)? != b':' {
            return None;
        }
        i = ws(b, i + 1);
        let end = value_end(b, i)?;
        let value = &raw[i..end];
        let bit = match key {
            "UserType" => Key::UserType,
            "UserId" => Key::UserId,
            "EntityName" => Key::EntityName,
            "Message" => Key::Message,
            _ => return next(b, end),
        };
        if self.found & bit as u8 == 0 {
            self.found |= bit as u8;
            self.keep(bit, value);
        }
        next(b, end)
    }

    fn keep(&mut self, key: Key, value: &'a str) {
        match key {
            Key::UserType => self.user_type = number(value),
            Key::UserId => self.user_id = text(value),
            Key::EntityName => self.entity_name = text(value),
            Key::Message => self.message = text(value),
        }
    }
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::UserType => "UserType",
            Key::UserId => "UserId",
            Key::EntityName => "EntityName",
            Key::Message => "Message",
        }
    }
}

/// After a value: the start of the next member, or `None` at the end.
fn next(b: &[u8], end: usize) -> Option<usize> {
    let i = ws(b, end);
    (*b.get(i)? == b',').then_some(i + 1)
}

/// A JSON string value as it appears in the record (without its quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<'a> {
    raw: &'a str,
    escaped: bool,
}

/// Longest escaped value unescaped on the stack; longer ones (rare) go to the heap.
const STACK: usize = 512;

impl<'a> Text<'a> {
    /// Calls `f` with the string's value.
    pub fn with<R>(self, f: impl FnOnce(&str) -> R) -> R {
        if !self.escaped {
            return f(self.raw);
        }
        let mut buf = [0u8; STACK];
        match unescape(self.raw, &mut buf) {
            Some(s) => f(s),
            None => {
                let owned = serde_json::from_str::<String>(&format!("\"{}\"", self.raw));
                f(owned.as_deref().unwrap_or(self.raw))
            }
        }
    }

    /// Blank (empty or spaces), as far as the raw text shows.
    pub fn is_blank(self) -> bool {
        self.raw.trim().is_empty()
    }

    /// The value, owned (explanations only).
    pub fn to_owned_string(self) -> String {
        self.with(str::to_string)
    }
}

/// Decodes JSON string content into `buf`; `None` if it does not fit or is not valid.
fn unescape<'b>(s: &str, buf: &'b mut [u8; STACK]) -> Option<&'b str> {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] != b'\\' {
            *buf.get_mut(n)? = b[i];
            n += 1;
            i += 1;
            continue;
        }
        let c = match *b.get(i + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(b.get(i + 2..i + 6)?)?;
                i += 4;
                if (0xD800..0xDC00).contains(&hi) {
                    if b.get(i + 2..i + 4)? != b"\\u" {
                        return None;
                    }
                    let lo = hex4(b.get(i + 4..i + 8)?)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    i += 6;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            _ => return None,
        };
        i += 2;
        let len = c.len_utf8();
        c.encode_utf8(buf.get_mut(n..n + len)?);
        n += len;
    }
    std::str::from_utf8(&buf[..n]).ok()
}

fn hex4(b: &[u8]) -> Option<u32> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// `b[i]` is an opening quote; the index after the closing one.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The index after the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let (mut depth, mut j) = (0usize, i);
            loop {
                match *b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// A JSON string value, or `None` for any other JSON value.
fn text(v: &str) -> Option<Text<'_>> {
    let raw = v.strip_prefix('"')?.strip_suffix('"')?;
    Some(Text {
        raw,
        escaped: raw.contains('\\'),
    })
}

fn number(v: &str) -> Option<i64> {
    match text(v) {
        Some(t) => t.with(user_type),
        None => v.parse().ok(),
    }
}

#[cfg(test)]
mod tests;
