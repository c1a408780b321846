//! Scenario files: the simulated network's hosts, ports, latencies and interfering behaviours.
//!
//! A scenario is a TOML document (the format is documented in `src/sim/FORMAT.md`). Parsing goes
//! in two steps: serde reads the text into `Raw*` types that mirror the file (every table denies
//! unknown keys, and values keep their byte span), then `validate` checks every rule and builds
//! the model types the `Simulated` prober runs. Every error starts with `ORIGIN:LINE:COL:` and
//! names the key and what is allowed.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use crate::duration::{format_duration, parse_duration};

/// The largest scenario file read from disk.
pub const MAX_SCENARIO_FILE_BYTES: u64 = 1024 * 1024;

/// Most hosts one entry may hold when a behaviour keeps per-host state (`scope = "host"` on
/// `shun`, `rate_limit`, `rst_limit`, or any behaviour triggered by `after_probes`).
pub const MAX_STATEFUL_HOSTS: u128 = 1 << 20;

/// Most `[[hosts]]` entries in one scenario.
pub const MAX_HOST_ENTRIES: usize = 10_000;

/// Most behaviours on one host entry.
pub const MAX_BEHAVIOURS_PER_ENTRY: usize = 32;

/// Port set scanned when a scenario does not say.
const DEFAULT_PORT_SPEC: &str = "1-1024";

/// Connect latency when an entry does not say.
const DEFAULT_LATENCY_MEDIAN: Duration = Duration::from_millis(1);

/// The z-score of the 99th percentile of a standard normal distribution.
pub(crate) const Z_P99: f64 = 2.326_347_874;

/// A simulated network: what the `Simulated` prober answers, and how the demo scans it.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name (`shun`, or the file's `name` key).
    pub name: String,
    /// One-line story of the scenario.
    pub description: String,
    targets: Vec<String>,
    port_spec: String,
    timeout: Option<Duration>,
    concurrency: Option<u32>,
    rate: Option<f64>,
    duration: Option<Duration>,
    pub(crate) link_loss_at: Option<Duration>,
    pub(crate) hosts: Vec<HostSpec>,
}

impl Scenario {
    /// Target specs the demo scans (addresses and CIDR blocks), in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.clone()
    }

    /// The port set the demo scans, as an nmap-style spec such as `1-1024`.
    pub fn port_spec(&self) -> &str {
        &self.port_spec
    }

    /// The per-probe timeout the story is told with, if the scenario names one.
    pub fn suggested_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The probes in flight the story is told with, if the scenario names it.
    pub fn suggested_concurrency(&self) -> Option<u32> {
        self.concurrency
    }

    /// The probes per second the story is told with, if the scenario names it.
    pub fn suggested_rate(&self) -> Option<f64> {
        self.rate
    }

    /// How long (virtual time) the story runs, if the scenario says.
    pub fn virtual_duration_hint(&self) -> Option<Duration> {
        self.duration
    }

    /// When every host goes silent because the scanner's own link is lost, if ever.
    pub fn link_loss_at(&self) -> Option<Duration> {
        self.link_loss_at
    }

    /// Number of host entries (`[[hosts]]` tables).
    pub fn host_entries(&self) -> usize {
        self.hosts.len()
    }

    /// Number of simulated addresses over all entries (saturating for huge IPv6 blocks).
    pub fn address_count(&self) -> u128 {
        self.hosts
            .iter()
            .fold(0u128, |n, h| n.saturating_add(h.range.len()))
    }
}

/// The addresses one host entry covers: an inclusive numeric range of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddrRange {
    V4 { first: u32, last: u32 },
    V6 { first: u128, last: u128 },
}

impl AddrRange {
    /// Number of addresses in the range.
    pub(crate) fn len(&self) -> u128 {
        match *self {
            AddrRange::V4 { first, last } => u128::from(last - first) + 1,
            AddrRange::V6 { first, last } => (last - first).saturating_add(1),
        }
    }

    fn overlaps(&self, other: &AddrRange) -> bool {
        match (*self, *other) {
            (AddrRange::V4 { first: a, last: b }, AddrRange::V4 { first: c, last: d }) => {
                a <= d && c <= b
            }
            (AddrRange::V6 { first: a, last: b }, AddrRange::V6 { first: c, last: d }) => {
                a <= d && c <= b
            }
            _ => false,
        }
    }
}

/// A set of TCP ports: sorted, disjoint, non-adjacent inclusive ranges (a few bytes for the
/// usual lists, whatever the number of hosts in the entry).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PortSet {
    ranges: Box<[(u16, u16)]>,
}

impl PortSet {
    /// The set of the ports in `ranges` (in any order, overlapping or not).
    fn from_ranges(ranges: &[(u16, u16)]) -> Self {
        let mut sorted = ranges.to_vec();
        sorted.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(sorted.len());
        for (first, last) in sorted {
            match merged.last_mut() {
                Some(prev) if u32::from(first) <= u32::from(prev.1) + 1 => {
                    prev.1 = prev.1.max(last)
                }
                _ => merged.push((first, last)),
            }
        }
        PortSet {
            ranges: merged.into_boxed_slice(),
        }
    }

    /// True when `port` is in the set.
    #[inline]
    pub(crate) fn contains(&self, port: u16) -> bool {
        let after = self.ranges.partition_point(|r| r.0 <= port);
        after > 0 && port <= self.ranges[after - 1].1
    }

    /// The lowest port in both sets, if any.
    fn first_common(&self, other: &PortSet) -> Option<u16> {
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (self.ranges.get(i), other.ranges.get(j)) {
            if a.0.max(b.0) <= a.1.min(b.1) {
                return Some(a.0.max(b.0));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        None
    }

    /// Number of ports in the set.
    pub(crate) fn count(&self) -> u32 {
        self.ranges
            .iter()
            .map(|&(a, b)| u32::from(b) - u32::from(a) + 1)
            .sum()
    }
}

impl fmt::Debug for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PortSet({} ports in {} ranges)",
            self.count(),
            self.ranges.len()
        )
    }
}

/// Connect latency of one entry: a log-normal distribution fitted to its median and 99th percentile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LatencySpec {
    pub(crate) median: Duration,
    pub(crate) p99: Duration,
}

impl LatencySpec {
    /// The log-normal shape parameter: `ln(p99 / median) / z(0.99)`.
    pub(crate) fn sigma(&self) -> f64 {
        let median = self.median.as_secs_f64();
        let p99 = self.p99.as_secs_f64();
        if median <= 0.0 || p99 <= median {
            0.0
        } else {
            (p99 / median).ln() / Z_P99
        }
    }
}

/// Which addresses share one behaviour's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scope {
    /// Each host keeps its own counters (an IPS protecting one host).
    Host,
    /// All hosts of the entry share one state (a firewall guarding the whole block).
    Group,
}

/// When a behaviour is in force: from `start` (virtual time), after `after_probes` SYNs to its
/// scope, until `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trigger {
    pub(crate) start: Duration,
    pub(crate) after_probes: u64,
    pub(crate) end: Option<Duration>,
}

/// What a deception device does once it has completed the handshake on every port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeceptionMode {
    /// Closes the connection at once (SYN proxy, some tarpits).
    Closes,
    /// Holds the connection open and says nothing (LaBrea-style tarpit).
    Silent,
    /// Sends the same banner on every port (honeypot, deception grid).
    Banner(Arc<[u8]>),
}

/// What a port becomes in a `port_change`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PortFate {
    /// Answers RST: the service really went away.
    Closed,
    /// Stops answering: a new filter rule, or interference.
    Silent,
}

/// One interfering behaviour, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BehaviourKind {
    /// After `syns` SYNs within `window`, drop everything for `ban`.
    Shun {
        syns: u64,
        window: Duration,
        ban: Duration,
    },
    /// SYNs above `per_second` silently dropped (a policer: over the rate, each SYN passes
    /// with probability `per_second / offered rate`).
    RateLimit { per_second: f64 },
    /// RSTs from closed ports above `per_second` (bucket `burst`) not sent.
    RstLimit { per_second: f64, burst: f64 },
    /// Every port completes the handshake.
    Deception { mode: DeceptionMode },
    /// Latency multiplied by `factor`, and SYNs lost with probability `loss`.
    Qos { factor: f64, loss: f64 },
    /// One port becomes closed or silent.
    PortChange { port: u16, to: PortFate },
}

impl BehaviourKind {
    /// True when the behaviour keeps counters or buckets of its own.
    pub(crate) fn has_state(&self) -> bool {
        matches!(
            self,
            BehaviourKind::Shun { .. }
                | BehaviourKind::RateLimit { .. }
                | BehaviourKind::RstLimit { .. }
        )
    }
}

/// A behaviour attached to a host entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BehaviourSpec {
    pub(crate) kind: BehaviourKind,
    pub(crate) scope: Scope,
    pub(crate) trigger: Trigger,
}

impl BehaviourSpec {
    /// True when the behaviour needs a state cell per scope (host or group).
    pub(crate) fn needs_state(&self) -> bool {
        self.kind.has_state() || self.trigger.after_probes > 0
    }
}

/// One `[[hosts]]` entry, validated.
#[derive(Debug, Clone)]
pub(crate) struct HostSpec {
    /// The address or CIDR as written.
    pub(crate) label: String,
    pub(crate) range: AddrRange,
    pub(crate) open: PortSet,
    pub(crate) filtered: PortSet,
    pub(crate) down: bool,
    pub(crate) latency: LatencySpec,
    pub(crate) loss: f64,
    /// Banners of open ports, sorted by port.
    pub(crate) banners: Vec<(u16, Arc<[u8]>)>,
    /// In file order: the order a SYN meets them on its way to the host.
    pub(crate) behaviours: Vec<BehaviourSpec>,
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Parses and validates a scenario; `origin` (a file name, or `builtin:NAME`) prefixes errors.
pub fn parse_scenario(text: &str, origin: &str) -> Result<Scenario, String> {
    let locator = Locator { text, origin };
    let raw: RawScenario = toml::from_str(text).map_err(|e| locator.toml_error(&e))?;
    validate(raw, &locator)
}

/// Reads and parses a scenario file; unreadable, binary or oversized files are errors naming it.
pub fn load_scenario_file(path: &Path) -> Result<Scenario, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("{name}: cannot read: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{name}: is a directory, not a scenario file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SCENARIO_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{name}: cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_SCENARIO_FILE_BYTES {
        return Err(format!(
            "{name}: larger than {} KiB; a scenario file is a short TOML document",
            MAX_SCENARIO_FILE_BYTES / 1024
        ));
    }
    if bytes.contains(&0) {
        return Err(format!(
            "{name}: binary file; a scenario is a TOML text file"
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{name}: not UTF-8 text; a scenario is a TOML text file"))?;
    parse_scenario(&text, &name.to_string())
}

// ---------------------------------------------------------------------------------------------
// Error locations
// ---------------------------------------------------------------------------------------------

/// Turns byte spans into `ORIGIN:LINE:COL:` prefixes.
struct Locator<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Locator<'_> {
    /// `ORIGIN:LINE:COL: message` for the start of `span`.
    fn at(&self, span: &Range<usize>, message: impl fmt::Display) -> String {
        let (line, col) = line_col(self.text, span.start);
        format!("{}:{line}:{col}: {message}", self.origin)
    }

    /// Converts a TOML error, adding the dotted key path it happened under.
    fn toml_error(&self, err: &toml::de::Error) -> String {
        let mut keyed = err.clone();
        keyed.set_input(None);
        let rendered = keyed.to_string();
        let path = rendered
            .lines()
            .find_map(|l| l.strip_prefix("in `").and_then(|l| l.strip_suffix('`')));
        let message = match path {
            Some(path) => format!("in `{path}`: {}", err.message()),
            None => err.message().to_string(),
        };
        match err.span() {
            Some(span) => self.at(&span, message),
            None => format!("{}: {message}", self.origin),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

// ---------------------------------------------------------------------------------------------
// Raw file types
// ---------------------------------------------------------------------------------------------

/// The document as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    ports: Option<Spanned<String>>,
    targets: Option<Spanned<Vec<Spanned<String>>>>,
    timeout: Option<Spanned<DurationValue>>,
    concurrency: Option<Spanned<u32>>,
    rate: Option<Spanned<f64>>,
    duration: Option<Spanned<DurationValue>>,
    link_loss: Option<RawLinkLoss>,
    #[serde(default)]
    hosts: Vec<RawHost>,
}

/// `[link_loss]`: the scanner's own link drops.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinkLoss {
    at: DurationValue,
}

/// One `[[hosts]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    addr: Spanned<String>,
    open: Option<PortList>,
    filtered: Option<PortList>,
    #[serde(default)]
    down: bool,
    latency: Option<RawLatency>,
    loss: Option<Spanned<f64>>,
    banners: Option<BTreeMap<Spanned<BannerPort>, String>>,
    #[serde(default, alias = "behaviors")]
    behaviours: Vec<RawBehaviour>,
}

/// `latency = { median = "2ms", p99 = "10ms" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLatency {
    median: Spanned<DurationValue>,
    p99: Option<Spanned<DurationValue>>,
}

/// The behaviour kinds a file may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KindName {
    Shun,
    RateLimit,
    RstLimit,
    Deception,
    Qos,
    PortChange,
}

impl KindName {
    fn as_str(self) -> &'static str {
        match self {
            KindName::Shun => "shun",
            KindName::RateLimit => "rate_limit",
            KindName::RstLimit => "rst_limit",
            KindName::Deception => "deception",
            KindName::Qos => "qos",
            KindName::PortChange => "port_change",
        }
    }

    /// Keys this kind requires, then keys it accepts, beside the common trigger keys.
    fn keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            KindName::Shun => (&["syns", "window", "ban"], &[]),
            KindName::RateLimit => (&["per_second"], &[]),
            KindName::RstLimit => (&["per_second"], &["burst"]),
            KindName::Deception => (&["mode"], &["banner"]),
            KindName::Qos => (&["factor"], &["loss"]),
            KindName::PortChange => (&["port", "to"], &[]),
        }
    }
}

/// The deception modes a file may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModeName {
    Closes,
    Silent,
    Banner,
}

/// One `[[hosts.behaviours]]` table as written: the common trigger keys and every kind's keys;
/// `validate_behaviour` rejects keys that do not belong to the named kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBehaviour {
    kind: Spanned<KindName>,
    scope: Option<Scope>,
    #[serde(alias = "at")]
    start: Option<Spanned<DurationValue>>,
    after_probes: Option<Spanned<u64>>,
    end: Option<Spanned<DurationValue>>,
    syns: Option<Spanned<u64>>,
    window: Option<Spanned<DurationValue>>,
    ban: Option<Spanned<DurationValue>>,
    per_second: Option<Spanned<f64>>,
    burst: Option<Spanned<f64>>,
    mode: Option<Spanned<ModeName>>,
    banner: Option<Spanned<String>>,
    factor: Option<Spanned<f64>>,
    loss: Option<Spanned<f64>>,
    port: Option<Spanned<i64>>,
    to: Option<Spanned<PortFate>>,
}

impl RawBehaviour {
    /// Kind-specific keys present in the table, with where they are.
    fn present_keys(&self) -> Vec<(&'static str, Range<usize>)> {
        fn span<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
            v.as_ref().map(Spanned::span)
        }
        [
            ("syns", span(&self.syns)),
            ("window", span(&self.window)),
            ("ban", span(&self.ban)),
            ("per_second", span(&self.per_second)),
            ("burst", span(&self.burst)),
            ("mode", span(&self.mode)),
            ("banner", span(&self.banner)),
            ("factor", span(&self.factor)),
            ("loss", span(&self.loss)),
            ("port", span(&self.port)),
            ("to", span(&self.to)),
        ]
        .into_iter()
        .filter_map(|(key, span)| span.map(|s| (key, s)))
        .collect()
    }
}

/// A duration written as a string (`"30s"`, `"1.5m"`) or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DurationValue(Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\", \"30s\" or \"2m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DurationValue, E> {
                parse_duration(s).map(DurationValue).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<DurationValue, E> {
                u64::try_from(n)
                    .map(|s| DurationValue(Duration::from_secs(s)))
                    .map_err(|_| E::custom(format!("duration {n} is negative")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<DurationValue, E> {
                Ok(DurationValue(Duration::from_secs(n)))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<DurationValue, E> {
                if x.is_finite() && (0.0..=1e9).contains(&x) {
                    Ok(DurationValue(Duration::from_secs_f64(x)))
                } else {
                    Err(E::custom(format!(
                        "duration {x} must be between 0 and 1e9 seconds"
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A port list: an nmap-style string (`"22,80,8000-8100"`) or an array of port numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PortList(Vec<(u16, u16)>);

impl<'de> Deserialize<'de> for PortList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PortList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port list such as \"22,80,8000-8100\" or [22, 80]")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PortList, E> {
                parse_port_list(s).map(PortList).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PortList, A::Error> {
                let mut ranges = Vec::new();
                while let Some(n) = seq.next_element::<i64>()? {
                    let port = port_number(n).map_err(de::Error::custom)?;
                    ranges.push((port, port));
                }
                Ok(PortList(ranges))
            }
        }
        d.deserialize_any(V)
    }
}

/// A key of the `banners` table: a port number written as a TOML key (`22 = "SSH-2.0-…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct BannerPort(u16);

impl<'de> Deserialize<'de> for BannerPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let n: i64 = text.trim().parse().map_err(|_| {
            de::Error::custom(format!(
                "banner key `{text}` is not a port number; write e.g. 22 = \"SSH-2.0-OpenSSH_9.6\""
            ))
        })?;
        port_number(n).map(BannerPort).map_err(de::Error::custom)
    }
}

/// Checks a port number is 1–65535.
fn port_number(n: i64) -> Result<u16, String> {
    match u16::try_from(n) {
        Ok(p) if p >= 1 => Ok(p),
        _ => Err(format!("port {n} is out of range; ports are 1-65535")),
    }
}

/// Parses a port list of a host entry with the scan's own port-spec syntax
/// (`crate::ports::parse_port_spec`: ports, ranges, service names), as inclusive ranges.
/// Port 0 cannot be simulated.
pub(crate) fn parse_port_list(spec: &str) -> Result<Vec<(u16, u16)>, String> {
    let ports = crate::ports::parse_port_spec(spec)?;
    if ports.first() == Some(&0) {
        return Err(format!(
            "port list `{spec}` includes port 0; simulated ports are 1-65535"
        ));
    }
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for port in ports {
        match ranges.last_mut() {
            Some(last) if u32::from(last.1) + 1 == u32::from(port) => last.1 = port,
            _ => ranges.push((port, port)),
        }
    }
    Ok(ranges)
}

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/// Blocks simulated hosts may live in: loopback and the documentation ranges, never routed.
const ALLOWED_V4: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
];
const ALLOWED_V6: [(Ipv6Addr, u8); 2] = [
    (Ipv6Addr::LOCALHOST, 128),
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32),
];
const ALLOWED_TEXT: &str = "simulated hosts must be loopback or documentation addresses \
    (127.0.0.0/8, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, ::1, 2001:db8::/32)";

/// Parses `ADDR` or `ADDR/PREFIX` into a range inside the allowed blocks.
pub(crate) fn parse_sim_range(text: &str) -> Result<AddrRange, String> {
    let text = text.trim();
    let (addr_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text.parse().map_err(|_| {
        format!("`{text}` is not an IP address or CIDR block (e.g. 127.0.0.5 or 127.1.0.0/16)")
    })?;
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix_text {
        None => bits,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if u32::from(n) <= bits => u32::from(n),
            _ => {
                return Err(format!(
                    "`/{p}` in `{text}` is not a prefix length 0-{bits}"
                ));
            }
        },
    };
    let range = match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            let first = u32::from(a) & mask;
            if first != u32::from(a) {
                return Err(format!(
                    "`{text}` has host bits set; the block is {}/{prefix}",
                    Ipv4Addr::from(first)
                ));
            }
            AddrRange::V4 {
                first,
                last: first | !mask,
            }
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            let first = u128::from(a) & mask;
            if first != u128::from(a) {
                return Err(format!(
                    "`{text}` has host bits set; the block is {}/{prefix}",
                    Ipv6Addr::from(first)
                ));
            }
            AddrRange::V6 {
                first,
                last: first | !mask,
            }
        }
    };
    if is_allowed(&range) {
        Ok(range)
    } else {
        Err(format!("`{text}`: {ALLOWED_TEXT}"))
    }
}

/// True when the whole range lies inside one allowed block.
fn is_allowed(range: &AddrRange) -> bool {
    match *range {
        AddrRange::V4 { first, last } => ALLOWED_V4.iter().any(|&(net, prefix)| {
            let mask = u32::MAX << (32 - u32::from(prefix));
            first & mask == u32::from(net) && last & mask == u32::from(net)
        }),
        AddrRange::V6 { first, last } => ALLOWED_V6.iter().any(|&(net, prefix)| {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            first & mask == u128::from(net) && last & mask == u128::from(net)
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Checks every rule and builds the model.
fn validate(raw: RawScenario, loc: &Locator<'_>) -> Result<Scenario, String> {
    let port_spec = match &raw.ports {
        Some(spec) => {
            crate::ports::parse_port_spec(spec.get_ref())
                .map_err(|e| loc.at(&spec.span(), format!("`ports`: {e}")))?;
            spec.get_ref().trim().to_string()
        }
        None => DEFAULT_PORT_SPEC.to_string(),
    };
    let timeout = match raw.timeout {
        Some(t) if t.get_ref().0.is_zero() => {
            return Err(loc.at(&t.span(), "`timeout` must be longer than 0"));
        }
        t => t.map(|t| t.into_inner().0),
    };
    if let Some(c) = &raw.concurrency
        && *c.get_ref() == 0
    {
        return Err(loc.at(&c.span(), "`concurrency` must be at least 1"));
    }
    if let Some(r) = &raw.rate {
        let r_val = *r.get_ref();
        if !(r_val.is_finite() && r_val > 0.0) {
            return Err(loc.at(
                &r.span(),
                format!("`rate` = {r_val}: must be a number of probes per second above 0"),
            ));
        }
    }
    let mut hosts = Vec::with_capacity(raw.hosts.len());
    let mut host_spans = Vec::with_capacity(raw.hosts.len());
    if let Some(extra) = raw.hosts.get(MAX_HOST_ENTRIES) {
        return Err(loc.at(
            &extra.addr.span(),
            format!("too many `[[hosts]]` entries; at most {MAX_HOST_ENTRIES} (use CIDR blocks)"),
        ));
    }
    for raw_host in raw.hosts {
        let span = raw_host.addr.span();
        hosts.push(validate_host(raw_host, loc)?);
        host_spans.push(span);
    }
    check_overlaps(&hosts, &host_spans, loc)?;
    let targets = match raw.targets {
        Some(list) if list.get_ref().is_empty() => {
            return Err(loc.at(
                &list.span(),
                "`targets` is empty: the demo would scan nothing; list addresses or leave the key out",
            ));
        }
        Some(list) => {
            let list = list.into_inner();
            let mut targets = Vec::with_capacity(list.len());
            for t in list {
                parse_sim_range(t.get_ref())
                    .map_err(|e| loc.at(&t.span(), format!("`targets`: {e}")))?;
                targets.push(t.into_inner().trim().to_string());
            }
            targets
        }
        None if hosts.is_empty() => {
            return Err(format!(
                "{}: the scenario has no `[[hosts]]` entry and no `targets`: the demo would scan nothing",
                loc.origin
            ));
        }
        None => hosts.iter().map(|h| h.label.clone()).collect(),
    };
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| loc.origin.to_string()),
        description: raw.description.unwrap_or_default(),
        targets,
        port_spec,
        timeout,
        concurrency: raw.concurrency.map(Spanned::into_inner),
        rate: raw.rate.map(Spanned::into_inner),
        duration: raw.duration.map(|d| d.into_inner().0),
        link_loss_at: raw.link_loss.map(|l| l.at.0),
        hosts,
    })
}

/// Rejects host entries whose address ranges overlap, naming both.
fn check_overlaps(
    hosts: &[HostSpec],
    spans: &[Range<usize>],
    loc: &Locator<'_>,
) -> Result<(), String> {
    let mut order: Vec<usize> = (0..hosts.len()).collect();
    order.sort_by_key(|&i| range_key(&hosts[i].range));
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if hosts[a].range.overlaps(&hosts[b].range) {
            let (first, second) = if a < b { (a, b) } else { (b, a) };
            let (line, _) = line_col(loc.text, spans[first].start);
            return Err(loc.at(
                &spans[second],
                format!(
                    "`addr` = \"{}\" overlaps the host entry \"{}\" on line {line}; each address may be in one entry only",
                    hosts[second].label, hosts[first].label
                ),
            ));
        }
    }
    Ok(())
}

/// Sort key putting IPv4 before IPv6, each by first address.
fn range_key(range: &AddrRange) -> (u8, u128) {
    match *range {
        AddrRange::V4 { first, .. } => (4, u128::from(first)),
        AddrRange::V6 { first, .. } => (6, first),
    }
}

/// Checks a probability is within 0..=1.
fn check_probability(value: &Spanned<f64>, key: &str, loc: &Locator<'_>) -> Result<f64, String> {
    let v = *value.get_ref();
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(loc.at(
            &value.span(),
            format!("`{key}` = {v}: a loss probability must be between 0 and 1"),
        ))
    }
}

/// Validates one `[[hosts]]` entry.
fn validate_host(raw: RawHost, loc: &Locator<'_>) -> Result<HostSpec, String> {
    let addr_span = raw.addr.span();
    let label = raw.addr.get_ref().trim().to_string();
    let range = parse_sim_range(&label).map_err(|e| loc.at(&addr_span, format!("`addr`: {e}")))?;
    let open = PortSet::from_ranges(raw.open.as_ref().map_or(&[][..], |p| &p.0));
    let filtered = PortSet::from_ranges(raw.filtered.as_ref().map_or(&[][..], |p| &p.0));
    if let Some(port) = open.first_common(&filtered) {
        return Err(loc.at(
            &addr_span,
            format!("host `{label}`: port {port} is in both `open` and `filtered`"),
        ));
    }
    let latency = validate_latency(raw.latency, loc)?;
    let loss = match &raw.loss {
        Some(l) => check_probability(l, "loss", loc)?,
        None => 0.0,
    };
    let mut banners = Vec::new();
    for (port, text) in raw.banners.unwrap_or_default() {
        let p = port.get_ref().0;
        if !open.contains(p) {
            return Err(loc.at(
                &port.span(),
                format!("`banners`: port {p} is not in `open` of host `{label}`; only open ports send banners"),
            ));
        }
        banners.push((p, Arc::from(text.into_bytes().into_boxed_slice())));
    }
    if raw.behaviours.len() > MAX_BEHAVIOURS_PER_ENTRY {
        return Err(loc.at(
            &addr_span,
            format!(
                "host `{label}` has {} behaviours; at most {MAX_BEHAVIOURS_PER_ENTRY} are allowed",
                raw.behaviours.len()
            ),
        ));
    }
    let mut behaviours = Vec::with_capacity(raw.behaviours.len());
    for b in raw.behaviours {
        let kind_span = b.kind.span();
        let spec = validate_behaviour(b, loc)?;
        if spec.scope == Scope::Host && spec.needs_state() && range.len() > MAX_STATEFUL_HOSTS {
            return Err(loc.at(
                &kind_span,
                format!(
                    "`scope` = \"host\" keeps state per host, and `{label}` holds {} addresses; \
                     use at most {MAX_STATEFUL_HOSTS} addresses (a /12) or scope = \"group\"",
                    range.len()
                ),
            ));
        }
        behaviours.push(spec);
    }
    Ok(HostSpec {
        label,
        range,
        open,
        filtered,
        down: raw.down,
        latency,
        loss,
        banners,
        behaviours,
    })
}

/// Validates `latency = { median, p99 }`.
fn validate_latency(raw: Option<RawLatency>, loc: &Locator<'_>) -> Result<LatencySpec, String> {
    let Some(raw) = raw else {
        return Ok(LatencySpec {
            median: DEFAULT_LATENCY_MEDIAN,
            p99: DEFAULT_LATENCY_MEDIAN * 2,
        });
    };
    let median = raw.median.get_ref().0;
    if median.is_zero() {
        return Err(loc.at(&raw.median.span(), "`latency.median` must be longer than 0"));
    }
    let p99 = match &raw.p99 {
        Some(p) => {
            let p99 = p.get_ref().0;
            if p99 < median {
                return Err(loc.at(
                    &p.span(),
                    format!(
                        "`latency.p99` = {} is below `latency.median` = {}; p99 must be at least the median",
                        format_duration(p99),
                        format_duration(median)
                    ),
                ));
            }
            p99
        }
        None => median.saturating_mul(2),
    };
    Ok(LatencySpec { median, p99 })
}

/// Validates one behaviour table: keys belonging to its kind, values in range.
fn validate_behaviour(b: RawBehaviour, loc: &Locator<'_>) -> Result<BehaviourSpec, String> {
    let kind = *b.kind.get_ref();
    let kind_span = b.kind.span();
    let name = kind.as_str();
    let (required, optional) = kind.keys();
    for (key, span) in b.present_keys() {
        if !required.contains(&key) && !optional.contains(&key) {
            let mut allowed: Vec<&str> = required.iter().chain(optional).copied().collect();
            allowed.extend(["scope", "start", "after_probes", "end"]);
            return Err(loc.at(
                &span,
                format!(
                    "`{key}` does not apply to kind `{name}`; its keys are: {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let present = b.present_keys();
    for key in required {
        if !present.iter().any(|(k, _)| k == key) {
            return Err(loc.at(
                &kind_span,
                format!(
                    "kind `{name}` needs `{key}` (required: {})",
                    required.join(", ")
                ),
            ));
        }
    }
    let trigger = validate_trigger(&b, loc)?;
    let behaviour_kind = match kind {
        KindName::Shun => validate_shun(&b, loc)?,
        KindName::RateLimit => {
            let (per_second, _) = validate_rate(&b, loc)?;
            BehaviourKind::RateLimit { per_second }
        }
        KindName::RstLimit => {
            let (per_second, burst) = validate_rate(&b, loc)?;
            BehaviourKind::RstLimit { per_second, burst }
        }
        KindName::Deception => validate_deception(&b, loc)?,
        KindName::Qos => validate_qos(&b, loc)?,
        KindName::PortChange => validate_port_change(&b, loc)?,
    };
    Ok(BehaviourSpec {
        kind: behaviour_kind,
        scope: b.scope.unwrap_or(Scope::Host),
        trigger,
    })
}

/// Validates `start` / `at`, `after_probes` and `end`.
fn validate_trigger(b: &RawBehaviour, loc: &Locator<'_>) -> Result<Trigger, String> {
    let start = b.start.as_ref().map_or(Duration::ZERO, |s| s.get_ref().0);
    let end = match &b.end {
        Some(e) => {
            let end = e.get_ref().0;
            if end <= start {
                return Err(loc.at(
                    &e.span(),
                    format!(
                        "`end` = {} must be later than `start` = {}",
                        format_duration(end),
                        format_duration(start)
                    ),
                ));
            }
            Some(end)
        }
        None => None,
    };
    Ok(Trigger {
        start,
        after_probes: b.after_probes.as_ref().map_or(0, |a| *a.get_ref()),
        end,
    })
}

/// Reads a required key the kind check has already proven present.
fn required<'a, T>(
    value: &'a Option<Spanned<T>>,
    key: &str,
    b: &RawBehaviour,
    loc: &Locator<'_>,
) -> Result<&'a Spanned<T>, String> {
    value.as_ref().ok_or_else(|| {
        loc.at(
            &b.kind.span(),
            format!("kind `{}` needs `{key}`", b.kind.get_ref().as_str()),
        )
    })
}

fn validate_shun(b: &RawBehaviour, loc: &Locator<'_>) -> Result<BehaviourKind, String> {
    let syns = required(&b.syns, "syns", b, loc)?;
    if *syns.get_ref() == 0 {
        return Err(loc.at(
            &syns.span(),
            "`syns` must be at least 1 (SYNs allowed within `window` before the ban)",
        ));
    }
    let window = required(&b.window, "window", b, loc)?;
    if window.get_ref().0 < Duration::from_millis(1) {
        return Err(loc.at(&window.span(), "`window` must be at least 1ms"));
    }
    let ban = required(&b.ban, "ban", b, loc)?;
    if ban.get_ref().0.is_zero() {
        return Err(loc.at(&ban.span(), "`ban` must be longer than 0"));
    }
    Ok(BehaviourKind::Shun {
        syns: *syns.get_ref(),
        window: window.get_ref().0,
        ban: ban.get_ref().0,
    })
}

/// Validates `per_second` and (RST limits only) `burst`, which defaults to one second's worth.
fn validate_rate(b: &RawBehaviour, loc: &Locator<'_>) -> Result<(f64, f64), String> {
    let rate = required(&b.per_second, "per_second", b, loc)?;
    let per_second = *rate.get_ref();
    if !(per_second.is_finite() && per_second > 0.0 && per_second <= 1e6) {
        return Err(loc.at(
            &rate.span(),
            format!("`per_second` = {per_second}: must be above 0 and at most 1000000"),
        ));
    }
    let burst = match &b.burst {
        Some(s) => {
            let burst = *s.get_ref();
            if !(burst.is_finite() && (1.0..=1e9).contains(&burst)) {
                return Err(loc.at(
                    &s.span(),
                    format!("`burst` = {burst}: must be at least 1 (packets let through at once)"),
                ));
            }
            burst
        }
        None => per_second.max(1.0),
    };
    Ok((per_second, burst))
}

fn validate_deception(b: &RawBehaviour, loc: &Locator<'_>) -> Result<BehaviourKind, String> {
    let mode = required(&b.mode, "mode", b, loc)?;
    let mode = match (mode.get_ref(), &b.banner) {
        (ModeName::Banner, Some(text)) => DeceptionMode::Banner(Arc::from(
            text.get_ref().as_bytes().to_vec().into_boxed_slice(),
        )),
        (ModeName::Banner, None) => {
            return Err(loc.at(
                &mode.span(),
                "`mode` = \"banner\" needs `banner`, the bytes every port sends",
            ));
        }
        (_, Some(text)) => {
            return Err(loc.at(&text.span(), "`banner` applies only to `mode` = \"banner\""));
        }
        (ModeName::Closes, None) => DeceptionMode::Closes,
        (ModeName::Silent, None) => DeceptionMode::Silent,
    };
    Ok(BehaviourKind::Deception { mode })
}

fn validate_qos(b: &RawBehaviour, loc: &Locator<'_>) -> Result<BehaviourKind, String> {
    let factor = required(&b.factor, "factor", b, loc)?;
    let f = *factor.get_ref();
    if !(f.is_finite() && (1.0..=10_000.0).contains(&f)) {
        return Err(loc.at(
            &factor.span(),
            format!("`factor` = {f}: latency inflation must be between 1 and 10000"),
        ));
    }
    let loss = match &b.loss {
        Some(l) => check_probability(l, "loss", loc)?,
        None => 0.0,
    };
    Ok(BehaviourKind::Qos { factor: f, loss })
}

fn validate_port_change(b: &RawBehaviour, loc: &Locator<'_>) -> Result<BehaviourKind, String> {
    let port = required(&b.port, "port", b, loc)?;
    let p =
        port_number(*port.get_ref()).map_err(|e| loc.at(&port.span(), format!("`port`: {e}")))?;
    let to = required(&b.to, "to", b, loc)?;
    Ok(BehaviourKind::PortChange {
        port: p,
        to: *to.get_ref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_scenario(text, "test.toml").unwrap_err()
    }

    const BASE: &str = "name = \"t\"\n[[hosts]]\naddr = \"127.0.0.1\"\nopen = \"22,80\"\n";

    #[test]
    fn minimal_scenario_has_defaults() {
        let s = parse_scenario(BASE, "test.toml").unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.port_spec(), "1-1024");
        assert_eq!(s.targets(), vec!["127.0.0.1".to_string()]);
        assert_eq!(s.suggested_timeout(), None);
        assert_eq!(s.virtual_duration_hint(), None);
        let h = &s.hosts[0];
        assert!(h.open.contains(22) && h.open.contains(80) && !h.open.contains(23));
        assert_eq!(h.latency.median, Duration::from_millis(1));
        assert_eq!(h.latency.p99, Duration::from_millis(2));
    }

    #[test]
    fn a_scenario_that_scans_nothing_is_refused() {
        for text in ["", "name = \"nothing\"\n"] {
            let e = err(text);
            assert!(e.starts_with("test.toml: "), "{e}");
            assert!(e.contains("no `[[hosts]]` entry and no `targets`"), "{e}");
        }
        let e = err(&format!("targets = []\n{BASE}"));
        assert!(e.starts_with("test.toml:1:11: `targets` is empty"), "{e}");
        // Targets that no entry covers are fine: they never answer.
        let s = parse_scenario("targets = [\"127.0.0.5\"]\n", "test.toml").unwrap();
        assert_eq!(s.targets(), vec!["127.0.0.5".to_string()]);
    }

    #[test]
    fn full_scenario_reads_every_key() {
        let text = r#"
name = "full"
description = "everything"
ports = "1-100"
targets = ["127.0.0.0/30", "::1"]
timeout = "1500ms"
concurrency = 50
rate = 200
duration = "3m"
[link_loss]
at = "2m"
[[hosts]]
addr = "127.0.0.0/30"
open = [22, 80]
filtered = "135-139"
latency = { median = "2ms", p99 = "20ms" }
loss = 0.01
banners = { 22 = "SSH-2.0-OpenSSH_9.6\r\n" }
[[hosts.behaviours]]
kind = "shun"
scope = "group"
after_probes = 10
end = "90s"
syns = 100
window = "2s"
ban = "60s"
[[hosts.behaviours]]
kind = "port_change"
port = 80
to = "closed"
at = "30s"
[[hosts]]
addr = "::1"
down = true
"#;
        let s = parse_scenario(text, "full.toml").unwrap();
        assert_eq!(s.targets(), vec!["127.0.0.0/30", "::1"]);
        assert_eq!(s.suggested_timeout(), Some(Duration::from_millis(1500)));
        assert_eq!(s.suggested_concurrency(), Some(50));
        assert_eq!(s.suggested_rate(), Some(200.0));
        assert_eq!(s.virtual_duration_hint(), Some(Duration::from_secs(180)));
        assert_eq!(s.link_loss_at(), Some(Duration::from_secs(120)));
        assert_eq!(s.address_count(), 5);
        let h = &s.hosts[0];
        assert_eq!(h.banners[0].0, 22);
        assert_eq!(&*h.banners[0].1, b"SSH-2.0-OpenSSH_9.6\r\n");
        assert!(h.filtered.contains(137));
        assert_eq!(
            h.behaviours[0],
            BehaviourSpec {
                kind: BehaviourKind::Shun {
                    syns: 100,
                    window: Duration::from_secs(2),
                    ban: Duration::from_secs(60)
                },
                scope: Scope::Group,
                trigger: Trigger {
                    start: Duration::ZERO,
                    after_probes: 10,
                    end: Some(Duration::from_secs(90))
                },
            }
        );
        assert_eq!(h.behaviours[1].trigger.start, Duration::from_secs(30));
        assert!(s.hosts[1].down);
    }

    #[test]
    fn port_lists_parse() {
        assert_eq!(parse_port_list("22").unwrap(), vec![(22, 22)]);
        assert_eq!(
            parse_port_list("1-1024, 8080").unwrap(),
            vec![(1, 1024), (8080, 8080)]
        );
        assert_eq!(parse_port_list("-").unwrap(), vec![(1, 65535)]);
        assert_eq!(parse_port_list("60000-").unwrap(), vec![(60000, 65535)]);
        assert_eq!(
            parse_port_list("ssh, 443").unwrap(),
            vec![(22, 22), (443, 443)]
        );
        for bad in ["", "0", "0-10", "70000", "nosuchservice", "5-1", "1,,2"] {
            assert!(parse_port_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_sets_merge_and_answer_membership() {
        let set = PortSet::from_ranges(&[(80, 80), (1, 22), (20, 30), (31, 31), (443, 443)]);
        assert_eq!(set.ranges.as_ref(), &[(1, 31), (80, 80), (443, 443)]);
        assert_eq!(set.count(), 33);
        for (port, inside) in [
            (1, true),
            (31, true),
            (32, false),
            (80, true),
            (81, false),
            (443, true),
            (65535, false),
        ] {
            assert_eq!(set.contains(port), inside, "{port}");
        }
        assert!(!PortSet::from_ranges(&[]).contains(1));
        let all = PortSet::from_ranges(&[(1, 65535)]);
        assert!(all.contains(65535) && all.contains(1));
        assert_eq!(
            set.first_common(&PortSet::from_ranges(&[(25, 100)])),
            Some(25)
        );
        assert_eq!(
            set.first_common(&PortSet::from_ranges(&[(32, 79), (81, 442)])),
            None
        );
    }

    #[test]
    fn addresses_are_restricted_to_safe_blocks() {
        for ok in [
            "127.0.0.1",
            "127.0.0.0/8",
            "192.0.2.0/24",
            "198.51.100.7",
            "203.0.113.128/25",
            "::1",
            "2001:db8::/32",
            "2001:db8:1::/48",
        ] {
            assert!(parse_sim_range(ok).is_ok(), "{ok}");
        }
        for bad in [
            "10.0.0.1",
            "126.0.0.0/7",
            "8.8.8.8",
            "192.0.2.0/23",
            "2001:db9::1",
            "::2",
        ] {
            let e = parse_sim_range(bad).unwrap_err();
            assert!(e.contains("loopback or documentation"), "{bad}: {e}");
        }
        assert!(
            parse_sim_range("127.0.0.1/8")
                .unwrap_err()
                .contains("host bits")
        );
        assert!(
            parse_sim_range("127.0.0.0/33")
                .unwrap_err()
                .contains("prefix")
        );
        assert!(
            parse_sim_range("localhost")
                .unwrap_err()
                .contains("not an IP")
        );
    }

    /// Asserts `text` fails with a message at `line` that mentions every one of `words`.
    fn assert_error(text: &str, line: usize, words: &[&str]) {
        let e = err(text);
        assert!(
            e.starts_with(&format!("test.toml:{line}:")),
            "expected line {line}: {e}"
        );
        for w in words {
            assert!(e.contains(w), "expected `{w}` in: {e}");
        }
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        assert_error("nmae = \"x\"\n", 1, &["nmae", "name"]);
        assert_error(&format!("{BASE}opne = \"22\"\n"), 5, &["opne", "open"]);
        assert_error(
            &format!("{BASE}[[hosts.behaviours]]\nkind = \"qos\"\nfactor = 2\nfactr = 3\n"),
            8,
            &["factr"],
        );
        assert_error(
            &format!("{BASE}latency = {{ median = \"1ms\", p90 = \"2ms\" }}\n"),
            5,
            &["p90"],
        );
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        let b = |body: &str| format!("{BASE}[[hosts.behaviours]]\n{body}");
        assert_error(
            &b("kind = \"rate_limit\"\nper_second = -5\n"),
            7,
            &["per_second", "-5"],
        );
        assert_error(
            &b("kind = \"rst_limit\"\nper_second = 0\n"),
            7,
            &["per_second"],
        );
        assert_error(
            &b("kind = \"rst_limit\"\nper_second = 5\nburst = 0.5\n"),
            8,
            &["burst", "at least 1"],
        );
        assert_error(
            &b("kind = \"rate_limit\"\nper_second = 5\nburst = 5\n"),
            8,
            &["burst", "rate_limit"],
        );
        assert_error(
            &b("kind = \"qos\"\nfactor = 0.5\n"),
            7,
            &["factor", "between 1"],
        );
        assert_error(
            &b("kind = \"qos\"\nfactor = 2\nloss = 1.5\n"),
            8,
            &["loss", "between 0 and 1"],
        );
        assert_error(
            &b("kind = \"tarpit\"\n"),
            6,
            &["tarpit", "deception", "shun"],
        );
        assert_error(
            &b("kind = \"deception\"\nmode = \"loud\"\n"),
            7,
            &["loud", "closes", "banner"],
        );
        assert_error(
            &b("kind = \"deception\"\nmode = \"banner\"\n"),
            7,
            &["banner"],
        );
        assert_error(
            &b("kind = \"deception\"\nmode = \"silent\"\nbanner = \"x\"\n"),
            8,
            &["banner"],
        );
        assert_error(
            &b("kind = \"shun\"\nsyns = 5\nwindow = \"2x\"\nban = \"1m\"\n"),
            8,
            &["window", "unknown unit"],
        );
        assert_error(
            &b("kind = \"shun\"\nsyns = 5\nwindow = \"2s\"\n"),
            6,
            &["shun", "ban"],
        );
        assert_error(
            &b("kind = \"shun\"\nsyns = 0\nwindow = \"2s\"\nban = \"1m\"\n"),
            7,
            &["syns"],
        );
        assert_error(
            &b("kind = \"rate_limit\"\nper_second = 5\nban = \"1m\"\n"),
            8,
            &["ban", "rate_limit", "per_second"],
        );
        assert_error(
            &b("kind = \"port_change\"\nport = 70000\nto = \"closed\"\n"),
            7,
            &["port", "70000"],
        );
        assert_error(
            &b("kind = \"port_change\"\nport = 80\nto = \"gone\"\n"),
            8,
            &["gone", "closed", "silent"],
        );
        assert_error(
            &b("kind = \"qos\"\nfactor = 2\nstart = \"1m\"\nend = \"30s\"\n"),
            9,
            &["end", "later"],
        );
        assert_error(
            &b("kind = \"qos\"\nfactor = 2\nscope = \"all\"\n"),
            8,
            &["all", "host", "group"],
        );
        assert_error(&b("kind = \"qos\"\nfactor = \"big\"\n"), 7, &["factor"]);
        assert_error(
            &b("kind = \"qos\"\nfactor = 2\nafter_probes = -1\n"),
            8,
            &["after_probes"],
        );
    }

    #[test]
    fn bad_host_values_name_the_key_and_line() {
        let h = |body: &str| format!("[[hosts]]\naddr = \"127.0.0.1\"\n{body}");
        assert_error(
            &h("latency = { median = \"10ms\", p99 = \"5ms\" }\n"),
            3,
            &["p99", "median"],
        );
        assert_error(&h("latency = { median = \"0ms\" }\n"), 3, &["median"]);
        assert_error(&h("loss = -0.1\n"), 3, &["loss", "between 0 and 1"]);
        assert_error(&h("open = \"22,0\"\n"), 3, &["open", "port 0"]);
        assert_error(
            &h("open = \"80\"\nbanners = { 22 = \"x\" }\n"),
            4,
            &["banners", "22", "open"],
        );
        assert_error(
            &h("open = \"80\"\nbanners = { ssh = \"x\" }\n"),
            4,
            &["ssh", "port number"],
        );
        assert_error(
            &h("open = \"80\"\nfiltered = \"80\"\n"),
            2,
            &["80", "open", "filtered"],
        );
        assert_error(&h("down = \"yes\"\n"), 3, &["down"]);
        assert_error(
            "[[hosts]]\naddr = \"10.1.2.3\"\n",
            2,
            &["addr", "loopback or documentation"],
        );
        assert_error(
            "[[hosts]]\naddr = \"127.0.0.300\"\n",
            2,
            &["addr", "not an IP"],
        );
        assert_error("[[hosts]]\n", 1, &["addr"]);
        assert_error("timeout = \"0s\"\n", 1, &["timeout"]);
        assert_error("rate = -3\n", 1, &["rate"]);
        assert_error("ports = \"1-x\"\n", 1, &["ports", "x"]);
        assert_error("targets = [\"8.8.8.8\"]\n", 1, &["targets", "loopback"]);
        assert_error("[link_loss]\nat = \"soon\"\n", 2, &["at"]);
        assert_error("name = \n", 1, &[]);
    }

    #[test]
    fn overlapping_hosts_are_rejected_with_both_lines() {
        let text = "[[hosts]]\naddr = \"127.1.0.0/16\"\n[[hosts]]\naddr = \"127.0.0.1\"\n[[hosts]]\naddr = \"127.1.2.3\"\n";
        assert_error(
            text,
            6,
            &["127.1.2.3", "127.1.0.0/16", "line 2", "overlaps"],
        );
    }

    #[test]
    fn too_many_host_entries_are_rejected() {
        let text: String = (0..=MAX_HOST_ENTRIES)
            .map(|i| format!("[[hosts]]\naddr = \"127.{}.{}.1\"\n", i / 256, i % 256))
            .collect();
        assert_error(&text, 2 * MAX_HOST_ENTRIES + 2, &["too many", "hosts"]);
    }

    #[test]
    fn per_host_state_on_huge_blocks_is_rejected() {
        let text = "[[hosts]]\naddr = \"127.0.0.0/8\"\n[[hosts.behaviours]]\nkind = \"shun\"\nsyns = 5\nwindow = \"1s\"\nban = \"1m\"\n";
        assert_error(text, 4, &["scope", "group"]);
        let group = text.replace("kind = \"shun\"", "kind = \"shun\"\nscope = \"group\"");
        assert!(parse_scenario(&group, "x").is_ok());
    }

    #[test]
    fn error_columns_count_characters() {
        let e = err("description = \"é\"\nnmae = 1\n");
        assert!(e.starts_with("test.toml:2:1:"), "{e}");
        assert_eq!(line_col("aé\nb", 3), (1, 3));
        assert_eq!(line_col("aé\nb", 99), (2, 2));
        assert_eq!(line_col("aé", 2), (1, 2));
    }

    #[test]
    fn files_that_are_not_scenarios_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let e = load_scenario_file(&missing).unwrap_err();
        assert!(
            e.contains("missing.toml") && e.contains("cannot read"),
            "{e}"
        );

        let binary = dir.path().join("binary.toml");
        std::fs::write(&binary, [0x7f, b'E', b'L', b'F', 0, 1, 2]).unwrap();
        let e = load_scenario_file(&binary).unwrap_err();
        assert!(e.contains("binary.toml") && e.contains("binary"), "{e}");

        let huge = dir.path().join("huge.toml");
        std::fs::write(&huge, "#".repeat(MAX_SCENARIO_FILE_BYTES as usize + 10)).unwrap();
        let e = load_scenario_file(&huge).unwrap_err();
        assert!(e.contains("huge.toml") && e.contains("larger"), "{e}");

        let e = load_scenario_file(dir.path()).unwrap_err();
        assert!(e.contains("directory"), "{e}");

        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "name = \"x\"\nbogus = 1\n").unwrap();
        let e = load_scenario_file(&bad).unwrap_err();
        assert!(e.contains("bad.toml:2:1:") && e.contains("bogus"), "{e}");

        let good = dir.path().join("good.toml");
        std::fs::write(&good, BASE).unwrap();
        assert_eq!(load_scenario_file(&good).unwrap().name, "t");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse_scenario(&text, "fuzz");
        }

        #[test]
        fn mangled_builtins_never_panic(pos in 0usize..4000, byte in 0u8..128) {
            for (name, _) in crate::sim::BUILTIN_SCENARIOS {
                let text = crate::sim::builtin_text(name).unwrap();
                let mut bytes = text.as_bytes().to_vec();
                let at = pos % bytes.len();
                bytes[at] = byte;
                if let Ok(t) = String::from_utf8(bytes) {
                    let _ = parse_scenario(&t, "fuzz");
                }
            }
        }
    }
}
