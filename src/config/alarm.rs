//! The `[alarm]` section: when the interference detector raises its alarms.
//!
//! The thresholds themselves ([`AlarmThresholds`]) live with the detector; this module says what
//! each key allows and documents it in the default config.

use std::ops::RangeInclusive;

use super::{InvalidValue, Section};
use crate::detector::AlarmThresholds;

/// Allowed `baseline_probes`: probes to a host before its baseline is taken.
pub const BASELINE_PROBES_RANGE: RangeInclusive<u32> = 1..=65_536;
/// Highest allowed `cusum_threshold`; it must also be above zero.
pub const CUSUM_THRESHOLD_MAX: f64 = 1000.0;
/// Allowed `sentinel_failures`: silent sentinel re-probes that confirm a silence.
pub const SENTINEL_FAILURES_RANGE: RangeInclusive<u32> = 1..=100;
/// Allowed time windows and waits, in seconds (`grace_s`, `range_window_s`, `local_window_s`).
pub const SECONDS_RANGE: RangeInclusive<f64> = 0.0..=600.0;
/// Allowed `range_min_hosts`: a RANGE is several hosts, so at least two.
pub const RANGE_MIN_HOSTS_RANGE: RangeInclusive<u32> = 2..=1_000_000;
/// Allowed `rate_retry_answers`: out of a host's last 64 answers.
pub const RATE_RETRY_ANSWERS_RANGE: RangeInclusive<u32> = 1..=64;
/// Allowed `qos_factor`: times a host's own baseline connect time.
pub const QOS_FACTOR_RANGE: RangeInclusive<f64> = 1.0..=1000.0;
/// Allowed `qos_min_extra_ms`, in milliseconds.
pub const QOS_MIN_EXTRA_MS_RANGE: RangeInclusive<f64> = 0.0..=600_000.0;
/// Allowed `qos_min_hosts`.
pub const QOS_MIN_HOSTS_RANGE: RangeInclusive<u32> = 1..=1_000_000;
/// Allowed `deception_open_ports`: a host has at most 65536 TCP ports.
pub const DECEPTION_OPEN_PORTS_RANGE: RangeInclusive<u64> = 1..=65_536;
/// Allowed `deception_min_probes`.
pub const DECEPTION_MIN_PROBES_RANGE: RangeInclusive<u32> = 1..=65_536;
/// Allowed `local_errors`: local errors within `local_window_s`.
pub const LOCAL_ERRORS_RANGE: RangeInclusive<u32> = 1..=1_000_000;

/// What a probability key allows.
const PROBABILITY: &str = "a number above 0 and at most 1, e.g. 0.25";

/// `"1 to 64"` for a range of whole numbers.
fn numbers<T: std::fmt::Display>(range: &RangeInclusive<T>) -> String {
    format!("{} to {}", range.start(), range.end())
}

/// `"0 to 600 seconds"` (fractions allowed).
fn seconds() -> String {
    format!(
        "{} to {} seconds",
        SECONDS_RANGE.start(),
        SECONDS_RANGE.end()
    )
}

/// `Err` naming `key` when `value` is outside `range`.
fn within<T: PartialOrd>(
    key: &'static str,
    value: T,
    range: &RangeInclusive<T>,
) -> Result<(), InvalidValue> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(InvalidValue::out_of_range::<AlarmThresholds>(key))
    }
}

/// `Err` naming `key` unless `value` is above 0 and at most 1 (NaN is not).
fn probability(key: &'static str, value: f64) -> Result<(), InvalidValue> {
    if value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(InvalidValue::out_of_range::<AlarmThresholds>(key))
    }
}

impl Section for AlarmThresholds {
    const NAME: &'static str = "alarm";

    fn allowed(key: &str) -> Option<String> {
        let text = match key {
            "baseline_probes" => numbers(&BASELINE_PROBES_RANGE),
            "cusum_target" => PROBABILITY.to_string(),
            "cusum_threshold" => format!("a number above 0 and at most {CUSUM_THRESHOLD_MAX}"),
            "sentinel_failures" => numbers(&SENTINEL_FAILURES_RANGE),
            "loss_check_timeouts" => PROBABILITY.to_string(),
            "grace_s" | "range_window_s" | "local_window_s" => seconds(),
            "range_min_hosts" => numbers(&RANGE_MIN_HOSTS_RANGE),
            "rate_retry_answers" => numbers(&RATE_RETRY_ANSWERS_RANGE),
            "qos_factor" => numbers(&QOS_FACTOR_RANGE),
            "qos_min_extra_ms" => format!("{} milliseconds", numbers(&QOS_MIN_EXTRA_MS_RANGE)),
            "qos_min_hosts" => numbers(&QOS_MIN_HOSTS_RANGE),
            "qos_host_fraction" => PROBABILITY.to_string(),
            "deception_open_ports" => numbers(&DECEPTION_OPEN_PORTS_RANGE),
            "deception_open_fraction" => PROBABILITY.to_string(),
            "deception_min_probes" => numbers(&DECEPTION_MIN_PROBES_RANGE),
            "local_errors" => numbers(&LOCAL_ERRORS_RANGE),
            _ => return None,
        };
        Some(text)
    }

    fn check(&self) -> Result<(), InvalidValue> {
        within(
            "baseline_probes",
            self.baseline_probes,
            &BASELINE_PROBES_RANGE,
        )?;
        probability("cusum_target", self.cusum_target)?;
        if !(self.cusum_threshold > 0.0 && self.cusum_threshold <= CUSUM_THRESHOLD_MAX) {
            return Err(InvalidValue::out_of_range::<Self>("cusum_threshold"));
        }
        within(
            "sentinel_failures",
            self.sentinel_failures,
            &SENTINEL_FAILURES_RANGE,
        )?;
        probability("loss_check_timeouts", self.loss_check_timeouts)?;
        within("grace_s", self.grace_s, &SECONDS_RANGE)?;
        within(
            "range_min_hosts",
            self.range_min_hosts,
            &RANGE_MIN_HOSTS_RANGE,
        )?;
        within("range_window_s", self.range_window_s, &SECONDS_RANGE)?;
        within(
            "rate_retry_answers",
            self.rate_retry_answers,
            &RATE_RETRY_ANSWERS_RANGE,
        )?;
        within("qos_factor", self.qos_factor, &QOS_FACTOR_RANGE)?;
        within(
            "qos_min_extra_ms",
            self.qos_min_extra_ms,
            &QOS_MIN_EXTRA_MS_RANGE,
        )?;
        within("qos_min_hosts", self.qos_min_hosts, &QOS_MIN_HOSTS_RANGE)?;
        probability("qos_host_fraction", self.qos_host_fraction)?;
        within(
            "deception_open_ports",
            self.deception_open_ports,
            &DECEPTION_OPEN_PORTS_RANGE,
        )?;
        probability("deception_open_fraction", self.deception_open_fraction)?;
        within(
            "deception_min_probes",
            self.deception_min_probes,
            &DECEPTION_MIN_PROBES_RANGE,
        )?;
        within("local_errors", self.local_errors, &LOCAL_ERRORS_RANGE)?;
        within("local_window_s", self.local_window_s, &SECONDS_RANGE)?;
        Ok(())
    }

    fn commented_defaults() -> String {
        let d = AlarmThresholds::default();
        let seconds = seconds();
        let baseline_probes = numbers(&BASELINE_PROBES_RANGE);
        let sentinel_failures = numbers(&SENTINEL_FAILURES_RANGE);
        let range_min_hosts = numbers(&RANGE_MIN_HOSTS_RANGE);
        let rate_retry_answers = numbers(&RATE_RETRY_ANSWERS_RANGE);
        let qos_factor = numbers(&QOS_FACTOR_RANGE);
        let qos_min_extra_ms = numbers(&QOS_MIN_EXTRA_MS_RANGE);
        let qos_min_hosts = numbers(&QOS_MIN_HOSTS_RANGE);
        let deception_open_ports = numbers(&DECEPTION_OPEN_PORTS_RANGE);
        let deception_min_probes = numbers(&DECEPTION_MIN_PROBES_RANGE);
        let local_errors = numbers(&LOCAL_ERRORS_RANGE);
        format!(
            r#"[alarm]
# When the interference detector raises its alarms. In general, lower values raise alarms
# sooner and more often; higher values wait for stronger evidence. Shares and probabilities
# are numbers above 0 and at most 1; seconds and milliseconds may have fractions (2.5).

# SHUN: probes to a host, after its first answer, that form its baseline timeout rate.
# Allowed {baseline_probes}.
baseline_probes = {}

# SHUN: the timeout probability the change test (a Bernoulli CUSUM against the host's own
# baseline) looks for. Closer to the baseline reacts to lighter loss, and to more noise.
cusum_target = {:?}

# SHUN: decision threshold of that test: higher is slower but surer.
# Allowed above 0 and at most {CUSUM_THRESHOLD_MAX}.
cusum_threshold = {:?}

# SHUN: re-probes of a port the host answered on before (sentinels) that must go
# unanswered before a silence counts as confirmed. Allowed {sentinel_failures}.
sentinel_failures = {}

# RATE, RSTLIMIT: share of a host's last 64 probes timing out, while it answers RST on
# other ports, that makes the detector re-probe a silent port alone to tell who drops what.
loss_check_timeouts = {:?}

# SHUN, RANGE, LOST: seconds a confirmed silence waits to see whether other hosts go silent
# too before it is raised as a SHUN of one host. Allowed {seconds}.
grace_s = {:?}

# RANGE: hosts that must go silent within range_window_s of each other.
# Allowed {range_min_hosts}.
range_min_hosts = {}

# RANGE: the window those silences must fall in. Allowed {seconds}.
range_window_s = {:?}

# RATE: answers among a host's last 64 that came only on the kernel's SYN retry (the first
# SYN was dropped) before the detector checks for a rate limit. Allowed {rate_retry_answers}.
rate_retry_answers = {}

# QOS: a host counts as slowed when its connect times (a moving average) are above
# qos_factor times its own baseline and at least qos_min_extra_ms above it.
# Allowed {qos_factor}.
qos_factor = {:?}

# QOS: see qos_factor. Allowed {qos_min_extra_ms} milliseconds.
qos_min_extra_ms = {:?}

# QOS: slowed hosts needed, at least qos_min_hosts of them and at least qos_host_fraction
# of the hosts answering. Allowed {qos_min_hosts}.
qos_min_hosts = {}

# QOS: see qos_min_hosts.
qos_host_fraction = {:?}

# DECEPTION: open ports on one host at which it is taken for a tarpit or deception system
# (fewer than 1 % of real hosts have more than 15 open). Allowed {deception_open_ports}.
deception_open_ports = {}

# DECEPTION: share of a host's probed ports open beyond which it is a DECEPTION, once at
# least deception_min_probes of its ports were probed.
deception_open_fraction = {:?}

# DECEPTION: see deception_open_fraction. Allowed {deception_min_probes}.
deception_min_probes = {}

# LOCAL: the scanner's own errors (open files, ephemeral ports) within local_window_s
# that raise LOCAL. Allowed {local_errors}.
local_errors = {}

# LOCAL: the window those errors must fall in. Allowed {seconds}.
local_window_s = {:?}
"#,
            d.baseline_probes,
            d.cusum_target,
            d.cusum_threshold,
            d.sentinel_failures,
            d.loss_check_timeouts,
            d.grace_s,
            d.range_min_hosts,
            d.range_window_s,
            d.rate_retry_answers,
            d.qos_factor,
            d.qos_min_extra_ms,
            d.qos_min_hosts,
            d.qos_host_fraction,
            d.deception_open_ports,
            d.deception_open_fraction,
            d.deception_min_probes,
            d.local_errors,
            d.local_window_s,
        )
    }
}
