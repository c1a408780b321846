//! Hostname resolution: turns [`TargetSpec`]s into [`ResolvedSpec`]s, looking names up
//! concurrently with a per-name timeout. A name that fails is reported, never fatal.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::block::{AddressBlock, Family, addr_of, key_of};
use super::set::HostTarget;
use super::spec::TargetSpec;

/// How many hostnames are looked up at once.
pub const MAX_CONCURRENT_LOOKUPS: usize = 32;
/// How long one hostname lookup may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A spec whose hostname (if any) has been resolved to an address: a block of addresses, and
/// the hostname the user wrote, kept for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSpec {
    block: AddressBlock,
    name: Option<ResolvedName>,
}

/// A hostname and the address it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResolvedName {
    name: Arc<str>,
    addr: IpAddr,
}

impl ResolvedSpec {
    /// The spec for an address literal, network or octet range; `Err` carries a hostname.
    fn literal(spec: TargetSpec) -> Result<Self, String> {
        let block = match spec {
            TargetSpec::Address(addr) => AddressBlock::single(addr),
            TargetSpec::Network { addr, prefix } => AddressBlock::network(addr, prefix),
            TargetSpec::Octets(octets) => AddressBlock::Octets(octets),
            TargetSpec::Hostname { name, .. } => return Err(name),
        };
        Ok(ResolvedSpec { block, name: None })
    }

    /// The spec for a hostname resolved to `addr`, with the network around it when a prefix
    /// was given. Fails when the prefix is longer than the address.
    pub(crate) fn named(name: &str, addr: IpAddr, prefix: Option<u8>) -> Result<Self, String> {
        let block = match prefix {
            None => AddressBlock::single(addr),
            Some(prefix) => {
                let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
                let bits = if addr.is_ipv4() { 32 } else { 128 };
                if prefix > bits {
                    return Err(format!(
                        "prefix /{prefix} is longer than {bits} bits for its {family} address {addr}"
                    ));
                }
                AddressBlock::network(addr, prefix)
            }
        };
        Ok(ResolvedSpec {
            block,
            name: Some(ResolvedName {
                name: Arc::from(name),
                addr,
            }),
        })
    }

    /// The hostname the user wrote, if the spec came from one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|resolved| &*resolved.name)
    }

    /// The address a hostname resolved to, if the spec came from one.
    pub fn resolved_addr(&self) -> Option<IpAddr> {
        self.name.as_ref().map(|resolved| resolved.addr)
    }

    /// How many addresses the spec covers, saturating (an IPv6 /0 holds 2^128).
    pub fn host_count(&self) -> u128 {
        self.block.size()
    }

    /// Whether the spec covers `addr`.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let (family, key) = key_of(addr);
        self.block.contains(family, key)
    }

    /// The address block.
    pub(crate) fn block(&self) -> &AddressBlock {
        &self.block
    }

    /// The host at integer `key` of this spec; it carries the hostname when it is the address
    /// the name resolved to (the other hosts of `name/prefix` are its neighbours, not the name).
    pub(crate) fn host(&self, family: Family, key: u128) -> HostTarget {
        let addr = addr_of(family, key);
        let name = self
            .name
            .as_ref()
            .filter(|resolved| resolved.addr == addr)
            .map(|resolved| Arc::clone(&resolved.name));
        HostTarget { addr, name }
    }
}

/// A single address.
impl From<IpAddr> for ResolvedSpec {
    fn from(addr: IpAddr) -> Self {
        ResolvedSpec {
            block: AddressBlock::single(addr),
            name: None,
        }
    }
}

/// In target notation; a hostname shows with its address: `scanme.example/28 (192.0.2.16/28)`.
impl fmt::Display for ResolvedSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let block = BlockText(&self.block);
        match (&self.name, &self.block) {
            (None, _) => write!(f, "{block}"),
            (Some(resolved), AddressBlock::Network { family, prefix, .. })
                if *prefix < family.bits() =>
            {
                write!(f, "{}/{prefix} ({block})", resolved.name)
            }
            (Some(resolved), _) => write!(f, "{} ({block})", resolved.name),
        }
    }
}

/// An address block in target notation.
struct BlockText<'a>(&'a AddressBlock);

impl fmt::Display for BlockText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            AddressBlock::Network {
                family,
                first,
                prefix,
                ..
            } => {
                let addr = addr_of(*family, *first);
                if *prefix == family.bits() {
                    write!(f, "{addr}")
                } else {
                    write!(f, "{addr}/{prefix}")
                }
            }
            AddressBlock::Octets(octets) => write!(f, "{octets}"),
        }
    }
}

/// A hostname that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveFailure {
    /// The hostname as written.
    pub name: String,
    /// Why it failed.
    pub message: String,
}

impl fmt::Display for ResolveFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not resolve `{}`: {}", self.name, self.message)
    }
}

impl std::error::Error for ResolveFailure {}

/// Resolves hostnames concurrently (at most [`MAX_CONCURRENT_LOOKUPS`] at once, each within
/// [`LOOKUP_TIMEOUT`]), preferring the first IPv4 address and else the first IPv6 one, as nmap
/// does without `-6`. Each name is looked up once however often it appears. Other specs pass
/// through; order is preserved. A failed name is reported in the second list and left out of
/// the first. Needs a tokio runtime with the time driver enabled.
pub async fn resolve(specs: Vec<TargetSpec>) -> (Vec<ResolvedSpec>, Vec<ResolveFailure>) {
    let answers = look_up_all(distinct_hostnames(&specs)).await;
    let mut resolved = Vec::with_capacity(specs.len());
    let mut failures = Vec::new();
    for spec in specs {
        match spec {
            TargetSpec::Hostname { name, prefix } => {
                let answer = answers
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| Err("the lookup did not finish".to_string()));
                match answer.and_then(|addr| ResolvedSpec::named(&name, addr, prefix)) {
                    Ok(spec) => resolved.push(spec),
                    Err(message) => failures.push(ResolveFailure { name, message }),
                }
            }
            literal => resolved.extend(ResolvedSpec::literal(literal).ok()),
        }
    }
    (resolved, failures)
}

/// Converts specs that hold no hostname, without any lookup; `Err` carries the first hostname.
pub fn resolved_without_lookup(specs: Vec<TargetSpec>) -> Result<Vec<ResolvedSpec>, String> {
    specs.into_iter().map(ResolvedSpec::literal).collect()
}

/// The hostnames among the specs, each once, in order of first appearance.
fn distinct_hostnames(specs: &[TargetSpec]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    specs
        .iter()
        .filter_map(|spec| match spec {
            TargetSpec::Hostname { name, .. } => Some(name),
            _ => None,
        })
        .filter(|name| seen.insert(name.as_str()))
        .cloned()
        .collect()
}

/// Looks up every name, at most [`MAX_CONCURRENT_LOOKUPS`] at a time.
async fn look_up_all(names: Vec<String>) -> HashMap<String, Result<IpAddr, String>> {
    let mut answers = HashMap::with_capacity(names.len());
    let mut waiting = names.into_iter();
    let mut running = JoinSet::new();
    loop {
        while running.len() < MAX_CONCURRENT_LOOKUPS {
            let Some(name) = waiting.next() else { break };
            running.spawn(async move {
                let answer = look_up(&name).await;
                (name, answer)
            });
        }
        match running.join_next().await {
            Some(Ok((name, answer))) => {
                answers.insert(name, answer);
            }
            // A lookup task that panicked or was cancelled leaves its name without an answer,
            // which `resolve` reports as a failure of that name.
            Some(Err(_)) => {}
            None => break,
        }
    }
    answers
}

/// Looks up one hostname within the timeout and picks its preferred address.
async fn look_up(name: &str) -> Result<IpAddr, String> {
    let addrs = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, 0)))
        .await
        .map_err(|_| format!("no answer within {} s", LOOKUP_TIMEOUT.as_secs()))?
        .map_err(|error| error.to_string())?;
    preferred_address(addrs.map(|socket| socket.ip()))
        .ok_or_else(|| "the name has no addresses".to_string())
}

/// The first IPv4 address, else the first IPv6 address.
fn preferred_address(addrs: impl IntoIterator<Item = IpAddr>) -> Option<IpAddr> {
    let mut first_v6 = None;
    for addr in addrs {
        if addr.is_ipv4() {
            return Some(addr);
        }
        first_v6.get_or_insert(addr);
    }
    first_v6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::spec::parse_target;

    fn spec(token: &str) -> TargetSpec {
        parse_target(token).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn prefers_ipv4_then_first_ipv6() {
        assert_eq!(
            preferred_address([ip("::1"), ip("10.0.0.2"), ip("10.0.0.1")]),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(
            preferred_address([ip("2001:db8::2"), ip("2001:db8::1")]),
            Some(ip("2001:db8::2"))
        );
        assert_eq!(preferred_address([]), None);
    }

    #[test]
    fn literals_convert_without_lookup() {
        let resolved = resolved_without_lookup(vec![
            spec("10.0.0.1"),
            spec("10.0.0.0/30"),
            spec("10.0.0.1-3"),
        ])
        .unwrap();
        assert_eq!(resolved.len(), 3);
        assert_eq!(resolved[0].host_count(), 1);
        assert_eq!(resolved[1].host_count(), 4);
        assert_eq!(resolved[2].host_count(), 3);
        assert_eq!(resolved[0].name(), None);
        assert_eq!(resolved[0], ResolvedSpec::from(ip("10.0.0.1")));
    }

    #[test]
    fn hostnames_need_a_lookup() {
        assert_eq!(
            resolved_without_lookup(vec![
                spec("10.0.0.1"),
                spec("db.example"),
                spec("x.example")
            ]),
            Err("db.example".to_string())
        );
    }

    #[test]
    fn named_prefix_must_fit_the_address() {
        let v4 = ResolvedSpec::named("h.example", ip("192.0.2.9"), Some(28)).unwrap();
        assert_eq!(v4.host_count(), 16);
        assert!(v4.contains(ip("192.0.2.0")));
        assert!(!v4.contains(ip("192.0.2.16")));
        assert_eq!(v4.to_string(), "h.example/28 (192.0.2.0/28)");
        let error = ResolvedSpec::named("h.example", ip("192.0.2.9"), Some(64)).unwrap_err();
        assert!(
            error.contains("prefix /64 is longer than 32 bits"),
            "{error}"
        );
        let v6 = ResolvedSpec::named("h.example", ip("2001:db8::9"), Some(64)).unwrap();
        assert_eq!(v6.host_count(), 1 << 64);
    }

    #[test]
    fn display() {
        let plain = resolved_without_lookup(vec![
            spec("10.0.0.7/24"),
            spec("10.0.0.1"),
            spec("2001:db8::/120"),
            spec("10.0.*.1"),
        ])
        .unwrap();
        let shown: Vec<String> = plain.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["10.0.0.0/24", "10.0.0.1", "2001:db8::/120", "10.0.*.1"]
        );
        let named = ResolvedSpec::named("localhost", ip("127.0.0.1"), None).unwrap();
        assert_eq!(named.to_string(), "localhost (127.0.0.1)");
        let failure = ResolveFailure {
            name: "x.invalid".to_string(),
            message: "not found".to_string(),
        };
        assert_eq!(
            failure.to_string(),
            "could not resolve `x.invalid`: not found"
        );
    }

    #[test]
    fn only_the_resolved_address_carries_the_name() {
        let named = ResolvedSpec::named("h.example", ip("192.0.2.9"), Some(30)).unwrap();
        let (family, key) = key_of(ip("192.0.2.9"));
        assert_eq!(named.host(family, key).name.as_deref(), Some("h.example"));
        assert_eq!(named.host(family, key - 1).name, None);
        assert_eq!(named.host(family, key - 1).addr, ip("192.0.2.8"));
    }

    #[test]
    fn distinct_names_in_order() {
        let specs = vec![
            spec("b.example"),
            spec("10.0.0.1"),
            spec("a.example/30"),
            spec("b.example/29"),
        ];
        assert_eq!(distinct_hostnames(&specs), ["b.example", "a.example"]);
    }

    #[tokio::test]
    async fn resolves_localhost_and_keeps_the_name() {
        let (resolved, failures) =
            resolve(vec![spec("10.0.0.1"), spec("localhost"), spec("10.0.0.2")]).await;
        assert_eq!(failures, vec![]);
        assert_eq!(resolved.len(), 3);
        assert_eq!(resolved[0], ResolvedSpec::from(ip("10.0.0.1")));
        assert_eq!(resolved[1].name(), Some("localhost"));
        let addr = resolved[1].resolved_addr().unwrap();
        assert!(
            addr == ip("127.0.0.1") || addr == ip("::1"),
            "localhost resolved to {addr}"
        );
        assert_eq!(resolved[1].host_count(), 1);
        assert_eq!(resolved[2], ResolvedSpec::from(ip("10.0.0.2")));
    }

    #[tokio::test]
    async fn a_failed_name_is_reported_and_the_rest_come_back() {
        let (resolved, failures) = resolve(vec![
            spec("10.0.0.1"),
            spec("no-such-host.invalid"),
            spec("localhost"),
            spec("::1"),
        ])
        .await;
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].name, "no-such-host.invalid");
        assert!(!failures[0].message.is_empty());
        assert!(
            failures[0]
                .to_string()
                .starts_with("could not resolve `no-such-host.invalid`: ")
        );
        assert_eq!(resolved.len(), 3);
        assert_eq!(resolved[0], ResolvedSpec::from(ip("10.0.0.1")));
        assert_eq!(resolved[1].name(), Some("localhost"));
        assert_eq!(resolved[2], ResolvedSpec::from(ip("::1")));
    }

    #[tokio::test]
    async fn a_prefix_too_long_for_the_address_fails_that_target() {
        let (resolved, failures) = resolve(vec![spec("localhost/100")]).await;
        // localhost may resolve to ::1 (fits /100) or 127.0.0.1 (does not).
        match resolved.first() {
            Some(spec) => assert_eq!(spec.resolved_addr(), Some(ip("::1"))),
            None => assert!(failures[0].message.contains("longer than 32 bits")),
        }
    }
}
