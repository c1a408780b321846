//! Re-checking a previous scan: each port the baseline saw open ends as still open, now closed
//! (an RST: the service really changed), or now silent; a silent port is re-probed after a
//! cool-down, and then a sentinel to a port the host answered on during the re-check tells a
//! port-level block (the host still answers) from the whole host being silent (a shun, or the
//! host is down). Ports open now that the baseline did not see open are new.
//!
//! The `Rechecker` is fed every event, like the detector; it asks for its re-probes the same
//! way (sentinel requests), and says when every baseline port has its verdict.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::detector::{Alarm, AlarmKind, Scope};
use crate::engine::SentinelRequest;
use crate::event::{HostId, ProbeOutcome, ProbeRecord, ScanEvent};

/// What became of one port the baseline saw open (or one it did not, open now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Not probed yet, or waiting for its re-probe.
    Pending,
    StillOpen,
    /// Answered RST: the service is gone or moved.
    NowClosed,
    /// No answer, twice, while the host still answers on another port: a block on this port.
    SilentPort,
    /// No answer, and the host answers on nothing: it shuns the scanner, or it is down.
    SilentHost,
    /// Open now, not open in the baseline.
    New,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pending => "pending",
            Verdict::StillOpen => "still open",
            Verdict::NowClosed => "now closed",
            Verdict::SilentPort => "now silent (port blocked)",
            Verdict::SilentHost => "now silent (host silent)",
            Verdict::New => "new",
        }
    }

    /// A baseline-open port that is not open now.
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Verdict::NowClosed | Verdict::SilentPort | Verdict::SilentHost | Verdict::New
        )
    }
}

/// One port's re-check.
#[derive(Debug, Clone, PartialEq)]
pub struct PortCheck {
    pub verdict: Verdict,
    /// What it is based on, in words with numbers.
    pub evidence: String,
    /// Scan time of the verdict (µs).
    pub decided_us: Option<u64>,
    silent_since: Option<u64>,
    reprobes: u32,
    pending: bool,
    /// Silent twice; waiting for the host's sentinel.
    awaiting_host: bool,
}

impl PortCheck {
    fn pending() -> Self {
        PortCheck {
            verdict: Verdict::Pending,
            evidence: String::new(),
            decided_us: None,
            silent_since: None,
            reprobes: 0,
            pending: false,
            awaiting_host: false,
        }
    }
}

/// Per host: what it answered during the re-check.
#[derive(Debug, Clone, Default, PartialEq)]
struct HostSeen {
    id: Option<HostId>,
    /// A port it answered on (open or closed) during the re-check, for the host sentinel.
    answered_port: Option<u16>,
    answers: u64,
    /// The host sentinel sent, waiting for its answer.
    sentinel_port: Option<u16>,
    alarmed: bool,
}

/// Re-checks the ports of a baseline while the scan runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Rechecker {
    /// The baseline's open ports, by host.
    baseline: BTreeMap<IpAddr, BTreeSet<u16>>,
    /// Every baseline port's check, and new ports.
    checks: BTreeMap<(IpAddr, u16), PortCheck>,
    hosts: HashMap<IpAddr, HostSeen>,
    cooldown_us: u64,
    requests: Vec<SentinelRequest>,
    /// Re-probes to send after a delay (µs): silent ports after their cool-down.
    delayed: Vec<(SentinelRequest, u64)>,
    alarms: Vec<Alarm>,
    now_us: u64,
}

impl Rechecker {
    /// A re-check of `baseline` (open ports by host); a port silent in the scan is probed again
    /// after `cooldown_us`.
    pub fn new(baseline: BTreeMap<IpAddr, BTreeSet<u16>>, cooldown_us: u64) -> Self {
        let checks = baseline
            .iter()
            .flat_map(|(addr, ports)| ports.iter().map(|&p| ((*addr, p), PortCheck::pending())))
            .collect();
        Rechecker {
            baseline,
            checks,
            hosts: HashMap::new(),
            cooldown_us,
            requests: Vec::new(),
            delayed: Vec::new(),
            alarms: Vec::new(),
            now_us: 0,
        }
    }

    /// Every port's check, by (host, port): the baseline's, then new ones.
    pub fn checks(&self) -> &BTreeMap<(IpAddr, u16), PortCheck> {
        &self.checks
    }

    /// RECHECK alarms raised so far (one per host with a changed port, once all its baseline
    /// ports are decided).
    pub fn alarms(&self) -> &[Alarm] {
        &self.alarms
    }

    /// Re-probes wanted now, since the last call.
    pub fn take_requests(&mut self) -> Vec<SentinelRequest> {
        std::mem::take(&mut self.requests)
    }

    /// Re-probes wanted after a delay (µs), since the last call (`EngineControl::sentinel_after`).
    pub fn take_delayed_requests(&mut self) -> Vec<(SentinelRequest, u64)> {
        std::mem::take(&mut self.delayed)
    }

    /// Every baseline port has its verdict.
    pub fn all_decided(&self) -> bool {
        self.checks.values().all(|c| c.verdict != Verdict::Pending)
    }

    /// Counts by verdict.
    pub fn counts(&self) -> BTreeMap<Verdict, usize> {
        let mut counts = BTreeMap::new();
        for check in self.checks.values() {
            *counts.entry(check.verdict).or_insert(0) += 1;
        }
        counts
    }

    /// A baseline-open port is not open now (or a new port is open).
    pub fn changed(&self) -> bool {
        self.checks.values().any(|c| c.verdict.is_change())
    }

    pub fn observe(&mut self, event: &ScanEvent) {
        match event {
            ScanEvent::HostStarted {
                host, addr, t_us, ..
            } => {
                self.now_us = self.now_us.max(*t_us);
                self.hosts.entry(*addr).or_default().id = Some(*host);
            }
            ScanEvent::Probe(r) => {
                self.now_us = self.now_us.max(r.t_us);
                self.probe(r);
            }
            ScanEvent::Sentinel(r) => {
                self.now_us = self.now_us.max(r.t_us);
                self.sentinel(r);
            }
            ScanEvent::HostDone { t_us, .. }
            | ScanEvent::ParamsChanged { t_us, .. }
            | ScanEvent::Finished { t_us, .. } => self.now_us = self.now_us.max(*t_us),
            ScanEvent::LocalError(r) => self.now_us = self.now_us.max(r.t_us),
            _ => {}
        }
    }

    fn probe(&mut self, r: &ProbeRecord) {
        if r.outcome.is_answer() {
            let seen = self.hosts.entry(r.addr).or_default();
            seen.answers += 1;
            seen.answered_port = Some(r.port);
        }
        let in_baseline = self
            .baseline
            .get(&r.addr)
            .is_some_and(|p| p.contains(&r.port));
        if !in_baseline {
            if r.outcome == ProbeOutcome::Open {
                let check = PortCheck {
                    verdict: Verdict::New,
                    evidence: format!(
                        "open now (connect {}), not open in the baseline",
                        ms(r.connect_us)
                    ),
                    decided_us: Some(r.t_us),
                    ..PortCheck::pending()
                };
                self.checks.insert((r.addr, r.port), check);
                self.host_decided(r.addr);
            }
            return;
        }
        let Some(check) = self.checks.get_mut(&(r.addr, r.port)) else {
            return;
        };
        match r.outcome {
            ProbeOutcome::Open => decide(
                check,
                Verdict::StillOpen,
                r.t_us,
                format!("open (connect {})", ms(r.connect_us)),
            ),
            ProbeOutcome::Closed => decide(
                check,
                Verdict::NowClosed,
                r.t_us,
                format!("RST in {}: nothing listens there now", ms(r.connect_us)),
            ),
            _ => {
                // Silent (or unreachable): probe it again after the cool-down.
                if !check.pending && check.reprobes == 0 && check.verdict == Verdict::Pending {
                    check.silent_since = Some(r.t_us);
                    check.pending = true;
                    let request = SentinelRequest {
                        host: r.host,
                        addr: r.addr,
                        port: r.port,
                    };
                    self.delayed.push((request, self.cooldown_us));
                }
            }
        }
        self.host_decided(r.addr);
    }

    fn sentinel(&mut self, r: &ProbeRecord) {
        let key = (r.addr, r.port);
        let host_sentinel = self
            .hosts
            .get(&r.addr)
            .is_some_and(|h| h.sentinel_port == Some(r.port));
        let mut ask_host = false;
        if let Some(check) = self.checks.get_mut(&key)
            && check.pending
        {
            check.pending = false;
            check.reprobes += 1;
            match r.outcome {
                ProbeOutcome::Open => decide(
                    check,
                    Verdict::StillOpen,
                    r.t_us,
                    format!(
                        "silent in the scan, open when probed again after a cool-down (connect {})",
                        ms(r.connect_us)
                    ),
                ),
                ProbeOutcome::Closed => decide(
                    check,
                    Verdict::NowClosed,
                    r.t_us,
                    format!(
                        "silent in the scan, RST when probed again after a cool-down ({}): nothing listens there now",
                        ms(r.connect_us)
                    ),
                ),
                _ => {
                    check.awaiting_host = true;
                    ask_host = true;
                }
            }
        }
        if ask_host {
            self.ask_host(r.addr);
        }
        if host_sentinel && let Some(seen) = self.hosts.get_mut(&r.addr) {
            seen.sentinel_port = None;
            let answered = r.outcome.is_answer();
            let (verdict, why) = if answered {
                (
                    Verdict::SilentPort,
                    format!(
                        "no answer in the scan nor after a cool-down, while the host answers on {}/tcp: a block on this port (a new rule) or the service is firewalled",
                        r.port
                    ),
                )
            } else {
                (
                    Verdict::SilentHost,
                    format!(
                        "no answer in the scan nor after a cool-down, and the host's sentinel {}/tcp is silent too: the host shuns the scanner or is down",
                        r.port
                    ),
                )
            };
            for ((addr, _), check) in self.checks.iter_mut() {
                if *addr == r.addr && check.awaiting_host {
                    check.awaiting_host = false;
                    decide(check, verdict, r.t_us, why.clone());
                }
            }
        }
        self.host_decided(r.addr);
    }

    /// Sends the host sentinel (to a port it answered on during the re-check), or, with none,
    /// decides its silent ports at once: it answered nothing.
    fn ask_host(&mut self, addr: IpAddr) {
        let now = self.now_us;
        let Some(seen) = self.hosts.get_mut(&addr) else {
            return;
        };
        if seen.sentinel_port.is_some() {
            return;
        }
        match (seen.answered_port, seen.id) {
            (Some(port), Some(host)) => {
                seen.sentinel_port = Some(port);
                self.requests.push(SentinelRequest { host, addr, port });
            }
            _ => {
                for ((a, _), check) in self.checks.iter_mut() {
                    if *a == addr && check.awaiting_host {
                        check.awaiting_host = false;
                        decide(
                            check,
                            Verdict::SilentHost,
                            now,
                            "no answer in the scan nor after a cool-down, and the host answered on no port at all: it shuns the scanner or is down".into(),
                        );
                    }
                }
            }
        }
    }

    /// Raises the host's RECHECK alarm once all its baseline ports are decided and some changed.
    fn host_decided(&mut self, addr: IpAddr) {
        let ports: Vec<(&u16, &PortCheck)> = self
            .checks
            .range((addr, 0)..=(addr, u16::MAX))
            .map(|((_, p), c)| (p, c))
            .collect();
        if ports.iter().any(|(_, c)| c.verdict == Verdict::Pending)
            || !ports
                .iter()
                .any(|(_, c)| c.verdict.is_change() && c.verdict != Verdict::New)
        {
            return;
        }
        let Some(seen) = self.hosts.get_mut(&addr) else {
            return;
        };
        if seen.alarmed {
            return;
        }
        seen.alarmed = true;
        let baseline = self.baseline.get(&addr).map_or(0, BTreeSet::len);
        let mut parts = Vec::new();
        for (port, check) in &ports {
            if check.verdict != Verdict::StillOpen {
                parts.push(format!(
                    "{port}/tcp {}: {}",
                    check.verdict.as_str(),
                    check.evidence
                ));
            }
        }
        let still = ports
            .iter()
            .filter(|(_, c)| c.verdict == Verdict::StillOpen)
            .count();
        let since = ports
            .iter()
            .filter(|(_, c)| c.verdict.is_change())
            .filter_map(|(_, c)| c.decided_us)
            .min()
            .unwrap_or(self.now_us);
        let evidence = format!(
            "of {baseline} ports open in the baseline {still} still open; {}",
            parts.join("; ")
        );
        self.alarms.push(Alarm {
            kind: AlarmKind::Recheck,
            scope: Scope::Host { addr },
            since_us: since,
            raised_us: self.now_us,
            cleared_us: None,
            evidence,
        });
    }
}

fn decide(check: &mut PortCheck, verdict: Verdict, t_us: u64, evidence: String) {
    if check.verdict == Verdict::Pending {
        check.verdict = verdict;
        check.evidence = evidence;
        check.decided_us = Some(t_us);
        check.silent_since = None;
    }
}

fn ms(us: u64) -> String {
    crate::headless::text::human_us(us)
}

#[cfg(test)]
mod tests;
