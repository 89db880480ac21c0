//! A Bloom filter over record ids: "certainly not there" or "maybe". De-duplication keeps
//! one per bucket that has left memory, so a late record that is new (most are) needs no
//! disk read; every "maybe" is confirmed exactly on disk, so a false positive costs a
//! lookup, never a record.

use super::seen::Id;

/// Hash functions per id. With [`BITS_PER_ID`] bits per id, about 2 % false positives.
const K: u64 = 5;
/// Bits per id the filter is sized for.
pub const BITS_PER_ID: usize = 8;

#[derive(Debug)]
pub struct Bloom {
    words: Box<[u64]>,
    bits: u64,
}

/// splitmix64's finaliser: spreads ids that differ in a few bits (tests' sequential GUIDs,
/// other ids) over all 64.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hashes(id: Id<'_>) -> (u64, u64) {
    let (a, b) = match id {
        Id::Guid(g) => (g as u64, (g >> 64) as u64),
        Id::Other(s) => {
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            for &c in s.as_bytes() {
                h = (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3);
            }
            (h, h.rotate_left(32) ^ s.len() as u64)
        }
    };
    let h1 = mix(a ^ b.rotate_left(17));
    (h1, mix(h1 ^ b ^ 0x9e37_79b9_7f4a_7c15) | 1)
}

impl Bloom {
    /// A filter for about `n` ids.
    pub fn with_ids(n: usize) -> Bloom {
        let bits = (n.saturating_mul(BITS_PER_ID)).max(512) as u64;
        Bloom {
            words: vec![0u64; bits.div_ceil(64) as usize].into_boxed_slice(),
            bits,
        }
    }

    fn positions(&self, id: Id<'_>) -> impl Iterator<Item = u64> + use<> {
        let (h1, h2) = hashes(id);
        let bits = self.bits;
        (0..K).map(move |i| {
            let h = h1.wrapping_add(i.wrapping_mul(h2));
            ((u128::from(h) * u128::from(bits)) >> 64) as u64
        })
    }

    pub fn insert(&mut self, id: Id<'_>) {
        for p in self.positions(id) {
            self.words[(p / 64) as usize] |= 1 << (p % 64);
        }
    }

    /// False only if `id` was never inserted.
    pub fn may_contain(&self, id: Id<'_>) -> bool {
        self.positions(id)
            .all(|p| self.words[(p / 64) as usize] & (1 << (p % 64)) != 0)
    }

    /// Memory held.
    pub fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
mod tests;
