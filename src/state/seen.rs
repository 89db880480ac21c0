//! Record ids as de-duplication keeps them: filed by the record's own time (`CreationTime`)
//! in buckets of ten minutes, in memory ([`IdMap`]) and on disk (chunks, see
//! `seen_store`). The rule that decides what is looked up where is in `dedup`.
//!
//! Ids in the canonical lower-case GUID form (what the API sends) are held as 128-bit
//! numbers; any other id is held as its string. Two different strings never compare equal,
//! and nothing is hashed or truncated: a match is always the same id.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Utc};

/// Width of a time bucket: the unit in which ids are loaded, evicted, compacted and pruned.
pub const BUCKET_SECS: i64 = 600;
/// GUIDs per stored chunk (4 KiB): sled rewrites a leaf of up to 16 entries whole every
/// few changes, so small values keep that cheap, and a lookup reads one such chunk.
pub const CHUNK_GUIDS: usize = 256;
/// How far after its blob's `contentCreated` a record's time is believed: a record claiming
/// to be from further in the future is filed at this limit, so a bogus clock cannot pin
/// memory or state forever.
pub const MAX_AHEAD: chrono::Duration = chrono::Duration::days(1);

/// The bucket of an instant (times before 1970 fall into bucket 0).
pub fn bucket_of(t: DateTime<Utc>) -> u32 {
    (t.timestamp().max(0) / BUCKET_SECS).min(u32::MAX as i64) as u32
}

/// Where bucket `b` starts.
pub fn bucket_start(b: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(b) * BUCKET_SECS, 0).unwrap_or_default()
}

/// How many whole buckets a duration spans, rounded up.
pub fn buckets_in(d: chrono::Duration) -> u32 {
    let s = d.num_seconds().max(0);
    (s.saturating_add(BUCKET_SECS - 1) / BUCKET_SECS).min(u32::MAX as i64) as u32
}

/// The bucket a record is filed under: its `CreationTime`, at most [`MAX_AHEAD`] after
/// `reference` (its blob's `contentCreated`); a record without a usable `CreationTime` is
/// filed at `reference`. Claim and commit compute it from the same inputs, so they agree.
pub fn record_bucket(creation: Option<DateTime<Utc>>, reference: DateTime<Utc>) -> u32 {
    let limit = reference.checked_add_signed(MAX_AHEAD).unwrap_or(reference);
    bucket_of(creation.map_or(reference, |t| t.min(limit)))
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

/// A record id, parsed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id<'a> {
    Guid(u128),
    Other(&'a str),
}

impl<'a> Id<'a> {
    pub fn parse(s: &'a str) -> Id<'a> {
        guid(s).map_or(Id::Other(s), Id::Guid)
    }
}

/// Record ids are random v4 GUIDs chosen by Microsoft, so their bits are already uniform:
/// folding them is as good a hash as SipHash and far cheaper.
#[derive(Default)]
pub struct GuidHasher(u64);

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

/// A GUID as four words: 4-byte alignment keeps a table entry at 16 bytes (plus the
/// value), where a `u128` key is aligned to 16.
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

/// Ids with a value each (`()` for a plain set).
#[derive(Debug)]
pub struct IdMap<V> {
    guids: HashMap<Guid, V, BuildHasherDefault<GuidHasher>>,
    others: HashMap<Box<str>, V>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            guids: HashMap::default(),
            others: HashMap::new(),
        }
    }
}

pub type IdSet = IdMap<()>;

impl IdSet {
    /// Adds an id given as text; false if it was already there.
    pub fn insert_str(&mut self, id: &str) -> bool {
        self.insert(Id::parse(id), ())
    }

    pub fn contains_str(&self, id: &str) -> bool {
        self.contains(Id::parse(id))
    }
}

impl<V> IdMap<V> {
    /// Adds an id; false (and the value left as it was) if it was already there.
    pub fn insert(&mut self, id: Id<'_>, v: V) -> bool {
        use std::collections::hash_map::Entry;
        match id {
            Id::Guid(g) => match self.guids.entry(g.into()) {
                Entry::Occupied(_) => false,
                Entry::Vacant(e) => {
                    e.insert(v);
                    true
                }
            },
            Id::Other(s) => {
                if self.others.contains_key(s) {
                    return false;
                }
                self.others.insert(s.into(), v);
                true
            }
        }
    }

    pub fn contains(&self, id: Id<'_>) -> bool {
        match id {
            Id::Guid(g) => self.guids.contains_key(&g.into()),
            Id::Other(s) => self.others.contains_key(s),
        }
    }

    pub fn get_mut(&mut self, id: Id<'_>) -> Option<&mut V> {
        match id {
            Id::Guid(g) => self.guids.get_mut(&g.into()),
            Id::Other(s) => self.others.get_mut(s),
        }
    }

    pub fn remove(&mut self, id: Id<'_>) -> Option<V> {
        match id {
            Id::Guid(g) => self.guids.remove(&g.into()),
            Id::Other(s) => self.others.remove(s),
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        self.guids.retain(|_, v| keep(v));
        self.others.retain(|_, v| keep(v));
    }

    pub fn len(&self) -> usize {
        self.guids.len() + self.others.len()
    }

    /// Every id (in no particular order).
    pub fn ids(&self) -> impl Iterator<Item = Id<'_>> {
        let guids = self.guids.keys().map(|g| {
            let [a, b, c, d] = g.0.map(u128::from);
            Id::Guid((a << 96) | (b << 64) | (c << 32) | d)
        });
        guids.chain(self.others.keys().map(|s| Id::Other(s)))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Ids of one commit (or batch), grouped by bucket: what a commit writes as chunks.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeenIds {
    buckets: Vec<(u32, Chunk)>,
}

/// The ids of one bucket in one commit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Chunk {
    guids: Vec<u128>,
    /// Other ids, each as a u32 length and its bytes.
    others: Vec<u8>,
}

impl SeenIds {
    pub fn push(&mut self, bucket: u32, id: &str) {
        let i = match self.buckets.iter().rposition(|(b, _)| *b == bucket) {
            Some(i) => i,
            None => {
                self.buckets.push((bucket, Chunk::default()));
                self.buckets.len() - 1
            }
        };
        let c = &mut self.buckets[i].1;
        match Id::parse(id) {
            Id::Guid(g) => c.guids.push(g),
            Id::Other(s) => push_other(&mut c.others, s.as_bytes()),
        }
    }

    pub fn append(&mut self, other: &SeenIds) {
        for (b, c) in &other.buckets {
            match self.buckets.iter_mut().find(|(x, _)| x == b) {
                Some((_, mine)) => {
                    mine.guids.extend_from_slice(&c.guids);
                    mine.others.extend_from_slice(&c.others);
                }
                None => self.buckets.push((*b, c.clone())),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buckets
            .iter()
            .all(|(_, c)| c.guids.is_empty() && c.others.is_empty())
    }

    pub fn buckets(&self) -> impl Iterator<Item = (u32, &Chunk)> {
        self.buckets.iter().map(|(b, c)| (*b, c))
    }
}

impl Chunk {
    /// The stored values: at most [`CHUNK_GUIDS`] GUIDs each, other ids in the first.
    pub fn encode(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self
            .guids
            .chunks(CHUNK_GUIDS)
            .map(|g| encode(g, &[]))
            .collect();
        if !self.others.is_empty() {
            match out.first_mut() {
                Some(first) => first.extend_from_slice(&self.others),
                None => out.push(encode(&[], &self.others)),
            }
        }
        out
    }
}

fn push_other(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len().min(u32::MAX as usize) as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// One stored chunk: `n` (u32), `n` GUIDs of 16 bytes, then other ids (u32 length, bytes).
pub fn encode(guids: &[u128], others: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + guids.len() * 16 + others.len());
    v.extend_from_slice(&(guids.len() as u32).to_be_bytes());
    for g in guids {
        v.extend_from_slice(&g.to_be_bytes());
    }
    v.extend_from_slice(others);
    v
}

/// Other ids (as stored) from strings, for [`encode`].
pub fn pack_others<'a>(ids: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut v = Vec::new();
    for s in ids {
        push_other(&mut v, s);
    }
    v
}

/// A stored chunk, checked and split into its two parts.
pub struct View<'a> {
    guids: &'a [u8],
    others: &'a [u8],
}

/// Reads a stored chunk; None when it is damaged.
pub fn view(v: &[u8]) -> Option<View<'_>> {
    let n = u32::from_be_bytes(v.get(..4)?.try_into().ok()?) as usize;
    let end = n.checked_mul(16)?.checked_add(4)?;
    let guids = v.get(4..end)?;
    let others = &v[end..];
    let mut rest = others;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        std::str::from_utf8(rest.get(4..4 + len)?).ok()?;
        rest = &rest[4 + len..];
    }
    Some(View { guids, others })
}

impl<'a> View<'a> {
    pub fn guid_count(&self) -> usize {
        self.guids.len() / 16
    }

    pub fn guid(&self, i: usize) -> u128 {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.guids[i * 16..i * 16 + 16]);
        u128::from_be_bytes(b)
    }

    pub fn guids(&self) -> impl Iterator<Item = u128> + '_ {
        (0..self.guid_count()).map(|i| self.guid(i))
    }

    /// Other ids (the chunk was checked by [`view`]).
    pub fn others(&self) -> impl Iterator<Item = &'a str> + 'a {
        let mut rest = self.others;
        std::iter::from_fn(move || {
            let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let s = std::str::from_utf8(rest.get(4..4 + len)?).ok()?;
            rest = &rest[4 + len..];
            Some(s)
        })
    }

    /// Whether the chunk holds `id`; `sorted` when its GUIDs are in ascending order.
    pub fn contains(&self, id: Id<'_>, sorted: bool) -> bool {
        match id {
            Id::Guid(g) if sorted => {
                let (mut lo, mut hi) = (0, self.guid_count());
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    match self.guid(mid).cmp(&g) {
                        std::cmp::Ordering::Less => lo = mid + 1,
                        std::cmp::Ordering::Greater => hi = mid,
                        std::cmp::Ordering::Equal => return true,
                    }
                }
                false
            }
            Id::Guid(g) => {
                let want = g.to_be_bytes();
                self.guids.chunks_exact(16).any(|c| c == want)
            }
            Id::Other(s) => self.others().any(|o| o == s),
        }
    }

    /// Adds every id of the chunk to `set`.
    pub fn add_to<V: Clone>(&self, set: &mut IdMap<V>, v: V) {
        for g in self.guids() {
            set.insert(Id::Guid(g), v.clone());
        }
        for s in self.others() {
            set.insert(Id::Other(s), v.clone());
        }
    }
}

/// Adds every id of a chunk in the format before time buckets (`0` + 16 bytes for a GUID,
/// `1` + u16 length + bytes otherwise) to `set`; false if the chunk is damaged. Read only
/// to carry the ids of an older state directory through its last horizon.
pub fn decode_legacy_into(mut b: &[u8], set: &mut IdSet) -> bool {
    while let Some((&tag, rest)) = b.split_first() {
        match tag {
            0 if rest.len() >= 16 => {
                let mut g = [0u8; 16];
                g.copy_from_slice(&rest[..16]);
                set.insert(Id::Guid(u128::from_be_bytes(g)), ());
                b = &rest[16..];
            }
            1 if rest.len() >= 2 => {
                let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
                let Some(s) = rest.get(2..2 + n) else {
                    return false;
                };
                set.insert(Id::Other(&String::from_utf8_lossy(s)), ());
                b = &rest[2 + n..];
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests;
