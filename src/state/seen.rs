//! The set of record ids a feed has delivered (or has in flight) within the de-duplication
//! horizon. Kept in memory, exact, and persisted as one packed chunk per feed per commit, so
//! a record costs 17 bytes on disk and no database lookup.
//!
//! Ids in the canonical lower-case GUID form (what the API sends) are held as `u128`; any
//! other id is held as its string. Two different strings never compare equal.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Record ids are random v4 GUIDs chosen by Microsoft, so their bits are already uniform:
/// folding them is as good a hash as SipHash and far cheaper (SipHash was 2.7 % of the
/// agent's CPU on a backlog).
#[derive(Default)]
struct GuidHasher(u64);

impl Hasher for GuidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A GUID as four words: 4-byte alignment makes a table entry (id and time) 20 bytes
/// where a `u128` key made it 32, and the set is most of the agent's memory on a backlog
/// (2 M ids after a 7-day catch-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Guid([u32; 4]);

impl From<u128> for Guid {
    fn from(v: u128) -> Guid {
        Guid([
            (v >> 96) as u32,
            (v >> 64) as u32,
            (v >> 32) as u32,
            v as u32,
        ])
    }
}

impl std::hash::Hash for Guid {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let [a, b, c, d] = self.0.map(u64::from);
        h.write_u64(((a << 32) | b) ^ ((c << 32) | d));
    }
}

/// A seen id and when it was first seen (unix seconds).
#[derive(Debug, Default)]
pub struct SeenSet {
    guids: HashMap<Guid, u32, BuildHasherDefault<GuidHasher>>,
    others: HashMap<Box<str>, u32>,
}

/// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower case only, so the mapping from
/// string to number is one-to-one.
pub fn guid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | d as u128;
    }
    Some(v)
}

impl SeenSet {
    /// Adds an id; false if it was already there.
    pub fn insert(&mut self, id: &str, at: u32) -> bool {
        match guid(id) {
            Some(g) => match self.guids.entry(g.into()) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(at);
                    true
                }
            },
            None => {
                if self.others.contains_key(id) {
                    return false;
                }
                self.others.insert(id.into(), at);
                true
            }
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        match guid(id) {
            Some(g) => self.guids.contains_key(&g.into()),
            None => self.others.contains_key(id),
        }
    }

    pub fn len(&self) -> usize {
        self.guids.len() + self.others.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets ids first seen before `cutoff` (unix seconds).
    pub fn prune(&mut self, cutoff: u32) {
        self.guids.retain(|_, t| *t >= cutoff);
        self.others.retain(|_, t| *t >= cutoff);
        self.guids.shrink_to_fit();
        self.others.shrink_to_fit();
    }
}

/// Packs ids for storage: `0` + 16 bytes for a GUID, `1` + u16 length + bytes otherwise.
pub fn encode<'a>(ids: impl Iterator<Item = &'a str>, out: &mut Vec<u8>) {
    for id in ids {
        match guid(id) {
            Some(g) => {
                out.push(0);
                out.extend_from_slice(&g.to_be_bytes());
            }
            None => {
                let b = &id.as_bytes()[..id.len().min(u16::MAX as usize)];
                out.push(1);
                out.extend_from_slice(&(b.len() as u16).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }
}

/// Record ids packed as a stored chunk holds them, appended as batches commit: the commit
/// path no longer copies each id into its own string first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PackedIds(Vec<u8>);

impl PackedIds {
    pub fn push(&mut self, id: &str) {
        encode(std::iter::once(id), &mut self.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl<'a> Extend<&'a str> for PackedIds {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, ids: I) {
        encode(ids.into_iter(), &mut self.0);
    }
}

impl<'a> FromIterator<&'a str> for PackedIds {
    fn from_iter<I: IntoIterator<Item = &'a str>>(ids: I) -> Self {
        let mut p = PackedIds::default();
        p.extend(ids);
        p
    }
}

/// Adds every id of a stored chunk to `set`; false if the chunk is damaged.
pub fn decode_into(mut b: &[u8], at: u32, set: &mut SeenSet) -> bool {
    while let Some((&tag, rest)) = b.split_first() {
        match tag {
            0 if rest.len() >= 16 => {
                let mut g = [0u8; 16];
                g.copy_from_slice(&rest[..16]);
                set.guids.entry(u128::from_be_bytes(g).into()).or_insert(at);
                b = &rest[16..];
            }
            1 if rest.len() >= 2 => {
                let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
                let Some(s) = rest.get(2..2 + n) else {
                    return false;
                };
                set.others
                    .entry(String::from_utf8_lossy(s).into())
                    .or_insert(at);
                b = &rest[2 + n..];
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_exact_and_other_ids_kept_as_strings() {
        let g = "80c76bd2-9d81-4c57-a97a-accfc3443dca";
        assert!(guid(g).is_some());
        assert!(
            guid(&g.to_uppercase()).is_none(),
            "upper case is another string"
        );
        assert!(guid("80c76bd2x9d81-4c57-a97a-accfc3443dca").is_none());
        let mut s = SeenSet::default();
        assert!(s.insert(g, 10));
        assert!(!s.insert(g, 11));
        assert!(
            s.insert(&g.to_uppercase(), 10),
            "different string, different id"
        );
        assert!(s.insert("blob$1#3", 12));
        assert!(s.contains("blob$1#3") && !s.contains("blob$1#4"));
        let mut buf = Vec::new();
        encode([g, "blob$1#3", "ünïcode"].into_iter(), &mut buf);
        assert_eq!(buf.len(), 17 + 3 + 8 + 3 + 9);
        let mut t = SeenSet::default();
        assert!(decode_into(&buf, 5, &mut t));
        assert!(t.contains(g) && t.contains("blob$1#3") && t.contains("ünïcode"));
        assert!(!decode_into(
            &buf[..buf.len() - 1],
            5,
            &mut SeenSet::default()
        ));
        s.prune(11);
        assert!(!s.contains(g) && s.contains("blob$1#3"));
    }
}
