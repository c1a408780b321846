//! Address blocks as sets of integers: the arithmetic behind lazy iteration, exclusion and
//! counting. An address is keyed by its family and its value as an integer (`u128`, IPv4
//! values below 2^32), so that IPv4 and IPv6 share one code path.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::spec::Ipv4Octets;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    /// Address size in bits.
    pub(crate) fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

/// The family and integer value of an address.
pub(crate) fn key_of(addr: IpAddr) -> (Family, u128) {
    match addr {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (Family::V6, u128::from(v6)),
    }
}

/// The address of a family and integer value (IPv4 values are below 2^32 by construction).
pub(crate) fn addr_of(family: Family, key: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(key).unwrap_or(u32::MAX))),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(key)),
    }
}

/// A non-empty set of addresses of one family: a CIDR network (a single address is a full-length
/// prefix) or IPv4 octet ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddressBlock {
    /// All addresses `first..=last`, which is the network `first/prefix`.
    Network {
        family: Family,
        first: u128,
        last: u128,
        prefix: u8,
    },
    /// IPv4 octet ranges.
    Octets(Ipv4Octets),
}

impl AddressBlock {
    /// The network of `prefix` bits around `addr`; a prefix longer than the address is taken as
    /// the full length.
    pub(crate) fn network(addr: IpAddr, prefix: u8) -> Self {
        let (family, key) = key_of(addr);
        let prefix = prefix.min(family.bits());
        let host_bits = u32::from(family.bits() - prefix);
        let host_mask = 1u128
            .checked_shl(host_bits)
            .map_or(u128::MAX, |bit| bit - 1);
        AddressBlock::Network {
            family,
            first: key & !host_mask,
            last: key | host_mask,
            prefix,
        }
    }

    /// The single address `addr`.
    pub(crate) fn single(addr: IpAddr) -> Self {
        AddressBlock::network(addr, u8::MAX)
    }

    /// The family of every address in the block.
    pub(crate) fn family(&self) -> Family {
        match self {
            AddressBlock::Network { family, .. } => *family,
            AddressBlock::Octets(_) => Family::V4,
        }
    }

    /// The smallest member.
    pub(crate) fn first(&self) -> u128 {
        match self {
            AddressBlock::Network { first, .. } => *first,
            AddressBlock::Octets(octets) => u128::from(u32::from(octets.first())),
        }
    }

    /// How many addresses the block holds, saturating (an IPv6 /0 holds 2^128).
    pub(crate) fn size(&self) -> u128 {
        match self {
            AddressBlock::Network { first, last, .. } => (last - first).saturating_add(1),
            AddressBlock::Octets(octets) => u128::from(octets.host_count()),
        }
    }

    /// Whether the address `key` of `family` is a member.
    pub(crate) fn contains(&self, family: Family, key: u128) -> bool {
        match self {
            AddressBlock::Network {
                family: own,
                first,
                last,
                ..
            } => *own == family && (*first..=*last).contains(&key),
            AddressBlock::Octets(octets) => {
                family == Family::V4
                    && u32::try_from(key).is_ok_and(|v4| octets.contains(Ipv4Addr::from(v4)))
            }
        }
    }

    /// The smallest member `>= from`, if any.
    pub(crate) fn next_member(&self, from: u128) -> Option<u128> {
        match self {
            AddressBlock::Network { first, last, .. } => {
                (from <= *last).then_some(from.max(*first))
            }
            AddressBlock::Octets(octets) => {
                let from = u32::try_from(from).ok()?;
                octets.next_member(from).map(u128::from)
            }
        }
    }

    /// For a member, the end of a run of consecutive members starting there; `None` when
    /// `key` is not a member (the family is the block's own).
    pub(crate) fn run_end(&self, key: u128) -> Option<u128> {
        match self {
            AddressBlock::Network { first, last, .. } => {
                (*first..=*last).contains(&key).then_some(*last)
            }
            AddressBlock::Octets(octets) => {
                let key = u32::try_from(key).ok()?;
                octets.run_end(key).map(u128::from)
            }
        }
    }

    /// How many members lie in `lo..=hi`, saturating.
    pub(crate) fn count_between(&self, lo: u128, hi: u128) -> u128 {
        match self {
            AddressBlock::Network { first, last, .. } => {
                let (lo, hi) = (lo.max(*first), hi.min(*last));
                if lo > hi {
                    0
                } else {
                    (hi - lo).saturating_add(1)
                }
            }
            AddressBlock::Octets(octets) => {
                let Ok(lo) = u32::try_from(lo) else {
                    return 0;
                };
                let hi = u32::try_from(hi).unwrap_or(u32::MAX);
                if lo > hi {
                    return 0;
                }
                let below = lo
                    .checked_sub(1)
                    .map_or(0, |before| octets.count_up_to(before));
                u128::from(octets.count_up_to(hi) - below)
            }
        }
    }
}

/// Blocks of addresses to leave out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Exclusions {
    blocks: Vec<AddressBlock>,
}

impl Exclusions {
    pub(crate) fn new(blocks: Vec<AddressBlock>) -> Self {
        Exclusions { blocks }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Whether any block holds the address.
    pub(crate) fn contains(&self, family: Family, key: u128) -> bool {
        self.blocks.iter().any(|block| block.contains(family, key))
    }

    /// When the address is excluded, the last address of the run of excluded addresses that
    /// starts there (following runs across blocks that touch or overlap).
    pub(crate) fn run_end(&self, family: Family, key: u128) -> Option<u128> {
        let mut end = self.longest_run_at(family, key)?;
        while let Some(next) = end.checked_add(1) {
            match self.longest_run_at(family, next) {
                Some(further) => end = further,
                None => break,
            }
        }
        Some(end)
    }

    /// The furthest run end among the blocks holding the address.
    fn longest_run_at(&self, family: Family, key: u128) -> Option<u128> {
        self.blocks
            .iter()
            .filter(|block| block.contains(family, key))
            .filter_map(|block| block.run_end(key))
            .max()
    }

    /// The smallest excluded address `>= from` of the family, if any.
    fn next_excluded(&self, family: Family, from: u128) -> Option<u128> {
        self.blocks
            .iter()
            .filter(|block| block.family() == family)
            .filter_map(|block| block.next_member(from))
            .min()
    }

    /// How many members of `block` are not excluded, saturating. Counts whole stretches between
    /// excluded runs arithmetically, so the work grows with the number of excluded runs met,
    /// not with the size of the block.
    pub(crate) fn remaining_in(&self, block: &AddressBlock) -> u128 {
        let family = block.family();
        let mut total = 0u128;
        let mut from = block.first();
        while let Some(candidate) = block.next_member(from) {
            if let Some(end) = self.run_end(family, candidate) {
                match end.checked_add(1) {
                    Some(next) => from = next,
                    None => break,
                }
                continue;
            }
            match self.next_excluded(family, candidate) {
                // `excluded > candidate`, since the candidate itself is not excluded.
                Some(excluded) => {
                    total = total.saturating_add(block.count_between(candidate, excluded - 1));
                    from = excluded;
                }
                None => {
                    total = total.saturating_add(block.count_between(candidate, u128::MAX));
                    break;
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::spec::{TargetSpec, parse_target};

    fn block(token: &str) -> AddressBlock {
        match parse_target(token).unwrap() {
            TargetSpec::Address(addr) => AddressBlock::single(addr),
            TargetSpec::Network { addr, prefix } => AddressBlock::network(addr, prefix),
            TargetSpec::Octets(octets) => AddressBlock::Octets(octets),
            TargetSpec::Hostname { .. } => panic!("{token} is a hostname"),
        }
    }

    fn v4_key(text: &str) -> u128 {
        key_of(text.parse().unwrap()).1
    }

    #[test]
    fn networks_ignore_host_bits() {
        assert_eq!(block("10.0.0.7/24"), block("10.0.0.0/24"));
        let AddressBlock::Network { first, last, .. } = block("10.0.0.7/24") else {
            panic!("not a network");
        };
        assert_eq!((first, last), (v4_key("10.0.0.0"), v4_key("10.0.0.255")));
    }

    #[test]
    fn sizes() {
        assert_eq!(block("10.0.0.1").size(), 1);
        assert_eq!(block("10.0.0.0/8").size(), 1 << 24);
        assert_eq!(block("0.0.0.0/0").size(), 1 << 32);
        assert_eq!(block("::/0").size(), u128::MAX);
        assert_eq!(block("::/1").size(), 1 << 127);
        assert_eq!(block("2001:db8::/120").size(), 256);
        assert_eq!(block("10.0.0-3.1-5").size(), 20);
    }

    #[test]
    fn families_do_not_mix() {
        let v4 = block("0.0.0.0/0");
        assert!(!v4.contains(Family::V6, 1));
        let v6 = block("::/96");
        assert!(!v6.contains(Family::V4, 1));
        assert!(!block("*.*.*.*").contains(Family::V6, 1));
    }

    #[test]
    fn count_between_clamps() {
        let net = block("10.0.0.0/24");
        assert_eq!(net.count_between(0, u128::MAX), 256);
        assert_eq!(
            net.count_between(v4_key("10.0.0.10"), v4_key("10.0.0.19")),
            10
        );
        assert_eq!(net.count_between(5, 4), 0);
        let octets = block("10.0.1,3.1-5");
        assert_eq!(octets.count_between(0, u128::MAX), 10);
        assert_eq!(
            octets.count_between(v4_key("10.0.1.3"), v4_key("10.0.3.1")),
            4
        );
        assert_eq!(octets.count_between(1 << 40, u128::MAX), 0);
        assert_eq!(block("::/0").count_between(0, u128::MAX), u128::MAX);
    }

    #[test]
    fn exclusion_runs_chain_across_blocks() {
        let exclusions = Exclusions::new(vec![
            block("10.0.0.0/25"),
            block("10.0.0.128-200"),
            block("10.0.0.201-255"),
        ]);
        assert_eq!(
            exclusions.run_end(Family::V4, v4_key("10.0.0.3")),
            Some(v4_key("10.0.0.255"))
        );
        assert_eq!(exclusions.run_end(Family::V4, v4_key("10.0.1.0")), None);
        let top = Exclusions::new(vec![block("::/0")]);
        assert_eq!(top.run_end(Family::V6, 5), Some(u128::MAX));
    }

    #[test]
    fn remaining_counts_arithmetically() {
        let exclusions = Exclusions::new(vec![block("10.1.0.0/16"), block("10.2.3.4")]);
        assert_eq!(
            exclusions.remaining_in(&block("10.0.0.0/8")),
            (1 << 24) - (1 << 16) - 1
        );
        let v6 = Exclusions::new(vec![block("::/1")]);
        assert_eq!(v6.remaining_in(&block("::/0")), 1 << 127);
        let everything = Exclusions::new(vec![block("::/0")]);
        assert_eq!(everything.remaining_in(&block("::/0")), 0);
        let octets = Exclusions::new(vec![block("10.*.*.0")]);
        assert_eq!(
            octets.remaining_in(&block("10.0.0.0/8")),
            (1 << 24) - (1 << 16)
        );
    }
}
