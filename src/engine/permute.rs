//! A keyed, lazily evaluated permutation of `0..n`: the per-host port order.
//!
//! Shuffling the ports of a host (as nmap does) keeps a dropped port range from looking like a
//! change over time. The order must be reproducible from a seed and must not be materialised (a
//! full-range scan of many hosts at once would otherwise hold 128 KiB per host), so this is a small
//! Feistel network over the next even power of two, with cycle-walking back into `0..n`.

/// splitmix64: a fast, well-mixed 64-bit hash step (Steele, Lea, Flood: "Fast splittable
/// pseudorandom number generators", OOPSLA 2014).
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const ROUNDS: usize = 4;

/// A bijection on `0..n`, chosen by `key`.
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u32,
    half_bits: u32,
    keys: [u32; ROUNDS],
}

impl Permutation {
    /// The permutation of `0..n` selected by `key`.
    pub fn new(n: u32, key: u64) -> Self {
        // Smallest even bit width whose domain covers n (at least 2 bits).
        let bits = (32 - n.saturating_sub(1).leading_zeros()).max(2);
        let bits = bits + (bits & 1);
        let mut keys = [0u32; ROUNDS];
        let mut k = key;
        for slot in &mut keys {
            k = splitmix64(k);
            *slot = k as u32;
        }
        Permutation {
            n,
            half_bits: bits / 2,
            keys,
        }
    }

    /// The identity permutation (ports in ascending order).
    pub fn identity(n: u32) -> Self {
        Permutation {
            n,
            half_bits: 0,
            keys: [0; ROUNDS],
        }
    }

    pub fn len(&self) -> u32 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The image of `i` (`i < n`).
    pub fn apply(&self, i: u32) -> u32 {
        if self.half_bits == 0 || self.n <= 1 {
            return i;
        }
        // Cycle-walking: the Feistel network permutes 0..2^bits; re-apply until back in range.
        // The domain is less than 4n, so the expected number of walks is below 4.
        let mut x = i;
        loop {
            x = self.feistel(x);
            if x < self.n {
                return x;
            }
        }
    }

    fn feistel(&self, x: u32) -> u32 {
        let mask = (1u32 << self.half_bits) - 1;
        let mut left = x >> self.half_bits;
        let mut right = x & mask;
        for &k in &self.keys {
            let f = (splitmix64(u64::from(right) ^ (u64::from(k) << 32)) as u32) & mask;
            let next = left ^ f;
            left = right;
            right = next;
        }
        (left << self.half_bits) | right
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_permutation(p: &Permutation) -> bool {
        let mut seen = vec![false; p.len() as usize];
        for i in 0..p.len() {
            let j = p.apply(i) as usize;
            if j >= seen.len() || seen[j] {
                return false;
            }
            seen[j] = true;
        }
        true
    }

    #[test]
    fn every_size_is_a_bijection() {
        for n in (0..300).chain([1000, 1024, 1025, 65535, 65536]) {
            for key in [0, 1, 0xDEAD_BEEF] {
                assert!(is_permutation(&Permutation::new(n, key)), "n={n} key={key}");
            }
        }
    }

    #[test]
    fn keys_change_the_order_and_are_reproducible() {
        let a: Vec<u32> = (0..1000)
            .map(|i| Permutation::new(1000, 7).apply(i))
            .collect();
        let b: Vec<u32> = (0..1000)
            .map(|i| Permutation::new(1000, 7).apply(i))
            .collect();
        let c: Vec<u32> = (0..1000)
            .map(|i| Permutation::new(1000, 8).apply(i))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn identity_keeps_order() {
        let p = Permutation::identity(10);
        assert_eq!(
            (0..10).map(|i| p.apply(i)).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
    }
}
