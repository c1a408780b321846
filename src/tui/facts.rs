//! What the panes derive from the `ScanState`: a host's health, which hosts an alarm covers,
//! the recent pace, the ports pane's rows. Pure functions of the state (scan time only, never
//! the wall clock), so a given state always draws the same screen.

use std::net::IpAddr;

use crate::detector::{AlarmKind, Scope};
use crate::event::ScanParams;
use crate::headless::text::human_us;
use crate::state::{HostState, OpenPort, ScanState};

/// The alarm on row `i` of the alarm list, which shows the newest first.
pub fn alarm_at(state: &ScanState, i: usize) -> Option<&crate::detector::Alarm> {
    let n = state.alarms.len();
    (i < n).then(|| &state.alarms[n - 1 - i])
}

/// Complete seconds the probes-per-second figure averages over.
pub const RATE_WINDOW_S: usize = 5;

/// How a host is doing, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// No answer yet.
    Pending,
    /// Answering, nothing odd.
    Ok,
    /// Timeouts after its timeouts rose (suspect), or a sentinel went unanswered.
    Warn,
    /// In the scope of an active alarm.
    Bad,
}

pub fn health(host: &HostState, alarmed: bool) -> Health {
    if alarmed {
        Health::Bad
    } else if host.suspect > 0 || host.sentinels_silent > 0 {
        Health::Warn
    } else if host.is_up() {
        Health::Ok
    } else {
        Health::Pending
    }
}

/// Whether `addr` lies in `scope`. The whole-scan scope covers no host in particular: it is
/// about the scanner or the path, and the banner and the alarm list show it.
pub fn scope_contains(scope: &Scope, addr: IpAddr) -> bool {
    match *scope {
        Scope::Host { addr: a } => a == addr,
        Scope::Range { first, last } => {
            first.is_ipv4() == addr.is_ipv4() && first <= addr && addr <= last
        }
        Scope::Scan => false,
    }
}

/// The active alarms by the hosts they cover, for the hosts table.
#[derive(Debug, Default)]
pub struct AlarmScopes {
    hosts: std::collections::HashMap<IpAddr, Vec<AlarmKind>>,
    ranges: Vec<(IpAddr, IpAddr, AlarmKind)>,
}

impl AlarmScopes {
    pub fn new(state: &ScanState) -> Self {
        let mut scopes = AlarmScopes::default();
        for alarm in state.active_alarms() {
            match alarm.scope {
                Scope::Host { addr } => scopes.hosts.entry(addr).or_default().push(alarm.kind),
                Scope::Range { first, last } => scopes.ranges.push((first, last, alarm.kind)),
                Scope::Scan => {}
            }
        }
        scopes
    }

    pub fn covers(&self, addr: IpAddr) -> bool {
        self.hosts.contains_key(&addr) || self.ranges.iter().any(|r| in_range(r, addr))
    }

    /// The kinds of the active alarms covering `addr`, in the order raised.
    pub fn kinds(&self, addr: IpAddr) -> Vec<AlarmKind> {
        let mut kinds = self.hosts.get(&addr).cloned().unwrap_or_default();
        kinds.extend(
            self.ranges
                .iter()
                .filter(|r| in_range(r, addr))
                .map(|r| r.2),
        );
        kinds
    }
}

fn in_range(r: &(IpAddr, IpAddr, AlarmKind), addr: IpAddr) -> bool {
    scope_contains(
        &Scope::Range {
            first: r.0,
            last: r.1,
        },
        addr,
    )
}

/// Seconds of scan time whose counts are complete: up to the latest event's second (the
/// second in progress is left out until the scan has finished).
pub fn complete_seconds(state: &ScanState) -> usize {
    let us = if state.finished.is_some() {
        state.now_us.saturating_add(999_999)
    } else {
        state.now_us
    };
    usize::try_from(us / 1_000_000).unwrap_or(usize::MAX)
}

/// Final outcomes in second `i` of the scan: (answers, timeouts and unreachables).
pub fn second(state: &ScanState, i: usize) -> (u64, u64) {
    state.timeline.get(i as u64).map_or((0, 0), |b| {
        (
            u64::from(b.answers),
            u64::from(b.timeouts) + u64::from(b.unreachable),
        )
    })
}

/// Probes finished per second over the last [`RATE_WINDOW_S`] complete seconds (the whole scan
/// so far before one second is complete).
pub fn recent_rate(state: &ScanState) -> f64 {
    let done_s = complete_seconds(state);
    if done_s == 0 {
        return if state.now_us > 0 {
            state.probes_done() as f64 / (state.now_us as f64 / 1e6)
        } else {
            0.0
        };
    }
    let window = done_s.min(RATE_WINDOW_S);
    let total: u64 = (done_s - window..done_s)
        .map(|i| {
            let (a, t) = second(state, i);
            a + t
        })
        .sum();
    total as f64 / window as f64
}

/// Seconds until the planned probes are done at `rate`, when both are known.
pub fn eta_s(state: &ScanState, rate: f64) -> Option<f64> {
    if state.finished.is_some() {
        return Some(0.0);
    }
    let total = state.probes_total()?;
    (rate > 0.0).then(|| total.saturating_sub(state.probes_done()) as f64 / rate)
}

/// One row of the ports pane.
#[derive(Debug, Clone, PartialEq)]
pub enum PortRow<'a> {
    Open(&'a OpenPort),
    /// A re-check: a port open in the baseline, not open now, and its verdict.
    Recheck(u16, &'a crate::recheck::PortCheck),
    /// Ports counted, not listed: how many, their state and reason, whether suspect.
    Counted {
        count: u64,
        state: &'static str,
        reason: &'static str,
        suspect: bool,
    },
}

/// Rows for the counted (not listed) ports of `host`.
pub fn counted_rows(host: &HostState) -> Vec<PortRow<'static>> {
    let c = &host.counts;
    let suspect = host.suspect.min(c.timed_out);
    [
        (c.closed, "closed", "conn-refused", false),
        (c.timed_out - suspect, "filtered", "no-response", false),
        (suspect, "suspect", "no-response", true),
        (c.unreachable, "filtered", "unreachable", false),
        (c.not_scanned, "not scanned", "local-error", false),
    ]
    .into_iter()
    .filter(|r| r.0 > 0)
    .map(|(count, state, reason, suspect)| PortRow::Counted {
        count,
        state,
        reason,
        suspect,
    })
    .collect()
}

/// Rows of the ports pane for `host`: open ports, then the counted ones.
pub fn port_rows_count(host: &HostState) -> usize {
    host.open_ports.len() + counted_rows(host).len()
}

/// Whether an open port's answer is doubtful: it came only on a SYN retry, or the host is
/// under a DECEPTION alarm (its open ports are unverified).
pub fn port_is_suspect(port: &OpenPort, deception: bool) -> bool {
    deception || port.attempt > 1
}

/// `concurrency 100 → 50`, `timeout 1.00s → 1.50s`, `rate 50/s → 25/s`, `paused`, `resumed`.
pub fn describe_change(from: &ScanParams, to: &ScanParams) -> String {
    let mut parts = Vec::new();
    if from.concurrency != to.concurrency {
        parts.push(format!(
            "concurrency {} → {}",
            from.concurrency, to.concurrency
        ));
    }
    if from.timeout != to.timeout {
        parts.push(format!(
            "timeout {} → {}",
            human_us(from.timeout.as_micros() as u64),
            human_us(to.timeout.as_micros() as u64)
        ));
    }
    if from.rate != to.rate {
        parts.push(format!(
            "rate {} → {}",
            rate_text(from.rate),
            rate_text(to.rate)
        ));
    }
    if from.paused != to.paused {
        parts.push(if to.paused { "paused" } else { "resumed" }.to_string());
    }
    if parts.is_empty() {
        parts.push("no change".into());
    }
    parts.join(", ")
}

/// `50/s`, `12.5/s`, `unlimited`.
pub fn rate_text(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r >= 100.0 => format!("{}/s", r.round() as u64),
        Some(r) => format!("{}/s", (r * 10.0).round() / 10.0),
        None => "unlimited".into(),
    }
}

/// How many of a host's ports changed since the baseline (re-check).
pub fn recheck_changes(recheck: &crate::recheck::Rechecker, addr: std::net::IpAddr) -> usize {
    recheck
        .checks()
        .range((addr, 0)..=(addr, u16::MAX))
        .filter(|(_, c)| c.verdict.is_change())
        .count()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn params() -> ScanParams {
        ScanParams {
            concurrency: 100,
            max_per_host: 10,
            timeout: Duration::from_secs(1),
            retries: 1,
            rate: None,
            paused: false,
        }
    }

    #[test]
    fn describes_parameter_changes() {
        let p = params();
        let q = ScanParams {
            concurrency: 50,
            timeout: Duration::from_millis(1500),
            rate: Some(12.5),
            paused: true,
            ..p
        };
        assert_eq!(
            describe_change(&p, &q),
            "concurrency 100 → 50, timeout 1.00s → 1.50s, rate unlimited → 12.5/s, paused"
        );
        assert_eq!(describe_change(&q, &p).split(", ").last(), Some("resumed"));
        assert_eq!(describe_change(&p, &p), "no change");
    }

    #[test]
    fn the_rate_comes_from_complete_seconds_of_scan_time() {
        let mut s = ScanState::default();
        assert_eq!(recent_rate(&s), 0.0);
        for second in 0..8 {
            s.timeline.bucket_mut(second * 1_000_000).unwrap().answers = 10;
        }
        s.timeline.bucket_mut(7_000_000).unwrap().answers = 1_000; // the second in progress
        s.now_us = 7_400_000;
        assert_eq!(complete_seconds(&s), 7);
        assert_eq!(recent_rate(&s), 10.0);
        s.finished = Some((crate::event::FinishReason::Completed, 7_400_000));
        assert_eq!(complete_seconds(&s), 8);
    }

    #[test]
    fn scopes_cover_hosts_and_ranges_of_the_same_family() {
        let a: IpAddr = "127.0.30.4".parse().unwrap();
        let range = Scope::Range {
            first: "127.0.30.0".parse().unwrap(),
            last: "127.0.30.7".parse().unwrap(),
        };
        assert!(scope_contains(&range, a));
        assert!(!scope_contains(&range, "127.0.30.8".parse().unwrap()));
        assert!(!scope_contains(&range, "::1".parse().unwrap()));
        assert!(!scope_contains(&Scope::Scan, a));
    }
}
