//! The record fields a filter can look at that the pipeline does not already pull out at
//! parse time (`UserType`, `UserId`, `EntityName`, `Message`), read from the raw JSON only
//! when a filter asks for them.
//!
//! A small scanner over the top-level members does it, borrowing the text: no allocation
//! (a serde struct would allocate serde_json's scratch stack for nested values), except to
//! unescape a wanted string value that contains JSON escapes. The text is a `RawValue`,
//! so it is known to be valid JSON; the scanner still never panics on anything else.

use std::borrow::Cow;

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

/// The lazily read fields of one record.
#[derive(Debug, Default)]
pub struct Extra<'a> {
    /// A number, or a string holding a number or a name (re-serialisations do that).
    pub user_type: Option<i64>,
    pub user_id: Option<Cow<'a, str>>,
    pub entity_name: Option<Cow<'a, str>>,
    /// Dynamics 365 SDK message (the access class is derived from it).
    pub message: Option<Cow<'a, str>>,
}

impl<'a> Extra<'a> {
    /// Reads the fields; a record that is not an object has none of them. A repeated key
    /// keeps its last value, as the encoders' view does.
    pub fn parse(raw: &'a str) -> Extra<'a> {
        let mut e = Extra::default();
        let _ = scan(raw, &mut e);
        e
    }
}

/// Walks the top-level members; `None` stops at anything unexpected.
fn scan<'a>(raw: &'a str, e: &mut Extra<'a>) -> Option<()> {
    let b = raw.as_bytes();
    let mut i = ws(b, 0);
    if *b.get(i)? != b'{' {
        return None;
    }
    i += 1;
    loop {
        i = ws(b, i);
        if *b.get(i)? != b'"' {
            return None; // `}` (empty object or trailing) or not JSON
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
        match key {
            "UserType" => e.user_type = number(value),
            "UserId" => e.user_id = text(value),
            "EntityName" => e.entity_name = text(value),
            "Message" => e.message = text(value),
            _ => {}
        }
        i = ws(b, end);
        if *b.get(i)? != b',' {
            return Some(());
        }
        i += 1;
    }
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

/// A JSON string's content, borrowed unless it has escapes.
fn text(v: &str) -> Option<Cow<'_, str>> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(v).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

fn number(v: &str) -> Option<i64> {
    match text(v) {
        Some(s) => user_type(&s),
        None => v.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_top_level_fields_borrowed() {
        let raw = r#" { "Id":"x", "Nested":{"UserType":1,"a":[{"UserId":"no"},"}]\"{"]},"UserType" : 4,
            "UserId":"svc@contoso.com","Fields":[[1],[{"b":null}]],"EntityName":"account","Message":"WhoAmI","Z":true}"#;
        let e = Extra::parse(raw);
        assert_eq!(e.user_type, Some(4));
        assert!(matches!(e.user_id, Some(Cow::Borrowed("svc@contoso.com"))));
        assert_eq!(e.entity_name.as_deref(), Some("account"));
        assert_eq!(e.message.as_deref(), Some("WhoAmI"));
    }

    #[test]
    fn tolerates_every_shape() {
        assert_eq!(Extra::parse(r#"{"UserType":"System"}"#).user_type, Some(4));
        assert_eq!(Extra::parse(r#"{"UserType":"7"}"#).user_type, Some(7));
        assert_eq!(Extra::parse(r#"{"UserType":null}"#).user_type, None);
        assert_eq!(Extra::parse(r#"{"UserType":2.5}"#).user_type, None);
        assert_eq!(
            Extra::parse(r#"{"UserType":1,"UserType":2}"#).user_type,
            Some(2)
        );
        assert_eq!(
            Extra::parse(r#"{"UserId":"a\u0040b\"c"}"#)
                .user_id
                .as_deref(),
            Some("a@b\"c")
        );
        assert_eq!(Extra::parse(r#"{"UserId":5}"#).user_id, None);
        assert_eq!(
            Extra::parse(r#"{"EntityName":"Zürich"}"#)
                .entity_name
                .as_deref(),
            Some("Zürich")
        );
        for odd in [
            "42",
            "[]",
            "{}",
            "",
            "{",
            r#"{"UserId""#,
            r#"{"a":[1,2"#,
            r#"{"a":"\"#,
        ] {
            let e = Extra::parse(odd);
            assert!(e.user_id.is_none() && e.user_type.is_none(), "{odd}");
        }
        // Fields before a broken tail are still read.
        assert_eq!(Extra::parse(r#"{"UserType":3,"x":"#).user_type, Some(3));
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(user_type("system"), Some(4));
        assert_eq!(user_type("ServicePrincipal"), Some(6));
        assert_eq!(user_type("8"), Some(8));
        assert_eq!(user_type("Robot"), None);
        assert_eq!(record_type("CRM"), Some(21));
        assert_eq!(record_type("azureactivedirectorystslogon"), Some(15));
        assert_eq!(record_type("21"), Some(21));
        assert_eq!(record_type("NoSuchType"), None);
    }
}
