//! One validating pass over a blob that splits it into records and indexes each record's
//! top-level members (key and value spans), so nothing downstream parses a record again:
//! the pipeline's fields, the filters and every format read values through the index.
//!
//! It accepts exactly what `serde_json` accepts for a blob of raw values (RFC 8259: UTF-8,
//! no control characters in strings, valid escapes, strict numbers, nothing after the
//! closing bracket); `fuzz/fuzz_targets/scan.rs` checks that against `serde_json` itself.

/// A top-level member of a record: byte ranges into the record's text. The key range is
/// the key's content without quotes; the value range is its exact JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub key_start: u32,
    pub key_end: u32,
    pub value_start: u32,
    pub value_end: u32,
}

impl Member {
    pub fn key<'a>(&self, text: &'a str) -> &'a str {
        &text[self.key_start as usize..self.key_end as usize]
    }

    pub fn value<'a>(&self, text: &'a str) -> &'a str {
        &text[self.value_start as usize..self.value_end as usize]
    }
}

/// One element of a blob: its byte range in the body, and where its members are when it
/// is an object whose keys are plain (no escapes) and unique; `None` otherwise, and
/// readers fall back to a full parse for such rare records.
#[derive(Debug)]
pub struct Element {
    pub start: usize,
    pub end: usize,
    pub index: Option<Index>,
}

/// Where an object's members are in its scan's member list, and a signature of its keys
/// ([`key_sig`] of each, or-ed): a lookup of an absent key usually ends on the signature,
/// without comparing a single key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub first: u32,
    pub len: u32,
    pub sig: u64,
}

impl Index {
    /// This object's members in `all`, the list of the scan that built the index.
    pub fn of(self, all: &[Member]) -> &[Member] {
        &all[self.first as usize..(self.first + self.len) as usize]
    }

    /// Whether `key` may be one of the keys (false: it certainly is not).
    #[inline]
    pub fn may_hold(self, key: &str) -> bool {
        self.sig & key_sig(key.as_bytes()) != 0
    }
}

/// One bit of 64 chosen by a key's length and first and last bytes.
#[inline]
pub fn key_sig(k: &[u8]) -> u64 {
    let first = u64::from(k.first().copied().unwrap_or(0));
    let last = u64::from(k.last().copied().unwrap_or(0));
    1u64 << ((k.len() as u64 ^ (first * 7) ^ (last * 13)) & 63)
}

/// The elements of an array and, in one list for all of them (one allocation per blob,
/// not per record), the members of those that are indexed.
#[derive(Debug, Default)]
pub struct Scan {
    pub elements: Vec<Element>,
    pub members: Vec<Member>,
}

impl Scan {
    /// The members of `e` (one of this scan's elements), when it is indexed.
    pub fn members(&self, e: &Element) -> Option<&[Member]> {
        e.index.map(|i| i.of(&self.members))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct ScanError {
    pub what: &'static str,
    pub at: usize,
}

/// Splits a blob (a JSON array) into its elements, validating all of it. Returns the body
/// as text (it is valid UTF-8 once this succeeds) with the elements' ranges.
pub fn scan_blob(body: &[u8]) -> Result<(&str, Scan), ScanError> {
    let text = std::str::from_utf8(body).map_err(|e| invalid_utf8(e.valid_up_to()))?;
    Ok((text, scan_array(text)?))
}

/// The error for a body that is not UTF-8 from byte `at` on.
pub fn invalid_utf8(at: usize) -> ScanError {
    ScanError {
        what: "invalid UTF-8",
        at,
    }
}

/// [`scan_blob`] for text that is already a `str` (an array inside a record): the same
/// validation and index, without checking the UTF-8 again.
pub fn scan_array(text: &str) -> Result<Scan, ScanError> {
    let mut s = Scanner::new(text.as_bytes());
    s.ws();
    s.expect(b'[', "expected `[` (a blob is a JSON array)")?;
    let mut out = Vec::new();
    // About 25 members to a kilobyte and a half of audit record.
    s.members.reserve(text.len() / 64);
    s.ws();
    if s.peek() == Some(b']') {
        s.i += 1;
    } else {
        loop {
            s.ws();
            let start = s.i;
            let index = s.element()?;
            out.push(Element {
                start,
                end: s.i,
                index,
            });
            s.ws();
            match s.next() {
                Some(b',') => continue,
                Some(b']') => break,
                _ => return Err(s.err_back("expected `,` or `]` after an element")),
            }
        }
    }
    s.ws();
    if s.i != text.len() {
        return Err(s.err("trailing characters after the blob"));
    }
    Ok(Scan {
        elements: out,
        members: s.members,
    })
}

/// The member whose key is `key`, in the index of `text` whose key signature is `sig`
/// ([`Index::sig`]). An absent key usually ends on the signature; otherwise lengths and
/// first bytes are compared before the bytes: encoders and filters run this lookup dozens
/// of times a record.
pub fn find_member(members: &[Member], sig: u64, text: &str, key: &str) -> Option<usize> {
    let (t, k) = (text.as_bytes(), key.as_bytes());
    if sig & key_sig(k) == 0 {
        return None;
    }
    members.iter().position(|m| {
        (m.key_end - m.key_start) as usize == k.len()
            && t.get(m.key_start as usize) == k.first()
            && &t[m.key_start as usize..m.key_end as usize] == k
    })
}

/// One scanned value: its start and end (surrounding whitespace excluded), and its index
/// when it is an object (as in [`Element::index`]) with its members.
#[derive(Debug)]
pub struct Scanned {
    pub start: usize,
    pub end: usize,
    pub index: Option<Index>,
    pub members: Vec<Member>,
}

/// Validates one JSON value (surrounding whitespace allowed) and indexes it when it is an
/// object.
pub fn scan_value(text: &str) -> Result<Scanned, ScanError> {
    let mut s = Scanner::new(text.as_bytes());
    s.ws();
    let start = s.i;
    let index = s.element()?;
    let end = s.i;
    s.ws();
    if s.i != text.len() {
        return Err(s.err("trailing characters after the value"));
    }
    Ok(Scanned {
        start,
        end,
        index,
        members: s.members,
    })
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    /// Open containers while skipping a value (`true` = object).
    stack: Vec<bool>,
    /// The members of every element indexed so far, in order.
    members: Vec<Member>,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

impl<'a> Scanner<'a> {
    fn new(b: &'a [u8]) -> Self {
        Scanner {
            b,
            i: 0,
            stack: Vec::new(),
            members: Vec::new(),
        }
    }

    fn err(&self, what: &'static str) -> ScanError {
        ScanError { what, at: self.i }
    }

    fn err_back(&self, what: &'static str) -> ScanError {
        ScanError {
            what,
            at: self.i.saturating_sub(1),
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), ScanError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    /// One element of the blob: an object is indexed member by member, anything else is
    /// skipped. Offsets in the index are relative to the element's start.
    fn element(&mut self) -> Result<Option<Index>, ScanError> {
        if self.peek() != Some(b'{') {
            self.value()?;
            return Ok(None);
        }
        let base = self.i;
        self.i += 1;
        let first = self.members.len();
        let mut plain = true;
        // The keys' signature; the duplicate check compares strings only when two keys
        // share a bit of it.
        let mut seen: u64 = 0;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Some(Index {
                first: first as u32,
                len: 0,
                sig: 0,
            }));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a key"));
            }
            let key_start = self.i + 1;
            let escaped = self.string()?;
            let key_end = self.i - 1;
            self.ws();
            self.expect(b':', "expected `:` after a key")?;
            self.ws();
            let value_start = self.i;
            self.value()?;
            let value_end = self.i;
            if plain && !escaped {
                let k = &self.b[key_start..key_end];
                let bit = key_sig(k);
                let dup = seen & bit != 0
                    && self.members[first..].iter().any(|m: &Member| {
                        &self.b[base + m.key_start as usize..base + m.key_end as usize] == k
                    });
                seen |= bit;
                if dup {
                    plain = false;
                } else {
                    self.members.push(Member {
                        key_start: (key_start - base) as u32,
                        key_end: (key_end - base) as u32,
                        value_start: (value_start - base) as u32,
                        value_end: (value_end - base) as u32,
                    });
                }
            } else {
                plain = false;
            }
            self.ws();
            match self.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(self.err_back("expected `,` or `}` in an object")),
            }
        }
        // Records over 4 GiB cannot be indexed with u32 offsets (nor sent by the API).
        if self.i - base > u32::MAX as usize || self.members.len() > u32::MAX as usize {
            plain = false;
        }
        if !plain {
            self.members.truncate(first);
            return Ok(None);
        }
        Ok(Some(Index {
            first: first as u32,
            len: (self.members.len() - first) as u32,
            sig: seen,
        }))
    }

    /// Skips one value of any kind, iteratively (nesting depth is not limited, as in
    /// `serde_json`'s raw values).
    fn value(&mut self) -> Result<(), ScanError> {
        self.stack.clear();
        loop {
            // At the start of a value.
            self.ws();
            match self.peek() {
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                    } else {
                        self.stack.push(true);
                        self.key_colon()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        self.stack.push(false);
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => return Err(self.err("expected a value")),
                None => return Err(self.err("unexpected end of input")),
            }
            // After a complete value: close containers or move to the next member.
            loop {
                let Some(&object) = self.stack.last() else {
                    return Ok(());
                };
                self.ws();
                match (self.next(), object) {
                    (Some(b','), true) => {
                        self.ws();
                        self.key_colon()?;
                        break;
                    }
                    (Some(b','), false) => break,
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        self.stack.pop();
                    }
                    (_, true) => return Err(self.err_back("expected `,` or `}` in an object")),
                    (_, false) => return Err(self.err_back("expected `,` or `]` in an array")),
                }
            }
        }
    }

    fn key_colon(&mut self) -> Result<(), ScanError> {
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a key"));
        }
        self.string()?;
        self.ws();
        self.expect(b':', "expected `:` after a key")
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), ScanError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), ScanError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.err("invalid number (leading zero)"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("invalid number (no digit after `.`)"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number (no digit in the exponent)"));
            }
        }
        Ok(())
    }

    /// Skips a string starting at its opening quote; true when it holds an escape.
    fn string(&mut self) -> Result<bool, ScanError> {
        self.i += 1;
        let mut escaped = false;
        loop {
            self.skip_plain();
            match self.next() {
                Some(b'"') => return Ok(escaped),
                Some(b'\\') => {
                    escaped = true;
                    match self.next() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        Some(b'u') => {
                            let hex = self.b.get(self.i..self.i + 4);
                            match hex {
                                Some(h) if h.iter().all(u8::is_ascii_hexdigit) => self.i += 4,
                                _ => return Err(self.err("invalid \\u escape")),
                            }
                        }
                        _ => return Err(self.err_back("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err_back("control character in a string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    /// Advances to the next `"`, `\` or control character, eight bytes at a time.
    #[inline]
    fn skip_plain(&mut self) {
        let b = self.b;
        let mut i = self.i;
        while i + 8 <= b.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            let x = u64::from_le_bytes(w);
            let q = x ^ (LO * u64::from(b'"'));
            let s = x ^ (LO * u64::from(b'\\'));
            // Each term flags its lowest matching byte exactly (higher flags may be
            // borrow artefacts), so the lowest flag overall is a real match.
            let m = (q.wrapping_sub(LO) & !q
                | s.wrapping_sub(LO) & !s
                | x.wrapping_sub(LO * 0x20) & !x)
                & HI;
            if m != 0 {
                self.i = i + (m.trailing_zeros() / 8) as usize;
                return;
            }
            i += 8;
        }
        while i < b.len() && !matches!(b[i], b'"' | b'\\' | 0..=0x1f) {
            i += 1;
        }
        self.i = i;
    }
}

#[cfg(test)]
mod tests;
