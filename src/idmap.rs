//! `IdMap`: a `HashMap` keyed by the scan's own small keys (host ids, alarm scopes) with a
//! multiply-rotate hash instead of SipHash.
//!
//! Every event touches a few of these maps, and SipHash was most of the detector's cost per
//! event. The keys are assigned by the scan itself (host ids in plan order) or few (alarm
//! scopes), never chosen by a remote party, so flooding resistance buys nothing here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The multiply-rotate hash of the Firefox / rustc "FxHash" family: one rotate, xor and
/// multiply per word; the multiply spreads entropy into the high bits the table probes with.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, BuildHasherDefault};

    fn hash<T: std::hash::Hash>(value: T) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(value)
    }

    #[test]
    fn sequential_ids_spread_over_the_high_bits() {
        // hashbrown takes its 7-bit tag from the top bits: sequential ids must not share them.
        let tags: std::collections::HashSet<u64> = (0u32..1024).map(|id| hash(id) >> 57).collect();
        assert!(tags.len() > 100, "{} distinct tags", tags.len());
    }

    #[test]
    fn a_map_holds_many_ids() {
        let mut map: IdMap<u32, u32> = IdMap::default();
        for id in 0..100_000 {
            map.insert(id, id * 2);
        }
        assert!((0..100_000).all(|id| map[&id] == id * 2));
        assert_ne!(hash([1u8, 2, 3]), hash([1u8, 2, 4]));
    }
}
