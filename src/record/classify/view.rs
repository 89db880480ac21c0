//! A borrowed, top-level view of one record: each key with its value's exact JSON text.
//!
//! Encoders parse a record once into this view; values are only decoded when a mapping
//! needs them, and everything else is copied byte for byte, so JSON types and number
//! spellings survive unchanged.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::record::Record;
use std::rc::Rc;

use crate::record::scan::{Index, Member, find_member, scan_array, scan_value};

/// A JSON string, borrowed when it has no escapes.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// The exact text of one JSON value that is known to be valid (it was scanned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Json<'a>(&'a str);

impl<'a> Json<'a> {
    /// For text a scan has validated as one JSON value.
    pub(crate) fn from_trusted(text: &'a str) -> Json<'a> {
        Json(text)
    }

    pub fn get(self) -> &'a str {
        self.0
    }
}

impl<'a> From<&'a RawValue> for Json<'a> {
    fn from(v: &'a RawValue) -> Json<'a> {
        Json(v.get())
    }
}

/// The top-level members of a record object, in document order. A repeated key keeps its
/// last value (as every JSON library we feed does).
#[derive(Debug)]
pub struct Fields<'a> {
    repr: Repr<'a>,
}

#[derive(Debug)]
enum Repr<'a> {
    /// The scanner's index: plain, unique keys (the usual case), no copies.
    Index {
        text: &'a str,
        members: MemberList<'a>,
        /// The keys' signature ([`crate::record::scan::Index::sig`]).
        sig: u64,
    },
    /// Escaped or repeated keys: decoded by `serde_json`.
    Parsed(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Fields {
            repr: Repr::Parsed(Vec::new()),
        }
    }
}

impl<'a> Fields<'a> {
    /// Parses `raw`; `None` when it is not a JSON object.
    pub fn parse(raw: &'a str) -> Option<Fields<'a>> {
        let first = raw.bytes().find(|b| !b.is_ascii_whitespace());
        if first != Some(b'{') {
            return None;
        }
        let s = scan_value(raw).ok()?;
        match s.index {
            Some(i) => Some(Fields {
                repr: Repr::Index {
                    text: &raw[s.start..s.end],
                    members: MemberList::Owned(s.members),
                    sig: i.sig,
                },
            }),
            None => Self::parse_slow(&raw[s.start..s.end]),
        }
    }

    /// The view of a record, from the index its blob's scan built.
    pub fn of(rec: &'a Record) -> Option<Fields<'a>> {
        match (rec.members(), rec.index()) {
            (Some(members), Some(i)) => Some(Fields {
                repr: Repr::Index {
                    text: rec.raw.get(),
                    members: MemberList::Borrowed(members),
                    sig: i.sig,
                },
            }),
            _ => Self::parse_slow(rec.raw.get()),
        }
    }

    fn parse_slow(raw: &'a str) -> Option<Fields<'a>> {
        let first = raw.bytes().find(|b| !b.is_ascii_whitespace());
        if first != Some(b'{') {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(raw);
        let fields = FieldsSeed.deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(fields)
    }

    pub fn get(&self, key: &str) -> Option<Json<'a>> {
        let i = self.position(key)?;
        Some(match &self.repr {
            Repr::Index { text, members, .. } => Json(members[i].value(text)),
            Repr::Parsed(entries) => entries[i].1,
        })
    }

    /// The value of `key` when it is a JSON string.
    pub fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key).and_then(raw_str)
    }

    /// The value of `key` when it is a non-empty JSON string.
    pub fn nonempty(&self, key: &str) -> Option<Cow<'a, str>> {
        self.str(key).filter(|s| !s.trim().is_empty())
    }

    /// Members in document order.
    pub fn iter(&self) -> Members<'_, 'a> {
        Members {
            fields: self,
            next: 0,
        }
    }

    /// Whether every key is plain text (no escapes), so it can be written as it is.
    pub fn keys_are_plain(&self) -> bool {
        matches!(self.repr, Repr::Index { .. })
    }

    /// Where `key` is in [`Fields::iter`]'s order.
    pub fn position(&self, key: &str) -> Option<usize> {
        match &self.repr {
            Repr::Index { text, members, sig } => find_member(members, *sig, text, key),
            // A repeated key has one entry (its last value): see `visit_map`.
            Repr::Parsed(entries) => entries.iter().position(|(k, _)| k == key),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Index { members, .. } => members.len(),
            Repr::Parsed(entries) => entries.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a [`Fields`]' index is: the record's (borrowed from its blob), its own, or shared
/// by the elements of one array.
#[derive(Debug)]
enum MemberList<'a> {
    Borrowed(&'a [Member]),
    Owned(Vec<Member>),
    Shared(Rc<[Member]>, Index),
}

impl std::ops::Deref for MemberList<'_> {
    type Target = [Member];

    fn deref(&self) -> &[Member] {
        match self {
            MemberList::Borrowed(m) => m,
            MemberList::Owned(m) => m,
            MemberList::Shared(all, i) => i.of(all),
        }
    }
}

/// The members of a [`Fields`], in document order.
pub struct Members<'f, 'a> {
    fields: &'f Fields<'a>,
    next: usize,
}

impl<'f, 'a> Iterator for Members<'f, 'a> {
    type Item = (&'f str, Json<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next;
        self.next += 1;
        match &self.fields.repr {
            Repr::Index { text, members, .. } => {
                let m = members.get(i)?;
                Some((m.key(text), Json(m.value(text))))
            }
            Repr::Parsed(entries) => entries.get(i).map(|(k, v)| (k.as_ref(), *v)),
        }
    }
}

/// The elements of a JSON array, each with its view when it is an object; `None` when
/// the value is not an array. One scan, like a blob's.
pub fn array(v: Json<'_>) -> Option<Vec<(Json<'_>, Option<Fields<'_>>)>> {
    if !v.0.starts_with('[') {
        return None;
    }
    let text = v.0;
    let scan = scan_array(text).ok()?;
    // One list for all elements, shared (this was an allocation per element).
    let shared: Rc<[Member]> = scan.members.into();
    Some(
        scan.elements
            .iter()
            .map(|e| {
                let item = &text[e.start..e.end];
                let fields = match e.index {
                    Some(i) => Some(Fields {
                        repr: Repr::Index {
                            text: item,
                            members: MemberList::Shared(shared.clone(), i),
                            sig: i.sig,
                        },
                    }),
                    None => Fields::parse_slow(item),
                };
                (Json(item), fields)
            })
            .collect(),
    )
}

/// The string a raw JSON value holds, if it is a string.
pub fn raw_str<'a>(v: impl Into<Json<'a>>) -> Option<Cow<'a, str>> {
    let t = v.into().0;
    if !t.starts_with('"') {
        return None;
    }
    let inner = &t[1..t.len() - 1];
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<Str>(t).ok().map(|s| s.0)
}

/// The value as text: a string's content, or a scalar's JSON text; `None` for null,
/// objects and arrays.
pub fn raw_scalar_text<'a>(v: impl Into<Json<'a>>) -> Option<Cow<'a, str>> {
    let v = v.into();
    let t = v.0;
    match t.as_bytes().first() {
        Some(b'"') => raw_str(v),
        Some(b'{') | Some(b'[') | None => None,
        _ if t == "null" => None,
        _ => Some(Cow::Borrowed(t)),
    }
}

/// True when the raw value is JSON `null`.
pub fn is_null<'a>(v: impl Into<Json<'a>>) -> bool {
    v.into().0 == "null"
}

struct FieldsSeed;

impl<'de> FieldsSeed {
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields<'de>, D::Error> {
        d.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Json<'de>)> =
            Vec::with_capacity(map.size_hint().unwrap_or(32));
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let value = Json(map.next_value::<&'de RawValue>()?.get());
            if let Some(slot) = entries.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                entries.push((key, value));
            }
        }
        Ok(Fields {
            repr: Repr::Parsed(entries),
        })
    }
}

#[cfg(test)]
mod tests;
