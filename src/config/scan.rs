//! The `[scan]` section: defaults for how a scan runs.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{InvalidValue, Section};
use crate::duration::format_duration;
use crate::ports::{parse_port_spec, services::RANKED_TCP_PORTS};

/// Allowed `top_ports`: up to the number of ports with nmap open-frequency data.
pub const TOP_PORTS_RANGE: RangeInclusive<u32> = 1..=RANKED_TCP_PORTS.len() as u32;
/// Allowed `concurrency` (probes in flight across the scan).
pub const CONCURRENCY_RANGE: RangeInclusive<u32> = 1..=100_000;
/// Allowed `max_per_host` (probes in flight against one host).
pub const MAX_PER_HOST_RANGE: RangeInclusive<u32> = 1..=100_000;
/// Allowed `timeout` for one connect attempt.
pub const TIMEOUT_RANGE: RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_secs(600);
/// Allowed `banner_wait`: zero (do not read) up to nmap's wait for a service's greeting and more.
pub const BANNER_WAIT_RANGE: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(10);
/// Default `banner_wait`. Services that speak first send their greeting as soon as they accept,
/// so it arrives about one round trip after the connect: 500 ms covers paths up to a few hundred
/// milliseconds of RTT and a slow accept, while a host full of silent ports (a tarpit) only holds
/// each probe's slot half a second. nmap waits 5 s (6 s for a NULL probe) but only in version
/// detection, on few ports.
pub const DEFAULT_BANNER_WAIT: Duration = Duration::from_millis(500);
/// Allowed `retries` after a timed-out attempt.
pub const RETRIES_RANGE: RangeInclusive<u32> = 0..=10;
/// Highest allowed `rate` in probes per second; the rate must also be above zero.
pub const RATE_MAX: f64 = 10_000_000.0;

/// Whether `rate` (probes per second) is allowed: above zero, at most [`RATE_MAX`], not NaN.
pub fn rate_allowed(rate: f64) -> bool {
    rate > 0.0 && rate <= RATE_MAX
}

/// Scan defaults from the `[scan]` section; command-line options override each one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanDefaults {
    /// Port spec (nmap `-p` style); when set it replaces `top_ports`.
    pub ports: Option<String>,
    /// Scan the N most common ports when `ports` is not set.
    pub top_ports: u32,
    /// Ports never probed (nmap `--exclude-ports` style).
    pub exclude_ports: Option<String>,
    /// Probes in flight at once across the whole scan.
    pub concurrency: u32,
    /// Probes in flight at once against one host.
    pub max_per_host: u32,
    /// How long one connect attempt may take before it counts as no answer.
    #[serde(with = "crate::duration::serde_human")]
    pub timeout: Duration,
    /// How long an open port is read after the handshake for its banner; zero: not read.
    #[serde(with = "crate::duration::serde_human")]
    pub banner_wait: Duration,
    /// Extra attempts for a port whose attempt timed out.
    pub retries: u32,
    /// Probes started per second; `None` is unlimited.
    pub rate: Option<f64>,
    /// Seed of the port-order shuffle; `None` picks a random one per run.
    pub seed: Option<u64>,
    /// Halve the pace when a RATE or QOS alarm is raised (`--auto-throttle`).
    pub auto_throttle: bool,
}

impl Default for ScanDefaults {
    fn default() -> Self {
        ScanDefaults {
            ports: None,
            top_ports: 1000,
            exclude_ports: None,
            concurrency: 1024,
            max_per_host: 512,
            timeout: Duration::from_millis(1500),
            banner_wait: DEFAULT_BANNER_WAIT,
            retries: 1,
            rate: None,
            seed: None,
            auto_throttle: false,
        }
    }
}

/// What `ports` and `exclude_ports` allow.
const PORT_LIST: &str =
    r#"a port list in quotes such as "22,80,443", "8000-8100", "http*" or "-" (all ports)"#;

/// `"1 to 100000"` for a range of whole numbers.
fn numbers(range: &RangeInclusive<u32>) -> String {
    format!("{} to {}", range.start(), range.end())
}

/// `Err` naming `key` when `value` is outside `range`.
fn within(key: &'static str, value: u32, range: &RangeInclusive<u32>) -> Result<(), InvalidValue> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(InvalidValue::out_of_range::<ScanDefaults>(key))
    }
}

/// `Err` naming `key` when `spec` is set and is not a port spec the scan can use.
fn port_spec(key: &'static str, spec: Option<&str>) -> Result<(), InvalidValue> {
    match spec.map(parse_port_spec) {
        Some(Err(reason)) => Err(InvalidValue::rejected::<ScanDefaults>(key, reason)),
        _ => Ok(()),
    }
}

impl Section for ScanDefaults {
    const NAME: &'static str = "scan";

    fn allowed(key: &str) -> Option<String> {
        let text = match key {
            "ports" => PORT_LIST.to_string(),
            "top_ports" => numbers(&TOP_PORTS_RANGE),
            "exclude_ports" => PORT_LIST.to_string(),
            "concurrency" => numbers(&CONCURRENCY_RANGE),
            "max_per_host" => numbers(&MAX_PER_HOST_RANGE),
            "timeout" => format!(
                r#""{}" to "{}", a duration in quotes such as "500ms", "2s" or "1m""#,
                format_duration(*TIMEOUT_RANGE.start()),
                format_duration(*TIMEOUT_RANGE.end()),
            ),
            "banner_wait" => format!(
                r#""{}" (do not read) to "{}", a duration in quotes such as "300ms" or "1s""#,
                format_duration(*BANNER_WAIT_RANGE.start()),
                format_duration(*BANNER_WAIT_RANGE.end()),
            ),
            "retries" => numbers(&RETRIES_RANGE),
            "rate" => format!("a number of probes per second above 0 and at most {RATE_MAX}"),
            "seed" => format!("a whole number from 0 to {}", u64::MAX),
            "auto_throttle" => "true or false".to_string(),
            _ => return None,
        };
        Some(text)
    }

    fn check(&self) -> Result<(), InvalidValue> {
        port_spec("ports", self.ports.as_deref())?;
        within("top_ports", self.top_ports, &TOP_PORTS_RANGE)?;
        port_spec("exclude_ports", self.exclude_ports.as_deref())?;
        within("concurrency", self.concurrency, &CONCURRENCY_RANGE)?;
        within("max_per_host", self.max_per_host, &MAX_PER_HOST_RANGE)?;
        if !TIMEOUT_RANGE.contains(&self.timeout) {
            return Err(InvalidValue::out_of_range::<Self>("timeout"));
        }
        if !BANNER_WAIT_RANGE.contains(&self.banner_wait) {
            return Err(InvalidValue::out_of_range::<Self>("banner_wait"));
        }
        within("retries", self.retries, &RETRIES_RANGE)?;
        if let Some(rate) = self.rate
            && !rate_allowed(rate)
        {
            return Err(InvalidValue::out_of_range::<Self>("rate"));
        }
        Ok(())
    }

    fn commented_defaults() -> String {
        let d = ScanDefaults::default();
        let timeout = format_duration(d.timeout);
        let banner_wait = format_duration(d.banner_wait);
        let banner_wait_max = format_duration(*BANNER_WAIT_RANGE.end());
        let top_ports = numbers(&TOP_PORTS_RANGE);
        let concurrency = numbers(&CONCURRENCY_RANGE);
        let max_per_host = numbers(&MAX_PER_HOST_RANGE);
        let retries = numbers(&RETRIES_RANGE);
        let (timeout_min, timeout_max) = (
            format_duration(*TIMEOUT_RANGE.start()),
            format_duration(*TIMEOUT_RANGE.end()),
        );
        format!(
            r#"[scan]
# Ports to scan, in nmap -p style: port numbers, ranges and service names separated by
# commas, e.g. "22,80,443", "8000-8100", "http*", or "-" for all 65535. When set, it
# replaces top_ports.
# ports = "22,80,443,8000-8100"

# Without ports: scan the N most often open TCP ports, ranked as nmap ranks them
# (nmap --top-ports). Allowed {top_ports}.
top_ports = {}

# Ports never probed, same style as ports (nmap --exclude-ports).
# exclude_ports = "9100,5060-5061"

# Probes in flight at once across the whole scan. Each holds one open file, so the
# open-file limit (ulimit -n) can lower it at start-up. Allowed {concurrency}.
concurrency = {}

# Probes in flight at once against one host (Nessus max_checks). Allowed {max_per_host}.
max_per_host = {}

# How long one connect attempt may take before it counts as no answer (Nessus
# checks_read_timeout, nmap --max-rtt-timeout). A duration in quotes: "500ms", "2s", "1m".
# Allowed "{timeout_min}" to "{timeout_max}".
timeout = "{timeout}"

# After a port opens, how long to wait for what it sends first (its banner: SSH, FTP, SMTP
# greetings), shown beside the port. Open ports that close at once, stay silent, or all send
# the same banner are evidence of a tarpit or deception system (DECEPTION). Each open port
# holds its concurrency slot while it waits. "0ms" turns the read off.
# Allowed "0ms" to "{banner_wait_max}".
banner_wait = "{banner_wait}"

# Extra attempts for a port whose attempt timed out, before it counts as filtered
# (nmap --max-retries). Allowed {retries}.
retries = {}

# Probes started per second across the whole scan (nmap --max-rate). Unset: no limit.
# Allowed above 0 and at most {RATE_MAX}.
# rate = 500

# Seed of the per-host port shuffle; set it to repeat a run's probe order exactly.
# Unset: a random seed per run. A whole number from 0 up.
# seed = 42

# When a RATE or QOS alarm is raised, halve the concurrency (and the rate, when one is set),
# never below 1, and say so on stderr (THROTTLE) and in --json (a throttle line).
# The --auto-throttle and --no-auto-throttle options override it.
auto_throttle = {}
"#,
            d.top_ports, d.concurrency, d.max_per_host, d.retries, d.auto_throttle,
        )
    }
}
