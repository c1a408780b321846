//! The set of hosts to scan: resolved specs minus exclusions, iterated lazily in constant
//! memory.

use std::iter::FusedIterator;
use std::net::IpAddr;
use std::sync::Arc;

use super::block::{Exclusions, key_of};
use super::resolve::ResolvedSpec;

/// One host to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTarget {
    pub addr: IpAddr,
    /// The hostname the user wrote, when this is the address it resolved to.
    pub name: Option<Arc<str>>,
}

/// The hosts to scan: the included specs in the order given, each in numeric order, without
/// the excluded addresses. A host in several specs is scanned once per spec, as in nmap.
#[derive(Debug, Clone)]
pub struct TargetSet {
    include: Arc<[ResolvedSpec]>,
    exclude: Arc<Exclusions>,
}

impl TargetSet {
    /// The hosts of `include` that are not in `exclude`.
    pub fn new(include: Vec<ResolvedSpec>, exclude: Vec<ResolvedSpec>) -> Self {
        let blocks = exclude.iter().map(|spec| spec.block().clone()).collect();
        TargetSet {
            include: include.into(),
            exclude: Arc::new(Exclusions::new(blocks)),
        }
    }

    /// How many hosts the included specs hold before exclusions, saturating.
    pub fn upper_bound(&self) -> u128 {
        self.include
            .iter()
            .fold(0u128, |total, spec| total.saturating_add(spec.host_count()))
    }

    /// Whether any exclusion was given.
    pub fn has_excludes(&self) -> bool {
        !self.exclude.is_empty()
    }

    /// How many hosts will be yielded, saturating. Exact: stretches between excluded runs are
    /// counted arithmetically, so the work grows with the number of excluded runs inside the
    /// included specs (at worst with the number of hosts), and is constant without exclusions.
    pub fn count(&self) -> u128 {
        if !self.has_excludes() {
            return self.upper_bound();
        }
        self.include.iter().fold(0u128, |total, spec| {
            total.saturating_add(self.exclude.remaining_in(spec.block()))
        })
    }

    /// The hosts, lazily and in constant memory.
    pub fn hosts(&self) -> HostIter {
        HostIter {
            specs: Arc::clone(&self.include),
            exclude: Arc::clone(&self.exclude),
            spec_index: 0,
            next_key: None,
        }
    }

    /// Whether `addr` is excluded.
    pub fn is_excluded(&self, addr: IpAddr) -> bool {
        let (family, key) = key_of(addr);
        self.exclude.contains(family, key)
    }
}

/// Iterator over the hosts of a [`TargetSet`]: a position (spec index and next candidate
/// address), never a list.
#[derive(Debug, Clone)]
pub struct HostIter {
    specs: Arc<[ResolvedSpec]>,
    exclude: Arc<Exclusions>,
    spec_index: usize,
    /// The smallest address of the current spec still to consider; `None` at its start.
    next_key: Option<u128>,
}

impl HostIter {
    /// Moves on to the start of the next spec.
    fn next_spec(&mut self) {
        self.spec_index += 1;
        self.next_key = None;
    }

    /// Continues the current spec after `key`, or the next spec when `key` is the last
    /// address of the family.
    fn continue_after(&mut self, key: u128) {
        match key.checked_add(1) {
            Some(next) => self.next_key = Some(next),
            None => self.next_spec(),
        }
    }
}

impl Iterator for HostIter {
    type Item = HostTarget;

    fn next(&mut self) -> Option<HostTarget> {
        loop {
            let spec = self.specs.get(self.spec_index)?;
            let block = spec.block();
            let from = self.next_key.unwrap_or_else(|| block.first());
            let Some(candidate) = block.next_member(from) else {
                self.next_spec();
                continue;
            };
            let family = block.family();
            if let Some(excluded_end) = self.exclude.run_end(family, candidate) {
                self.continue_after(excluded_end);
                continue;
            }
            let host = spec.host(family, candidate);
            self.continue_after(candidate);
            return Some(host);
        }
    }
}

impl FusedIterator for HostIter {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::block::AddressBlock;
    use crate::targets::resolve::resolved_without_lookup;
    use crate::targets::spec::{TargetSpec, parse_target};
    use proptest::prelude::*;
    use std::collections::HashSet;
    use std::net::Ipv4Addr;
    use std::time::{Duration, Instant};

    fn resolved(tokens: &[&str]) -> Vec<ResolvedSpec> {
        let specs = tokens.iter().map(|t| parse_target(t).unwrap()).collect();
        resolved_without_lookup(specs).unwrap()
    }

    fn set(include: &[&str], exclude: &[&str]) -> TargetSet {
        TargetSet::new(resolved(include), resolved(exclude))
    }

    fn addrs(set: &TargetSet) -> Vec<String> {
        set.hosts().map(|host| host.addr.to_string()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn host_iter_is_send_and_static() {
        fn assert_send_static<T: Send + 'static>(_: &T) {}
        assert_send_static(&set(&["10.0.0.1"], &[]).hosts());
    }

    #[test]
    fn specs_in_order_each_in_numeric_order() {
        let targets = set(&["10.0.0.9", "10.0.0.3,1,2", "::1", "10.0.0.9"], &[]);
        assert_eq!(
            addrs(&targets),
            [
                "10.0.0.9", "10.0.0.1", "10.0.0.2", "10.0.0.3", "::1", "10.0.0.9"
            ]
        );
        assert_eq!(targets.count(), 6);
        assert_eq!(targets.upper_bound(), 6);
        assert!(!targets.has_excludes());
    }

    #[test]
    fn cidr_includes_network_and_broadcast() {
        let targets = set(&["192.0.2.7/30"], &[]);
        assert_eq!(
            addrs(&targets),
            ["192.0.2.4", "192.0.2.5", "192.0.2.6", "192.0.2.7"]
        );
        let v6 = set(&["2001:db8::/126"], &[]);
        assert_eq!(
            addrs(&v6),
            ["2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3"]
        );
    }

    #[test]
    fn octet_ranges_iterate_like_nmap() {
        let targets = set(&["192.168.1,3.1-2"], &[]);
        assert_eq!(
            addrs(&targets),
            ["192.168.1.1", "192.168.1.2", "192.168.3.1", "192.168.3.2"]
        );
    }

    #[test]
    fn exclusions_are_skipped() {
        let targets = set(&["10.0.0.0/29", "10.0.0.1"], &["10.0.0.1-2", "10.0.0.6/31"]);
        assert_eq!(
            addrs(&targets),
            ["10.0.0.0", "10.0.0.3", "10.0.0.4", "10.0.0.5"]
        );
        assert_eq!(targets.count(), 4);
        assert_eq!(targets.upper_bound(), 9);
        assert!(targets.has_excludes());
        assert!(targets.is_excluded(ip("10.0.0.2")));
        assert!(!targets.is_excluded(ip("10.0.0.3")));
        assert!(!targets.is_excluded(ip("::ffff:10.0.0.2")));
    }

    #[test]
    fn everything_excluded() {
        let targets = set(&["10.0.0.0/24"], &["10.0.0.0/16"]);
        assert_eq!(targets.hosts().next(), None);
        assert_eq!(targets.count(), 0);
        let all_v6 = set(&["::/0"], &["::/0"]);
        assert_eq!(all_v6.hosts().next(), None);
        assert_eq!(all_v6.count(), 0);
    }

    #[test]
    fn the_last_addresses_end_cleanly() {
        let v4 = set(&["255.255.255.254/31"], &[]);
        assert_eq!(addrs(&v4), ["255.255.255.254", "255.255.255.255"]);
        let v6 = set(&["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "::1"], &[]);
        assert_eq!(
            addrs(&v6),
            [
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "::1"
            ]
        );
        let excluded_top = set(&["255.255.255.0/24", "10.0.0.1"], &["255.255.255.128/25"]);
        assert_eq!(excluded_top.hosts().count(), 129);
        assert_eq!(excluded_top.count(), 129);
    }

    #[test]
    fn a_slash_8_starts_at_once() {
        let targets = set(&["10.0.0.0/8"], &[]);
        assert_eq!(targets.upper_bound(), 16_777_216);
        assert_eq!(targets.count(), 16_777_216);
        let started = Instant::now();
        let mut hosts = targets.hosts();
        assert_eq!(hosts.next().map(|h| h.addr), Some(ip("10.0.0.0")));
        assert_eq!(hosts.next().map(|h| h.addr), Some(ip("10.0.0.1")));
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn huge_ranges_start_at_once_even_when_their_start_is_excluded() {
        let started = Instant::now();
        let v4 = set(&["10.0.0.0/8"], &["10.0.0.0/9", "10.*.*.0"]);
        assert_eq!(v4.hosts().next().map(|h| h.addr), Some(ip("10.128.0.1")));
        let v6 = set(&["::/0"], &["::/1"]);
        assert_eq!(v6.upper_bound(), u128::MAX);
        assert_eq!(v6.count(), 1 << 127);
        assert_eq!(v6.hosts().next().map(|h| h.addr), Some(ip("8000::")));
        let octets = set(&["*.*.*.*"], &["0-9.*.*.*"]);
        assert_eq!(octets.hosts().next().map(|h| h.addr), Some(ip("10.0.0.0")));
        assert_eq!(octets.count(), (1 << 32) - 10 * (1 << 24));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn counts_with_many_excluded_runs() {
        let targets = set(&["10.0.0.0/8", "10.0.0.0/16"], &["10.*.*.0", "10.1.0.0/16"]);
        let first = (1u128 << 24) - (1 << 16) - 255 * (1 << 8);
        let second = (1u128 << 16) - (1 << 8);
        assert_eq!(targets.count(), first + second);
    }

    #[test]
    fn upper_bound_saturates() {
        let targets = set(&["::/0", "::/0", "10.0.0.1"], &[]);
        assert_eq!(targets.upper_bound(), u128::MAX);
        assert_eq!(targets.count(), u128::MAX);
    }

    #[test]
    fn the_resolved_address_carries_the_hostname() {
        let include = vec![
            ResolvedSpec::from(ip("10.0.0.1")),
            ResolvedSpec::named("h.example", ip("192.0.2.9"), Some(30)).unwrap(),
            ResolvedSpec::named("v6.example", ip("2001:db8::1"), None).unwrap(),
        ];
        let targets = TargetSet::new(include, vec![]);
        let hosts: Vec<(String, Option<String>)> = targets
            .hosts()
            .map(|host| (host.addr.to_string(), host.name.map(|n| n.to_string())))
            .collect();
        let named = |addr: &str, name: Option<&str>| (addr.to_string(), name.map(String::from));
        assert_eq!(
            hosts,
            [
                named("10.0.0.1", None),
                named("192.0.2.8", None),
                named("192.0.2.9", Some("h.example")),
                named("192.0.2.10", None),
                named("192.0.2.11", None),
                named("2001:db8::1", Some("v6.example")),
            ]
        );
    }

    #[test]
    fn an_empty_set_yields_nothing() {
        let targets = set(&[], &["10.0.0.1"]);
        assert_eq!(targets.hosts().next(), None);
        assert_eq!(targets.count(), 0);
        assert_eq!(targets.upper_bound(), 0);
    }

    // --- property tests against brute-force expansion ---

    /// A small IPv4 target token inside 10.0.0.0/22, or a small IPv6 one.
    fn small_token() -> impl Strategy<Value = String> {
        let octet = || {
            prop_oneof![
                (0u8..=255).prop_map(|v| v.to_string()),
                (0u8..=250, 0u8..=5).prop_map(|(lo, n)| format!("{lo}-{}", lo + n)),
                (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("{a},{b}")),
                (240u8..=255).prop_map(|lo| format!("{lo}-")),
                (0u8..=15).prop_map(|hi| format!("-{hi}")),
                Just("*".to_string()),
            ]
        };
        prop_oneof![
            (0u8..=3, any::<u8>()).prop_map(|(c, d)| format!("10.0.{c}.{d}")),
            (0u8..=3, any::<u8>(), 22u8..=32).prop_map(|(c, d, p)| format!("10.0.{c}.{d}/{p}")),
            ("[0-3]|0-[1-3]|1-[2-3]|[0-3],[0-3]|[0-3]-3", octet())
                .prop_map(|(c, d)| format!("10.0.{c}.{d}")),
            (any::<u8>(), 120u8..=128).prop_map(|(low, p)| format!("2001:db8::{low:x}/{p}")),
            any::<u8>().prop_map(|low| format!("2001:db8::{low:x}")),
        ]
    }

    /// Every address of a token, brute force, in numeric order.
    fn expand(token: &str) -> Vec<IpAddr> {
        let spec = &resolved(&[token])[0];
        let AddressBlock::Network { .. } = spec.block() else {
            // Octet ranges: all IPv4 addresses of 10.0.0.0/22 that match, in order.
            return (u32::from(Ipv4Addr::new(10, 0, 0, 0))
                ..=u32::from(Ipv4Addr::new(10, 0, 3, 255)))
                .map(|v| IpAddr::V4(Ipv4Addr::from(v)))
                .filter(|addr| spec.contains(*addr))
                .collect();
        };
        brute_network(token)
    }

    /// The addresses of an address or CIDR token by masking, independent of the block
    /// arithmetic.
    fn brute_network(token: &str) -> Vec<IpAddr> {
        let (addr, prefix) = match parse_target(token).unwrap() {
            TargetSpec::Network { addr, prefix } => (addr, u32::from(prefix)),
            TargetSpec::Address(addr) => (addr, if addr.is_ipv4() { 32 } else { 128 }),
            other => panic!("{token}: not an address or network: {other:?}"),
        };
        match addr {
            IpAddr::V4(v4) => {
                let size = 1u32 << (32 - prefix);
                let base = u32::from(v4) & !(size - 1);
                (0..size).map(|i| IpAddr::V4((base + i).into())).collect()
            }
            IpAddr::V6(v6) => {
                let size = 1u128 << (128 - prefix);
                let base = u128::from(v6) & !(size - 1);
                (0..size).map(|i| IpAddr::V6((base + i).into())).collect()
            }
        }
    }

    /// Whether the first spec of the set covers `addr`.
    fn network_contains(targets: &TargetSet, addr: IpAddr) -> bool {
        targets.include[0].contains(addr)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn cidr_count_and_membership(addr in any::<IpAddr>(), prefix in 0u8..=128) {
            let bits = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = prefix % (bits + 1);
            let network = resolved_without_lookup(vec![TargetSpec::Network { addr, prefix }]).unwrap();
            let targets = TargetSet::new(network, vec![]);
            let expected = 1u128.checked_shl(u32::from(bits - prefix)).unwrap_or(u128::MAX);
            prop_assert_eq!(targets.upper_bound(), expected);
            prop_assert_eq!(targets.count(), expected);
            prop_assert!(network_contains(&targets, addr));
            // Iterate a bounded sample; for small networks, all of it.
            let host_bits = u32::from(bits - prefix);
            let sample: Vec<IpAddr> = targets.hosts().take(300).map(|h| h.addr).collect();
            if host_bits <= 8 {
                prop_assert_eq!(sample.len() as u128, expected);
            }
            let (family, key) = key_of(addr);
            let mask = 1u128.checked_shl(host_bits).map_or(u128::MAX, |b| b - 1);
            for (offset, host) in sample.iter().enumerate() {
                let (host_family, host_key) = key_of(*host);
                prop_assert_eq!(host_family, family);
                prop_assert_eq!(host_key & !mask, key & !mask);
                prop_assert_eq!(host_key & mask, offset as u128);
            }
        }

        #[test]
        fn octet_iteration_matches_brute_force(
            a in "[0-9]|[0-9]-[0-9]|[0-9],[0-9]",
            b in "1|1-3|1,3",
            c in "[0-9]{1,2}|[0-9]-1[0-9]|-2|25[0-5]-",
            d in "[0-9]{1,2}|[0-9]-[0-9]{2}|\\*|-|25[0-5]-|-[0-9]",
        ) {
            let token = format!("{a}.{b}.{c}.{d}");
            let Ok(spec) = parse_target(&token) else {
                // Reversed ranges are rejected; nothing to compare.
                return Ok(());
            };
            let values = |text: &str| -> Vec<u8> {
                let mut out = Vec::new();
                for item in text.split(',') {
                    let (lo, hi) = match item {
                        "*" | "-" => (0u8, 255u8),
                        _ => match item.split_once('-') {
                            None => (item.parse().unwrap(), item.parse().unwrap()),
                            Some((lo, hi)) => (
                                if lo.is_empty() { 0 } else { lo.parse().unwrap() },
                                if hi.is_empty() { 255 } else { hi.parse().unwrap() },
                            ),
                        },
                    };
                    out.extend(lo..=hi);
                }
                out.sort_unstable();
                out.dedup();
                out
            };
            let (va, vb, vc, vd) = (values(&a), values(&b), values(&c), values(&d));
            let mut expected = Vec::new();
            for &w in &va { for &x in &vb { for &y in &vc { for &z in &vd {
                expected.push(IpAddr::V4(Ipv4Addr::new(w, x, y, z)));
            }}}}
            let targets = TargetSet::new(resolved_without_lookup(vec![spec]).unwrap(), vec![]);
            let product = (va.len() * vb.len() * vc.len() * vd.len()) as u128;
            prop_assert_eq!(targets.upper_bound(), product);
            prop_assert_eq!(targets.count(), product);
            let iterated: Vec<IpAddr> = targets.hosts().map(|h| h.addr).collect();
            prop_assert_eq!(iterated, expected);
        }

        #[test]
        fn exclusions_match_brute_force(
            include in prop::collection::vec(small_token(), 0..4),
            exclude in prop::collection::vec(small_token(), 0..4),
        ) {
            let include_refs: Vec<&str> = include.iter().map(String::as_str).collect();
            let exclude_refs: Vec<&str> = exclude.iter().map(String::as_str).collect();
            let targets = set(&include_refs, &exclude_refs);
            let excluded: HashSet<IpAddr> = exclude.iter().flat_map(|t| expand(t)).collect();
            let expected: Vec<IpAddr> = include
                .iter()
                .flat_map(|t| expand(t))
                .filter(|addr| !excluded.contains(addr))
                .collect();
            let iterated: Vec<IpAddr> = targets.hosts().map(|h| h.addr).collect();
            prop_assert_eq!(&iterated, &expected);
            prop_assert_eq!(targets.count(), expected.len() as u128);
            let before: usize = include.iter().map(|t| expand(t).len()).sum();
            prop_assert_eq!(targets.upper_bound(), before as u128);
            for addr in &iterated {
                prop_assert!(!targets.is_excluded(*addr));
            }
            for addr in &excluded {
                prop_assert!(targets.is_excluded(*addr));
            }
        }
    }
}
