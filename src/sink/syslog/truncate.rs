//! Cutting a payload that does not fit, so that what arrives still parses as what it is and
//! says it was cut: JSON stays one valid object with `"o365fwd_truncated": <original bytes>`
//! added at the top level; CEF keeps its header and whole escapes and ends with the extension
//! `o365fwdTruncated=<original bytes>`; anything else ends with a readable marker.

use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Json,
    Cef,
    Text,
}

/// Appends `payload` cut to at most `budget` bytes, with a marker.
pub(super) fn truncate(payload: &[u8], budget: usize, kind: Kind, out: &mut Vec<u8>) {
    let done = match kind {
        Kind::Json => json(payload, budget, out),
        Kind::Cef => cef(payload, budget, out),
        Kind::Text => false,
    };
    if !done {
        text(payload, budget, out);
    }
}

fn is_char_boundary(p: &[u8], i: usize) -> bool {
    i >= p.len() || (p[i] as i8) >= -0x40
}

/// A JSON scanner that knows, byte by byte, where a prefix can be closed into valid JSON.
#[derive(Default)]
struct Scan {
    /// Closers of the open containers, outermost first.
    stack: Vec<u8>,
    in_str: bool,
    /// The string being read is a value (not an object key).
    value_str: bool,
    esc: bool,
    /// Hex digits of a `\uXXXX` escape still to come.
    hex: u8,
    expect_key: bool,
    top_has_members: bool,
}

/// Where a prefix can end: before byte `at`, closing a string first when `quote`.
#[derive(Clone, Copy)]
struct Cut {
    at: usize,
    quote: bool,
    comma: bool,
}

enum Step {
    Cut(Cut),
    Nothing,
    /// Not a JSON object, or its end.
    Stop,
}

impl Scan {
    /// Looks at byte `i` (`p[i]`) before consuming it, then consumes it.
    fn step(&mut self, p: &[u8], i: usize) -> Step {
        let b = p[i];
        if self.in_str {
            let mut cut = Step::Nothing;
            if self.value_str && !self.esc && self.hex == 0 && is_char_boundary(p, i) {
                cut = Step::Cut(Cut {
                    at: i,
                    quote: true,
                    comma: true,
                });
            }
            if self.hex > 0 {
                self.hex -= 1;
            } else if self.esc {
                self.esc = false;
                if b == b'u' {
                    self.hex = 4;
                }
            } else if b == b'\\' {
                self.esc = true;
            } else if b == b'"' {
                self.in_str = false;
            }
            return cut;
        }
        if self.stack.is_empty() && b != b'{' && !b.is_ascii_whitespace() {
            return Step::Stop;
        }
        match b {
            b'"' => {
                self.in_str = true;
                self.value_str = !self.expect_key;
                Step::Nothing
            }
            b'{' | b'[' => {
                if !self.stack.is_empty() {
                    self.top_has_members = true;
                }
                self.stack.push(if b == b'{' { b'}' } else { b']' });
                self.expect_key = b == b'{';
                let comma = self.top_has_members;
                Step::Cut(Cut {
                    at: i + 1,
                    quote: false,
                    comma,
                })
            }
            b'}' | b']' => {
                self.stack.pop();
                self.expect_key = false;
                if self.stack.is_empty() {
                    Step::Stop
                } else {
                    Step::Nothing
                }
            }
            b',' if !self.stack.is_empty() => {
                if self.stack.len() == 1 {
                    self.top_has_members = true;
                }
                self.expect_key = self.stack.last() == Some(&b'}');
                Step::Cut(Cut {
                    at: i,
                    quote: false,
                    comma: self.top_has_members,
                })
            }
            b':' => {
                self.expect_key = false;
                Step::Nothing
            }
            _ => Step::Nothing,
        }
    }
}

fn json(p: &[u8], budget: usize, out: &mut Vec<u8>) -> bool {
    let marker = format!("\"o365fwd_truncated\":{}}}", p.len());
    let mut scan = Scan::default();
    let mut best: Option<Cut> = None;
    for i in 0..p.len() {
        if i > budget {
            break;
        }
        let depth = scan.stack.len();
        match scan.step(p, i) {
            Step::Stop => break,
            Step::Nothing => {}
            Step::Cut(c) => {
                // Containers open once the byte is consumed (for `{`/`[`), else as before it.
                let open = if c.quote { depth } else { scan.stack.len() };
                let cost = c.at
                    + usize::from(c.quote)
                    + open.saturating_sub(1)
                    + usize::from(c.comma)
                    + marker.len();
                if cost <= budget {
                    best = Some(c);
                }
            }
        }
    }
    let Some(cut) = best else {
        return false;
    };
    // The containers open at the cut, from a second pass over the prefix.
    let mut again = Scan::default();
    for i in 0..cut.at {
        again.step(p, i);
    }
    out.extend_from_slice(&p[..cut.at]);
    if cut.quote {
        out.push(b'"');
    }
    out.extend(again.stack.iter().skip(1).rev());
    if cut.comma {
        out.push(b',');
    }
    out.extend_from_slice(marker.as_bytes());
    true
}

/// Where the CEF extension starts: after the seventh unescaped `|`.
fn cef_ext_start(p: &[u8]) -> Option<usize> {
    if !p.starts_with(b"CEF:") {
        return None;
    }
    let mut pipes = 0;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' => i += 1,
            b'|' => {
                pipes += 1;
                if pipes == 7 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn cef(p: &[u8], budget: usize, out: &mut Vec<u8>) -> bool {
    let Some(ext) = cef_ext_start(p) else {
        return false;
    };
    let marker = format!("o365fwdTruncated={}", p.len());
    let Some(room) = budget.checked_sub(marker.len() + 1) else {
        return false;
    };
    if room < ext {
        return false;
    }
    let mut cut = room.min(p.len());
    while cut > ext && !is_char_boundary(p, cut) {
        cut -= 1;
    }
    // Never end inside an escape (`\\`, `\=`, `\n`): an odd run of backslashes would escape
    // the space before the marker.
    let backslashes = p[ext..cut]
        .iter()
        .rev()
        .take_while(|b| **b == b'\\')
        .count();
    if backslashes % 2 == 1 {
        cut -= 1;
    }
    // What follows the last key's `=` is its value; if it holds a space, the text after the
    // space may be half a key: end at the space instead.
    let mut value_start = ext;
    let mut i = ext;
    while i < cut {
        match p[i] {
            b'\\' => i += 1,
            b'=' => value_start = i + 1,
            _ => {}
        }
        i += 1;
    }
    if let Some(sp) = p[value_start..cut].iter().rposition(|b| *b == b' ') {
        cut = value_start + sp;
    }
    while cut > ext && p[cut - 1] == b' ' {
        cut -= 1;
    }
    out.extend_from_slice(&p[..cut]);
    if cut > ext {
        out.push(b' ');
    }
    out.extend_from_slice(marker.as_bytes());
    true
}

fn text(p: &[u8], budget: usize, out: &mut Vec<u8>) {
    let mut marker = Vec::new();
    let _ = write!(marker, " [o365fwd: truncated from {} bytes]", p.len());
    let room = budget.checked_sub(marker.len());
    let mut cut = room.unwrap_or(budget).min(p.len());
    while cut > 0 && !is_char_boundary(p, cut) {
        cut -= 1;
    }
    out.extend_from_slice(&p[..cut]);
    if room.is_some() {
        out.extend_from_slice(&marker);
    }
}

#[cfg(test)]
mod tests;
