//! The lazy scan plan: which (host, port) pairs this run probes, in which order.
//!
//! Never materialised: hosts come from a lazy iterator, and each host's ports are visited through
//! a keyed permutation of its share of the port list. `--shard I/N` assigns every pair to exactly
//! one shard, independent of the seed, so N machines with the same targets and ports cover the
//! plan exactly once.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use super::permute::{Permutation, splitmix64};
use crate::targets::HostTarget;

/// `--shard I/N`: this run takes shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole plan.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `I/N` with 1 ≤ I ≤ N (users count shards from 1, as in `1/3`, `2/3`, `3/3`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not of the form I/N, e.g. 1/4"))?;
        let i: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("`{i}` in `{s}` is not a shard number"))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` in `{s}` is not a shard count"))?;
        if n == 0 {
            return Err(format!("shard count in `{s}` must be at least 1"));
        }
        if i == 0 || i > n {
            return Err(format!("shard `{s}`: I must be between 1 and {n}"));
        }
        Ok(Shard {
            index: i - 1,
            count: n,
        })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// Everything the engine needs to know about what to probe.
pub struct ScanPlan {
    hosts: Box<dyn Iterator<Item = HostTarget> + Send>,
    ports: Arc<[u16]>,
    shard: Shard,
    seed: u64,
    shuffle: bool,
    /// The first `first` ports of the list are probed before the others (each part shuffled
    /// on its own): a re-check's baseline-open ports before the rest.
    first: u32,
    /// Hosts the iterator will yield, when known in advance.
    pub host_count: Option<u64>,
}

impl ScanPlan {
    /// A plan over `hosts` × `ports`. `ports` must be non-empty and free of duplicates.
    pub fn new(
        hosts: Box<dyn Iterator<Item = HostTarget> + Send>,
        host_count: Option<u64>,
        ports: Arc<[u16]>,
        seed: u64,
    ) -> Self {
        ScanPlan {
            hosts,
            ports,
            shard: Shard::WHOLE,
            seed,
            shuffle: true,
            first: 0,
            host_count,
        }
    }

    /// A plan for a fixed list of addresses (tests, benchmarks).
    pub fn for_addrs(addrs: Vec<IpAddr>, ports: Vec<u16>, seed: u64) -> Self {
        let count = addrs.len() as u64;
        let hosts = addrs
            .into_iter()
            .map(|addr| HostTarget { addr, name: None });
        ScanPlan::new(Box::new(hosts), Some(count), ports.into(), seed)
    }

    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = shard;
        self
    }

    /// Probes the first `n` ports of the list on each host before the rest.
    pub fn with_first(mut self, n: u32) -> Self {
        self.first = n;
        self
    }

    /// Probe ports in ascending order instead of shuffling them.
    pub fn without_shuffle(mut self) -> Self {
        self.shuffle = false;
        self
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn shard(&self) -> Shard {
        self.shard
    }

    pub fn ports(&self) -> &Arc<[u16]> {
        &self.ports
    }

    /// Ports probed on host number `host_index` in this shard.
    pub fn ports_for_host(&self, host_index: u64) -> u32 {
        share_len(self.ports.len() as u32, self.shard, host_index)
    }

    /// Probes in this shard when the host count is known.
    pub fn probe_count(&self) -> Option<u64> {
        self.host_count
            .map(|hosts| shard_probe_count(hosts, self.ports.len() as u32, self.shard))
    }

    /// Probes in this shard for a given host count.
    pub fn probe_count_for(&self, hosts: u64) -> u64 {
        shard_probe_count(hosts, self.ports.len() as u32, self.shard)
    }

    /// The next host and the order of its ports, skipping hosts with no share in this shard.
    pub(crate) fn next_host(&mut self, host_index: &mut u64) -> Option<HostOrder> {
        loop {
            let target = self.hosts.next()?;
            let index = *host_index;
            *host_index += 1;
            let n = self.ports.len() as u32;
            let share = share_len(n, self.shard, index);
            if share == 0 {
                continue;
            }
            let key = self.seed ^ addr_key(target.addr);
            let offset = share_offset(self.shard, index);
            let stride = self.shard.count;
            // Share indexes whose port is among the first ones come first.
            let first = if self.first > offset {
                (self.first - offset).div_ceil(stride).min(share)
            } else {
                0
            };
            let (order, rest) = if self.shuffle {
                (
                    Permutation::new(first, key),
                    // Without a first part the order is what it always was for this seed.
                    Permutation::new(
                        share - first,
                        if first == 0 { key } else { splitmix64(key) },
                    ),
                )
            } else {
                (
                    Permutation::identity(first),
                    Permutation::identity(share - first),
                )
            };
            return Some(HostOrder {
                target,
                offset,
                stride,
                order,
                rest,
                ports: Arc::clone(&self.ports),
            });
        }
    }
}

/// One host's ports in probe order.
pub(crate) struct HostOrder {
    pub target: HostTarget,
    offset: u32,
    stride: u32,
    order: Permutation,
    /// The order of the share indexes after the first `order.len()`.
    rest: Permutation,
    ports: Arc<[u16]>,
}

impl HostOrder {
    /// Number of ports this host gets.
    pub fn len(&self) -> u32 {
        self.order.len() + self.rest.len()
    }

    /// The `k`-th port to probe (`k < len`).
    pub fn port(&self, k: u32) -> u16 {
        let first = self.order.len();
        let i = if k < first {
            self.order.apply(k)
        } else {
            first + self.rest.apply(k - first)
        };
        let j = self.offset as usize + i as usize * self.stride as usize;
        self.ports[j]
    }
}

/// Index of this host's first port in the shard: pairs (host h, port index j) belong to shard
/// `(h + j) mod N`, which spreads every host over all shards.
fn share_offset(shard: Shard, host_index: u64) -> u32 {
    let n = u64::from(shard.count);
    ((u64::from(shard.index) + n - host_index % n) % n) as u32
}

fn share_len(ports: u32, shard: Shard, host_index: u64) -> u32 {
    let offset = share_offset(shard, host_index);
    if offset >= ports {
        0
    } else {
        (ports - 1 - offset) / shard.count + 1
    }
}

fn shard_probe_count(hosts: u64, ports: u32, shard: Shard) -> u64 {
    let n = u64::from(shard.count);
    (0..n.min(hosts))
        .map(|residue| {
            let hosts_with_residue = (hosts - residue).div_ceil(n);
            hosts_with_residue * u64::from(share_len(ports, shard, residue))
        })
        .sum()
}

fn addr_key(addr: IpAddr) -> u64 {
    match addr {
        IpAddr::V4(v4) => splitmix64(u64::from(u32::from(v4))),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            splitmix64((bits as u64) ^ splitmix64((bits >> 64) as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::Ipv4Addr;

    use super::*;

    fn addrs(n: u32) -> Vec<IpAddr> {
        (0..n)
            .map(|i| IpAddr::V4(Ipv4Addr::from(0x7f00_0001 + i)))
            .collect()
    }

    fn pairs(plan: &mut ScanPlan) -> Vec<(IpAddr, u16)> {
        let mut out = Vec::new();
        let mut index = 0;
        while let Some(h) = plan.next_host(&mut index) {
            for k in 0..h.len() {
                out.push((h.target.addr, h.port(k)));
            }
        }
        out
    }

    #[test]
    fn shard_parsing() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 0, count: 4 }
        );
        assert_eq!("4/4".parse::<Shard>().unwrap().to_string(), "4/4");
        for bad in ["0/4", "5/4", "1/0", "x/2", "3", "1/y", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn whole_plan_covers_every_pair_once() {
        let ports: Vec<u16> = (1..=100).collect();
        let mut plan = ScanPlan::for_addrs(addrs(7), ports, 42);
        let all = pairs(&mut plan);
        assert_eq!(all.len(), 700);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 700);
    }

    #[test]
    fn shards_partition_the_plan_whatever_their_seeds() {
        let ports: Vec<u16> = vec![1, 5, 9, 22, 80, 443, 8080];
        for count in 1..=9u32 {
            let mut union = Vec::new();
            let mut expected_total = 0;
            for index in 0..count {
                let shard = Shard { index, count };
                // Different seeds per shard must not matter for coverage.
                let mut plan = ScanPlan::for_addrs(addrs(5), ports.clone(), u64::from(index))
                    .with_shard(shard);
                expected_total += plan.probe_count().unwrap();
                union.extend(pairs(&mut plan));
            }
            assert_eq!(union.len(), 35, "count={count}");
            assert_eq!(expected_total, 35, "count={count}");
            assert_eq!(union.iter().collect::<HashSet<_>>().len(), 35);
        }
    }

    #[test]
    fn seed_reproduces_the_order() {
        let ports: Vec<u16> = (1..=1000).collect();
        let a = pairs(&mut ScanPlan::for_addrs(addrs(2), ports.clone(), 9));
        let b = pairs(&mut ScanPlan::for_addrs(addrs(2), ports.clone(), 9));
        let c = pairs(&mut ScanPlan::for_addrs(addrs(2), ports.clone(), 10));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let sorted = pairs(&mut ScanPlan::for_addrs(addrs(1), ports, 9).without_shuffle());
        assert_eq!(
            sorted.iter().map(|p| p.1).collect::<Vec<_>>(),
            (1..=1000).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_first_ports_come_first_in_every_shard_and_each_part_is_shuffled() {
        let ports: Vec<u16> = (1..=40).collect();
        let whole = pairs(&mut ScanPlan::for_addrs(addrs(3), ports.clone(), 5).with_first(6));
        for host in addrs(3) {
            let order: Vec<u16> = whole.iter().filter(|p| p.0 == host).map(|p| p.1).collect();
            let mut head = order[..6].to_vec();
            head.sort_unstable();
            assert_eq!(head, (1..=6).collect::<Vec<u16>>(), "{order:?}");
            assert_ne!(order[..6], [1, 2, 3, 4, 5, 6], "shuffled");
            let mut all = order.clone();
            all.sort_unstable();
            assert_eq!(all, ports);
        }
        // Shards: each shard's share of the first ports comes before its share of the rest,
        // and together the shards cover every pair once.
        let mut union = Vec::new();
        for i in 0..3 {
            let shard = Shard { index: i, count: 3 };
            let part = pairs(
                &mut ScanPlan::for_addrs(addrs(3), ports.clone(), 5)
                    .with_first(6)
                    .with_shard(shard),
            );
            for host in addrs(3) {
                let order: Vec<u16> = part.iter().filter(|p| p.0 == host).map(|p| p.1).collect();
                let firsts = order.iter().take_while(|&&p| p <= 6).count();
                assert!(order[firsts..].iter().all(|&p| p > 6), "{order:?}");
            }
            union.extend(part);
        }
        union.sort_unstable();
        let mut expected = whole.clone();
        expected.sort_unstable();
        assert_eq!(union, expected);
        // Without a first part, the order is unchanged.
        assert_eq!(
            pairs(&mut ScanPlan::for_addrs(addrs(2), ports.clone(), 9).with_first(0)),
            pairs(&mut ScanPlan::for_addrs(addrs(2), ports, 9))
        );
    }
}
