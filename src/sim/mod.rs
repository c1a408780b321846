//! The simulated network: a model of hosts, ports, latencies and interfering devices (IPS shun,
//! rate limits, RST limits, tarpits, QoS, link loss, changed ports) that answers probes through
//! the same `Prober` trait as the real network. Tests, benchmarks and `scanwatch demo` run it,
//! usually under tokio's paused clock, where a ten-minute story takes milliseconds and gives the
//! same events for the same seed.
//!
//! Scenarios are TOML documents (format: `src/sim/FORMAT.md`); a few are built in.

mod network;
mod scenario;
mod ticks;

pub use network::Simulated;
pub use scenario::{MAX_SCENARIO_FILE_BYTES, Scenario, load_scenario_file, parse_scenario};

/// The built-in scenarios: (name, one-line description).
pub const BUILTIN_SCENARIOS: &[(&str, &str)] = &[
    (
        "healthy",
        "a few loopback and LAN hosts with common services and no interference",
    ),
    (
        "shun",
        "an IPS bans the scanner after 50 SYNs within 5 s, for 30 s",
    ),
    (
        "ratelimit",
        "a WAF drops SYNs above 20 per second from 10 s on; answers come on SYN retry",
    ),
    (
        "rstlimit",
        "closed ports stop answering RST above 50 per second; open ports still answer",
    ),
    (
        "tarpit",
        "deception hosts answer on every port (closing at once, silent, one banner) beside normal hosts",
    ),
    (
        "range",
        "a firewall bans the scanner from a whole /29 after 300 SYNs within 5 s",
    ),
    (
        "qos",
        "a QoS policy inflates latency eightfold and drops 2% of SYNs on a /28 from 20 s on",
    ),
    (
        "linkloss",
        "the scanner loses its own link at 30 s: every host goes silent",
    ),
    (
        "awkward",
        "no interference, only awkward hosts: down, filtered from the start, slow, lossy",
    ),
    (
        "mixed",
        "several hosts and devices: shun, rate limit, RST limit, tarpit, QoS, changed ports, a down host",
    ),
];

/// The TOML text of a built-in scenario.
pub(crate) fn builtin_text(name: &str) -> Option<&'static str> {
    Some(match name {
        "healthy" => include_str!("scenarios/healthy.toml"),
        "shun" => include_str!("scenarios/shun.toml"),
        "ratelimit" => include_str!("scenarios/ratelimit.toml"),
        "rstlimit" => include_str!("scenarios/rstlimit.toml"),
        "tarpit" => include_str!("scenarios/tarpit.toml"),
        "range" => include_str!("scenarios/range.toml"),
        "qos" => include_str!("scenarios/qos.toml"),
        "linkloss" => include_str!("scenarios/linkloss.toml"),
        "awkward" => include_str!("scenarios/awkward.toml"),
        "mixed" => include_str!("scenarios/mixed.toml"),
        _ => return None,
    })
}

/// A built-in scenario by name; an unknown name is an error listing the valid ones.
pub fn builtin(name: &str) -> Result<Scenario, String> {
    match builtin_text(name) {
        Some(text) => parse_scenario(text, &format!("builtin:{name}")),
        None => {
            let names: Vec<&str> = BUILTIN_SCENARIOS.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "unknown scenario `{name}`; built-in scenarios are: {}",
                names.join(", ")
            ))
        }
    }
}
