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

/// A JSON string, borrowed when it has no escapes.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// The top-level members of a record object, in document order. A repeated key keeps its
/// last value (as every JSON library we feed does).
#[derive(Debug, Default)]
pub struct Fields<'a> {
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Fields<'a> {
    /// Parses `raw`; `None` when it is not a JSON object.
    pub fn parse(raw: &'a str) -> Option<Fields<'a>> {
        let first = raw.bytes().find(|b| !b.is_ascii_whitespace());
        if first != Some(b'{') {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(raw);
        let fields = FieldsSeed.deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(fields)
    }

    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
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
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The string a raw JSON value holds, if it is a string.
pub fn raw_str(v: &RawValue) -> Option<Cow<'_, str>> {
    let t = v.get();
    if !t.starts_with('"') {
        return None;
    }
    serde_json::from_str::<Str>(t).ok().map(|s| s.0)
}

/// The value as text: a string's content, or a scalar's JSON text; `None` for null,
/// objects and arrays.
pub fn raw_scalar_text(v: &RawValue) -> Option<Cow<'_, str>> {
    let t = v.get();
    match t.as_bytes().first() {
        Some(b'"') => raw_str(v),
        Some(b'{') | Some(b'[') | None => None,
        _ if t == "null" => None,
        _ => Some(Cow::Borrowed(t)),
    }
}

/// True when the raw value is JSON `null`.
pub fn is_null(v: &RawValue) -> bool {
    v.get() == "null"
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
        let mut entries: Vec<(Cow<'de, str>, &'de RawValue)> =
            Vec::with_capacity(map.size_hint().unwrap_or(32));
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            if let Some(slot) = entries.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                entries.push((key, value));
            }
        }
        Ok(Fields { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_types_and_escaped_keys() {
        let raw = r#" {"B":1.50,"A":"x\"y","C\u0041":[1,{"z":null}],"D":null,"B":2} "#;
        let f = Fields::parse(raw).unwrap();
        let keys: Vec<&str> = f.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["B", "A", "CA", "D"]);
        assert_eq!(f.get("B").unwrap().get(), "2");
        assert_eq!(f.str("A").unwrap(), "x\"y");
        assert_eq!(f.get("CA").unwrap().get(), r#"[1,{"z":null}]"#);
        assert!(is_null(f.get("D").unwrap()));
        assert!(f.str("B").is_none());
        assert_eq!(raw_scalar_text(f.get("B").unwrap()).unwrap(), "2");
    }

    #[test]
    fn rejects_non_objects() {
        for raw in ["42", "[1]", "\"s\"", "null", "{\"a\":1} x", "{\"a\":"] {
            assert!(Fields::parse(raw).is_none(), "{raw}");
        }
    }
}
