//! A minimal JSON object writer that appends straight into the output buffer.

use std::fmt::Display;
use std::io::Write;

/// Appends `s` as a JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // Fast path: most keys and values need no escaping at all.
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // Writing into a Vec cannot fail, and serializing a &str has no other error path.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Whether JSON needs an escape for any byte (`"`, `\\`, control characters); eight
/// bytes at a time, since this scan is the encoder's hottest loop.
fn needs_escape(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI != 0;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        // A byte < 0x20 leaves its high bit set after subtracting 0x20 only if it was
        // below 0x20 and had no high bit of its own.
        let ctrl = x.wrapping_sub(LO * 0x20) & !x & HI != 0;
        if ctrl || has_zero(x ^ (LO * u64::from(b'"'))) || has_zero(x ^ (LO * u64::from(b'\\'))) {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&c| c == b'"' || c == b'\\' || c < 0x20)
}

/// An open JSON object; members are written in call order. Call [`Obj::end`] to close it.
pub struct Obj<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Obj<'o> {
    pub fn new(out: &'o mut Vec<u8>) -> Obj<'o> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Writes `"k":` for a key from the data (escaped as needed); returns the buffer for
    /// the value.
    pub fn dkey(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_str(self.out, k);
        self.out.push(b':');
        self.out
    }

    /// Writes `"k":` for one of our own literal keys, which never need escaping (checked
    /// in debug builds); this skips the escape scan on the hot path.
    pub fn key(&mut self, k: &'static str) -> &mut Vec<u8> {
        debug_assert!(!needs_escape(k.as_bytes()));
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.reserve(k.len() + 3);
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// A member whose key is known to need no escaping (a key the scanner read without
    /// escapes) and whose value is already JSON text.
    pub fn draw_plain(&mut self, k: &str, json: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.reserve(k.len() + json.len() + 4);
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out.extend_from_slice(json.as_bytes());
    }

    /// A member with a key from the data and a value that is already JSON text.
    pub fn draw(&mut self, k: &str, json: &str) {
        self.dkey(k).extend_from_slice(json.as_bytes());
    }

    /// A nested object under a key from the data.
    pub fn dobj(&mut self, k: &str) -> Obj<'_> {
        let out = self.dkey(k);
        Obj::new(out)
    }

    pub fn str(&mut self, k: &'static str, v: &str) {
        let out = self.key(k);
        write_str(out, v);
    }

    pub fn opt_str(&mut self, k: &'static str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }

    /// A value that is already JSON text.
    pub fn raw(&mut self, k: &'static str, json: &str) {
        self.key(k).extend_from_slice(json.as_bytes());
    }

    pub fn num(&mut self, k: &'static str, v: impl Display) {
        let out = self.key(k);
        let _ = write!(out, "{v}");
    }

    pub fn bool(&mut self, k: &'static str, v: bool) {
        self.raw(k, if v { "true" } else { "false" });
    }

    pub fn strs<'s>(&mut self, k: &'static str, vs: impl IntoIterator<Item = &'s str>) {
        let out = self.key(k);
        out.push(b'[');
        for (i, v) in vs.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, v);
        }
        out.push(b']');
    }

    /// Opens a nested object under `k`.
    pub fn obj(&mut self, k: &'static str) -> Obj<'_> {
        let out = self.key(k);
        Obj::new(out)
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests;
