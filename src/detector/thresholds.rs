//! Detector thresholds, with their documented defaults (the config file's `[alarm]` section;
//! `config/alarm.rs` says what each key allows).

use serde::{Deserialize, Serialize};

/// When the detector raises alarms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlarmThresholds {
    /// Probes to a host that form its baseline timeout rate (after its first answer).
    pub baseline_probes: u32,
    /// Timeout probability the CUSUM tests for (against the host's baseline).
    pub cusum_target: f64,
    /// CUSUM decision threshold: higher is slower but surer.
    pub cusum_threshold: f64,
    /// Sentinel re-probes that must fail before a SHUN is raised.
    pub sentinel_failures: u32,
    /// Share of a host's last 64 probes timing out, while it answers RST on other ports, that
    /// makes the detector re-probe a silent port alone (RSTLIMIT or RATE when it answers).
    pub loss_check_timeouts: f64,
    /// Seconds a confirmed silence waits to see whether other hosts go silent too (RANGE, LOST)
    /// before it is raised as SHUN.
    pub grace_s: f64,
    /// Hosts silent within `range_window_s` of each other that make a RANGE.
    pub range_min_hosts: u32,
    /// The window, in seconds, of `range_min_hosts`.
    pub range_window_s: f64,
    /// Answers among a host's last 64 that came only on SYN retry before RATE is raised.
    pub rate_retry_answers: u32,
    /// A host's connect times are inflated above `qos_factor` × its baseline ...
    pub qos_factor: f64,
    /// ... and at least this much above it (milliseconds).
    pub qos_min_extra_ms: f64,
    /// Inflated hosts needed for QOS: at least this many ...
    pub qos_min_hosts: u32,
    /// ... and this share of the hosts answering.
    pub qos_host_fraction: f64,
    /// Open ports on one host beyond which it is a DECEPTION (Coalfire's "100+ open ports";
    /// Censys: fewer than 1 % of hosts have more than 15).
    pub deception_open_ports: u64,
    /// Share of probed ports open beyond which a host is a DECEPTION ...
    pub deception_open_fraction: f64,
    /// ... once at least this many of its ports were probed.
    pub deception_min_probes: u32,
    /// Local errors within `local_window_s` that raise LOCAL.
    pub local_errors: u32,
    /// The window, in seconds, of `local_errors`.
    pub local_window_s: f64,
}

impl Default for AlarmThresholds {
    fn default() -> Self {
        AlarmThresholds {
            baseline_probes: 30,
            cusum_target: 0.9,
            cusum_threshold: 10.0,
            sentinel_failures: 2,
            rate_retry_answers: 4,
            grace_s: 3.0,
            loss_check_timeouts: 0.25,
            range_min_hosts: 3,
            range_window_s: 5.0,
            qos_factor: 3.0,
            qos_min_extra_ms: 5.0,
            qos_min_hosts: 3,
            qos_host_fraction: 0.25,
            deception_open_ports: 100,
            deception_open_fraction: 0.5,
            deception_min_probes: 50,
            local_errors: 10,
            local_window_s: 1.0,
        }
    }
}

impl AlarmThresholds {
    pub(crate) fn grace_us(&self) -> u64 {
        (self.grace_s.max(0.0) * 1e6) as u64
    }

    pub(crate) fn range_window_us(&self) -> u64 {
        (self.range_window_s.max(0.0) * 1e6) as u64
    }

    pub(crate) fn local_window_us(&self) -> u64 {
        (self.local_window_s.max(0.0) * 1e6) as u64
    }
}
