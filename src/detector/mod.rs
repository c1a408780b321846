//! The interference detector: folds every event into per-host and global signals and raises
//! alarms when the network starts interfering with the scan.
//!
//! It is a pure function of the event stream (its clock is the events' scan time), so a replayed
//! session raises the same alarms as the live run. The only thing it asks of the live engine is
//! sentinel re-probes, which come back as events like everything else.
//!
//! Alarms raised so far: SHUN (per-host Bernoulli CUSUM on timeouts against the host's own
//! baseline, confirmed by sentinel re-probes of a port the host answered on), DECEPTION (too many
//! open ports, or most probed ports open; its evidence says what the open ports did after the
//! handshake), LOCAL (the scanner's own errors).

mod after_connect;
pub mod alarm;
pub mod cusum;
pub mod thresholds;

use std::collections::VecDeque;
use std::net::IpAddr;

pub use alarm::{Alarm, AlarmKind, Scope};
pub use cusum::BernoulliCusum;
pub use thresholds::AlarmThresholds;

use after_connect::AfterConnectCounts;

use crate::engine::SentinelRequest;
use crate::event::{FilterReason, HostId, ProbeOutcome, ProbeRecord, ScanEvent};
use crate::idmap::IdMap;

/// An answer slower than this (and than the host's own RTT by `RETRY_GAP_US`) came on the kernel's
/// SYN retransmission: the first SYN was dropped (Linux resends after 1 s; RFC 6298 §2.1).
const RETRY_MIN_US: u64 = 900_000;
const RETRY_GAP_US: f64 = 800_000.0;
/// Probes after which a host without a known open port is judged without one (a host that
/// finishes first is judged when it finishes).
const NO_OPEN_PORT_AFTER: u32 = 1000;
/// Distinct ports that went silent in the scan re-probed alone, one after another ...
const SILENT_REPROBES: usize = 6;
/// ... of which this many must answer for the silence to count as load rather than a filter.
const SILENT_ANSWERS: u32 = 2;
/// Answers among a host's last 64 that came only on a retried attempt (the first timed out) that
/// show its losses depend on load. Random loss of 5% gives about 3 of 64; 14 or more has a
/// chance of 3 in a million; an RST or SYN limit at twice the host's rate gives 20 to 30.
const LATE_ANSWERS: u32 = 14;
/// A host counts as slowed down (QOS) when at least `QOS_RECENT_SLOW` of its latest
/// `QOS_RECENT` prompt answers are over the limit, not only their average: a clean host with a
/// heavy tail (p99 ten times the median) has 13% of its answers over three times the median, so
/// 6 of 8 has a chance of about 1 in 10,000.
const QOS_RECENT: u32 = 8;
const QOS_RECENT_SLOW: u32 = 6;
/// Smallest number of hosts the QOS share is taken over.
const QOS_MIN_POPULATION: u32 = 12;
/// Sentinels sent to an open port to tell an RST limit from a SYN rate limit.
const OPEN_SENTINELS: u32 = 3;
/// Prompt answers in a row that clear a RATE alarm.
const CLEAN_ANSWERS: u32 = 32;
/// Weight of a new connect time in a host's RTT average.
const RTT_WEIGHT: f64 = 0.1;
/// Ports per host remembered as sentinel candidates.
const SENTINEL_PORTS: usize = 4;

/// Per-host signals.
#[derive(Debug)]
struct HostSignals {
    addr: IpAddr,
    probes: u32,
    baseline_timeouts: u32,
    /// Set once the host answered and its baseline is known.
    cusum: Option<BernoulliCusum>,
    baseline_rate: f64,
    /// Send time of the first timeout of the current CUSUM excursion.
    excursion_start: Option<u64>,
    /// The change point, once the CUSUM signalled.
    changed_at: Option<u64>,
    /// Last 64 outcomes, set bit = timeout.
    recent: BitWindow,
    /// Last 64 answers, set bit = the answer came only on SYN retry.
    retried: BitWindow,
    /// Average connect time of prompt answers (µs); frozen as the baseline with the CUSUM.
    rtt_us: f64,
    /// Average connect time of prompt answers since the baseline (µs).
    rtt_now_us: f64,
    /// Its RTT baseline is set (with its timeout baseline); `rtt_now_us` moves from then on.
    rtt_frozen: bool,
    /// The host's connect times are well above its baseline.
    inflated: bool,
    /// Prompt answers since its baseline, set bit = slower than the QOS limit.
    slow: BitWindow,
    /// Scan time of its latest answer.
    last_answer_us: u64,
    /// Scan time of the latest answer that came on SYN retry.
    last_retry_us: u64,
    /// First SYN-retry answer of the current run of them.
    retries_since: Option<u64>,
    /// Answers to probes sent after the change point.
    answers_after_change: u32,
    /// Probes sent before this time (during a silence that has ended) say nothing about rates.
    settled_after_us: u64,
    /// When its sentinels confirmed the silence (the SHUN evidence, waiting out the grace
    /// period in case it is part of a RANGE or a LOST link).
    silent_confirmed: Option<Box<(u64, String)>>,
    /// Every planned probe to it is done.
    done: bool,
    /// The latest distinct ports that gave no answer (candidates for re-probing alone), newest
    /// last; 0 = none.
    silent_ports: [u16; SILENT_REPROBES],
    /// Last 64 answers, set bit = it came only on a retried attempt (the first timed out).
    late: BitWindow,
    /// A loss check that could not tell an RST limit from a SYN limit for want of an open port:
    /// its start and evidence, decided when an open port shows up or the host is done.
    undecided: Option<Box<(u64, String)>>,
    /// Working out who drops what, when its losses look rate-dependent.
    loss_check: Option<Box<LossCheck>>,
    /// No new loss check before this many probes (after one found the silence real).
    next_loss_check: u32,
    /// Ports the host answered on, open ones first.
    answered: Vec<(u16, bool)>,
    sentinel_failures: u32,
    sentinel_pending: bool,
    open: u64,
    /// Its open ports by what they did after the handshake (DECEPTION evidence).
    after_connect: AfterConnectCounts,
}

/// Working out whether a host's rate-dependent losses are dropped SYNs (RATE) or dropped RSTs
/// from closed ports (RSTLIMIT): a port that went silent is re-probed alone, and an open port
/// gets three sentinels; open ports answering every time while closed ones go silent under load
/// is an RST limit.
#[derive(Debug, Clone)]
struct LossCheck {
    since_us: u64,
    evidence: String,
    /// Silent ports still to re-probe (one at a time, last first).
    silent_ports: Vec<u16>,
    /// The silent port re-probed now, until its answer is in.
    silent_port: Option<u16>,
    silent_sent: u32,
    silent_answered: u32,
    open_port: Option<u16>,
    open_pending: u32,
    open_prompt: u32,
    open_failed: u32,
}

impl HostSignals {
    fn new(addr: IpAddr) -> Self {
        HostSignals {
            addr,
            probes: 0,
            baseline_timeouts: 0,
            cusum: None,
            baseline_rate: 0.0,
            excursion_start: None,
            changed_at: None,
            recent: BitWindow::default(),
            retried: BitWindow::default(),
            rtt_us: 0.0,
            rtt_now_us: 0.0,
            rtt_frozen: false,
            inflated: false,
            slow: BitWindow::default(),
            last_answer_us: 0,
            last_retry_us: 0,
            retries_since: None,
            answers_after_change: 0,
            settled_after_us: 0,
            silent_confirmed: None,
            done: false,
            silent_ports: [0; SILENT_REPROBES],
            late: BitWindow::default(),
            undecided: None,
            loss_check: None,
            next_loss_check: 0,
            answered: Vec::new(),
            sentinel_failures: 0,
            sentinel_pending: false,
            open: 0,
            after_connect: AfterConnectCounts::default(),
        }
    }

    fn remember_answer(&mut self, port: u16, open: bool) {
        if self.answered.iter().any(|&(p, _)| p == port) {
            return;
        }
        if self.answered.len() < SENTINEL_PORTS {
            self.answered.push((port, open));
        } else if open && let Some(slot) = self.answered.iter_mut().find(|(_, o)| !o) {
            *slot = (port, open);
        }
        self.answered.sort_by_key(|&(_, o)| !o);
    }

    fn open_port(&self) -> Option<u16> {
        self.answered
            .iter()
            .find(|&&(_, open)| open)
            .map(|&(p, _)| p)
    }

    fn answered_closed(&self) -> bool {
        self.answered.iter().any(|&(_, open)| !open)
    }

    /// The port to re-probe: the n-th remembered one (open ports first).
    fn sentinel_port(&self, n: u32) -> Option<u16> {
        if self.answered.is_empty() {
            return None;
        }
        Some(self.answered[n as usize % self.answered.len()].0)
    }

    fn recent_timeouts(&self) -> (usize, usize) {
        (self.recent.ones() as usize, self.recent.len() as usize)
    }

    /// Whether an answer with this connect time came only on the SYN retransmission.
    fn is_retry_answer(&self, connect_us: u64) -> bool {
        connect_us >= RETRY_MIN_US && connect_us as f64 >= self.rtt_us + RETRY_GAP_US
    }
}

/// The last (up to) 64 yes/no observations.
#[derive(Debug, Default, Clone, Copy)]
struct BitWindow {
    bits: u64,
    len: u8,
}

impl BitWindow {
    fn push(&mut self, bit: bool) {
        self.bits = (self.bits << 1) | u64::from(bit);
        self.len = (self.len + 1).min(64);
    }

    /// Set bits among the latest `n` (up to 64) observations.
    fn recent_ones(&self, n: u32) -> u32 {
        let mask = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
        (self.bits & mask).count_ones()
    }

    fn ones(&self) -> u32 {
        self.bits.count_ones()
    }

    fn len(&self) -> u32 {
        u32::from(self.len)
    }
}

/// Takes a host's recent timeout rate as its new baseline and forgets the change point.
fn rebaseline(host: &mut HostSignals, th: AlarmThresholds) {
    let (timeouts, of) = host.recent_timeouts();
    let recent = timeouts as f64 / of.max(1) as f64;
    host.baseline_rate = host.baseline_rate.max(recent);
    host.cusum = (host.baseline_rate <= cusum::MAX_BASELINE).then(|| {
        BernoulliCusum::new(
            host.baseline_rate,
            target(th.cusum_target, host.baseline_rate),
            th.cusum_threshold,
        )
    });
    host.changed_at = None;
    host.excursion_start = None;
    host.sentinel_failures = 0;
    host.silent_confirmed = None;
}

/// The timeout probability the CUSUM tests for: the configured target, or halfway from the
/// baseline to certainty when the baseline is already high.
fn target(configured: f64, baseline: f64) -> f64 {
    configured.max(baseline + (1.0 - baseline) / 2.0)
}

/// Raises and clears interference alarms from the event stream.
#[derive(Debug)]
pub struct Detector {
    th: AlarmThresholds,
    hosts: IdMap<HostId, HostSignals>,
    alarms: Vec<Alarm>,
    active: IdMap<(AlarmKind, Scope), usize>,
    requests: Vec<SentinelRequest>,
    /// Times of recent local errors (µs).
    local_errors: VecDeque<u64>,
    /// Changes whenever an alarm is raised or cleared.
    version: u64,
    /// Hosts whose silence is confirmed, waiting for the grace period.
    pending_silent: Vec<HostId>,
    /// Scan time of the latest event seen: when an alarm raised now is raised.
    now_us: u64,
    /// Hosts in progress with an RTT baseline, and how many of them are inflated (QOS).
    qos_hosts: u32,
    qos_inflated: u32,
}

impl Detector {
    pub fn new(th: AlarmThresholds) -> Self {
        Detector {
            th,
            hosts: IdMap::default(),
            alarms: Vec::new(),
            active: IdMap::default(),
            requests: Vec::new(),
            local_errors: VecDeque::new(),
            version: 0,
            pending_silent: Vec::new(),
            now_us: 0,
            qos_hosts: 0,
            qos_inflated: 0,
        }
    }

    /// Changes whenever an alarm is raised or cleared, so views can tell cheaply.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Every alarm raised so far, in the order raised.
    pub fn alarms(&self) -> &[Alarm] {
        &self.alarms
    }

    /// Sentinel re-probes wanted since the last call (the live runner sends them to the engine).
    pub fn take_sentinel_requests(&mut self) -> Vec<SentinelRequest> {
        std::mem::take(&mut self.requests)
    }

    /// True when probes to this host now are suspect: its timeouts rose above its baseline and
    /// a port it answered on before went silent too.
    pub fn is_suspect(&self, host: HostId) -> bool {
        self.hosts
            .get(&host)
            .is_some_and(|h| h.changed_at.is_some() && h.sentinel_failures > 0)
    }

    /// Folds one event; returns how many alarms it raised.
    pub fn observe(&mut self, event: &ScanEvent) -> usize {
        if let Some(t) = event.time_us() {
            self.now_us = self.now_us.max(t);
        }
        let before = self.alarms.len();
        match event {
            ScanEvent::HostStarted { host, addr, .. } => {
                self.hosts.insert(*host, HostSignals::new(*addr));
            }
            ScanEvent::Probe(r) => self.probe(r),
            ScanEvent::Sentinel(r) => self.sentinel(r),
            // Sentinels sent while the scan is paused say nothing about load: a limiter has
            // refilled by then. Loss checks in flight start over after the pause.
            ScanEvent::ParamsChanged { params, .. } if params.paused => {
                for host in self.hosts.values_mut() {
                    host.loss_check = None;
                }
            }
            ScanEvent::LocalError(r) => self.local_error(r.t_us),
            ScanEvent::HostDone { host, .. } => {
                // A finished host that never answered cannot interfere with anything.
                if self.hosts.get(host).is_some_and(|h| h.cusum.is_none()) {
                    self.hosts.remove(host);
                } else if let Some(h) = self.hosts.get_mut(host) {
                    if h.rtt_frozen && !h.done {
                        self.qos_hosts -= 1;
                        if h.inflated {
                            h.inflated = false;
                            self.qos_inflated -= 1;
                        }
                    }
                    h.done = true;
                    self.resume_undecided(*host, true);
                }
            }
            _ => {}
        }
        if let Some(t_us) = event.time_us() {
            let finished = matches!(event, ScanEvent::Finished { .. });
            self.resolve_silences(t_us, finished);
        }
        self.alarms.len() - before
    }

    /// Decides what confirmed silences mean once their grace period is over: the scanner's own
    /// link (LOST: every answering host silent), a range block (RANGE: several hosts silent
    /// within seconds), or one host shunning the scanner (SHUN).
    fn resolve_silences(&mut self, t_us: u64, finished: bool) {
        if self.pending_silent.is_empty() {
            return;
        }
        let th = self.th;
        let grace = th.grace_us();
        let answering: Vec<&HostSignals> = self
            .hosts
            .values()
            .filter(|h| h.cusum.is_some() && (!h.done || h.changed_at.is_some()))
            .collect();
        let silent: Vec<&HostSignals> = answering
            .iter()
            .copied()
            .filter(|h| h.silent_confirmed.is_some())
            .collect();
        if answering.len() >= 2 && silent.len() == answering.len() {
            let since = silent
                .iter()
                .filter_map(|h| h.changed_at)
                .min()
                .unwrap_or(t_us);
            let evidence = format!(
                "all {} answering hosts went silent, sentinels included, within {:.2} s",
                silent.len(),
                (silent
                    .iter()
                    .filter_map(|h| h.changed_at)
                    .max()
                    .unwrap_or(since)
                    - since) as f64
                    / 1e6
            );
            self.pending_silent.clear();
            self.raise(AlarmKind::Lost, Scope::Scan, since, t_us, evidence);
            return;
        }
        let oldest = self
            .pending_silent
            .iter()
            .filter_map(|id| self.hosts.get(id)?.silent_confirmed.as_ref().map(|c| c.0))
            .min()
            .unwrap_or(t_us);
        if !finished && t_us < oldest + grace {
            return;
        }
        let pending = std::mem::take(&mut self.pending_silent);
        // Hosts whose silence began within the range window of each other form a RANGE.
        let mut group: Vec<(IpAddr, u64)> = pending
            .iter()
            .filter_map(|id| {
                let h = self.hosts.get(id)?;
                Some((h.addr, h.changed_at?))
            })
            .collect();
        group.sort_by_key(|&(_, at)| at);
        let spread =
            |g: &[(IpAddr, u64)]| g.last().map_or(0, |l| l.1) - g.first().map_or(0, |f| f.1);
        if !group.is_empty()
            && group.len() as u32 >= th.range_min_hosts
            && spread(&group) <= th.range_window_us()
        {
            let first = group.iter().map(|g| g.0).min().expect("non-empty");
            let last = group.iter().map(|g| g.0).max().expect("non-empty");
            let evidence = format!(
                "{} answering hosts went silent within {:.1} s of each other; their sentinels too",
                group.len(),
                spread(&group) as f64 / 1e6
            );
            let since = group[0].1;
            self.raise(
                AlarmKind::Range,
                Scope::Range { first, last },
                since,
                t_us,
                evidence,
            );
            return;
        }
        for id in pending {
            let Some(h) = self.hosts.get(&id) else {
                continue;
            };
            if let (Some(changed_at), Some(confirmed)) = (h.changed_at, h.silent_confirmed.clone())
            {
                let evidence = confirmed.1;
                let scope = Scope::Host { addr: h.addr };
                self.raise(AlarmKind::Shun, scope, changed_at, t_us, evidence);
            }
        }
    }

    fn probe(&mut self, r: &ProbeRecord) {
        if matches!(r.outcome, ProbeOutcome::LocalError(_)) {
            return;
        }
        let th = self.th;
        let host = self
            .hosts
            .entry(r.host)
            .or_insert_with(|| HostSignals::new(r.addr));
        let timed_out = r.outcome == ProbeOutcome::Filtered(FilterReason::NoResponse);
        host.probes += 1;
        host.recent.push(timed_out);
        if timed_out && !host.silent_ports.contains(&r.port) {
            host.silent_ports.rotate_left(1);
            host.silent_ports[SILENT_REPROBES - 1] = r.port;
        }
        if r.outcome.is_answer() {
            host.late.push(r.attempt > 1);
        }
        // A timeout's connect time is the timeout of each attempt; all of them were silent.
        let sent_us = if timed_out {
            r.t_us
                .saturating_sub(r.connect_us.saturating_mul(u64::from(r.attempt)))
        } else {
            r.t_us.saturating_sub(r.connect_us)
        };
        let mut retry_answer = false;
        if r.outcome.is_answer() && sent_us >= host.settled_after_us {
            retry_answer = host.is_retry_answer(r.connect_us);
            host.retried.push(retry_answer);
            if retry_answer {
                host.last_retry_us = r.t_us;
                host.retries_since.get_or_insert(sent_us);
            } else if !host.rtt_frozen {
                let weight = if host.rtt_us == 0.0 { 1.0 } else { RTT_WEIGHT };
                host.rtt_us += weight * (r.connect_us as f64 - host.rtt_us);
                host.rtt_now_us = host.rtt_us;
            } else {
                host.rtt_now_us += RTT_WEIGHT * (r.connect_us as f64 - host.rtt_now_us);
            }
            host.last_answer_us = r.t_us;
            if host.retried.ones() == 0 {
                host.retries_since = None;
            }
            if host.changed_at.is_some_and(|c| sent_us >= c) {
                host.answers_after_change += 1;
            }
        }
        let mut resume = false;
        match r.outcome {
            ProbeOutcome::Open => {
                host.open += 1;
                host.after_connect.add(&r.after_connect);
                host.remember_answer(r.port, true);
                resume = host.undecided.is_some() && host.loss_check.is_none();
            }
            ProbeOutcome::Closed => host.remember_answer(r.port, false),
            _ => {}
        }
        let mut signalled = false;
        match &mut host.cusum {
            None => {
                if timed_out {
                    host.baseline_timeouts += 1;
                }
                if host.probes >= th.baseline_probes && !host.answered.is_empty() {
                    host.baseline_rate = f64::from(host.baseline_timeouts) / f64::from(host.probes);
                    // A host whose ports are mostly filtered from the start has nothing to lose:
                    // no change in its timeouts could be told from its baseline.
                    if !host.rtt_frozen {
                        host.rtt_frozen = true;
                        self.qos_hosts += 1;
                    }
                    if host.baseline_rate <= cusum::MAX_BASELINE {
                        host.cusum = Some(BernoulliCusum::new(
                            host.baseline_rate,
                            target(th.cusum_target, host.baseline_rate),
                            th.cusum_threshold,
                        ));
                    } else {
                        host.baseline_timeouts = 0;
                        host.probes = 0;
                    }
                }
            }
            Some(cusum) => {
                let was_zero = cusum.sum() == 0.0;
                signalled = cusum.observe(timed_out);
                if was_zero && cusum.sum() > 0.0 {
                    host.excursion_start = Some(sent_us);
                }
                if cusum.sum() == 0.0 {
                    host.excursion_start = None;
                    if host.changed_at.is_some() {
                        host.changed_at = None;
                        host.sentinel_failures = 0;
                        host.settled_after_us = r.t_us;
                        host.retried = BitWindow::default();
                        host.recent = BitWindow::default();
                        host.silent_confirmed = None;
                        let addr = host.addr;
                        self.clear(AlarmKind::Shun, Scope::Host { addr }, r.t_us);
                    }
                }
            }
        }
        let host = self.hosts.get_mut(&r.host).expect("inserted above");
        if signalled && host.changed_at.is_none() {
            host.changed_at = Some(host.excursion_start.unwrap_or(r.t_us));
            host.sentinel_failures = 0;
            host.answers_after_change = 0;
            host.loss_check = None;
            self.request_sentinel(r.host);
        }
        if r.outcome.is_answer() {
            self.check_rate(r, retry_answer);
            self.check_qos(r, retry_answer);
        } else if timed_out {
            self.check_silent_closed_ports(r);
        }
        if resume {
            self.resume_undecided(r.host, false);
        }
        self.check_deception(r);
    }

    fn request_sentinel(&mut self, id: HostId) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        if host.sentinel_pending {
            return;
        }
        if let Some(port) = host.sentinel_port(host.sentinel_failures) {
            host.sentinel_pending = true;
            self.requests.push(SentinelRequest {
                host: id,
                addr: host.addr,
                port,
            });
        }
    }

    fn sentinel(&mut self, r: &ProbeRecord) {
        if self.loss_check_sentinel(r) {
            return;
        }
        let th = self.th;
        let Some(host) = self.hosts.get_mut(&r.host) else {
            return;
        };
        host.sentinel_pending = false;
        let Some(changed_at) = host.changed_at else {
            return;
        };
        match r.outcome {
            ProbeOutcome::Filtered(FilterReason::NoResponse) => {
                host.sentinel_failures += 1;
                if host.sentinel_failures < th.sentinel_failures {
                    self.request_sentinel(r.host);
                    return;
                }
                if host.answers_after_change > 1 {
                    // Answers still come, just fewer: a limit on a rate, not a ban. Take the
                    // losses as the new normal and find out who drops what.
                    let (timeouts, of) = host.recent_timeouts();
                    let evidence = format!(
                        "{timeouts} of its last {of} probes timed out (baseline {:.0}%) while it still answers; sentinel {}/tcp silent {} times",
                        host.baseline_rate * 100.0,
                        r.port,
                        host.sentinel_failures
                    );
                    rebaseline(host, th);
                    self.start_loss_check(r.host, changed_at, evidence, Vec::new());
                    return;
                }
                let (timeouts, of) = host.recent_timeouts();
                let evidence = format!(
                    "{timeouts} of the last {of} probes timed out (baseline {:.0}%); \
                     sentinel {}/tcp, answered before, silent {} times",
                    host.baseline_rate * 100.0,
                    r.port,
                    host.sentinel_failures
                );
                let _ = changed_at;
                if host.silent_confirmed.is_none() {
                    host.silent_confirmed = Some(Box::new((r.t_us, evidence)));
                    self.pending_silent.push(r.host);
                }
            }
            ProbeOutcome::LocalError(_) => self.request_sentinel(r.host),
            // The host still answers on a port it answered on before: not a shun. Its timeouts
            // are what they are now; take them as its new baseline.
            _ => rebaseline(host, th),
        }
    }

    /// RATE: a host's answers come on SYN retry: its first SYNs are being dropped.
    fn check_rate(&mut self, r: &ProbeRecord, retry_answer: bool) {
        let th = self.th;
        let Some(host) = self.hosts.get(&r.host) else {
            return;
        };
        let scope = Scope::Host { addr: host.addr };
        if host.changed_at.is_some() || self.active.contains_key(&(AlarmKind::Shun, scope)) {
            // While the host is silent or banned, answers around the edges of the silence come
            // late too; that is the ban, not a rate limit.
            return;
        }
        let retries = host.retried.ones();
        if retries >= th.rate_retry_answers && retry_answer {
            if host.loss_check.is_some() || self.loss_alarm_active(scope) {
                return;
            }
            let evidence = format!(
                "{retries} of the last {} answers came only on SYN retry (connect ≥ {:.1} s; the host's RTT is {:.1} ms); {:.0}% of its last {} probes timed out",
                host.retried.len(),
                RETRY_MIN_US as f64 / 1e6,
                host.rtt_us / 1e3,
                host.recent.ones() as f64 * 100.0 / f64::from(host.recent.len().max(1)),
                host.recent.len(),
            );
            let since = host.retries_since.unwrap_or(r.t_us);
            self.start_loss_check(r.host, since, evidence, Vec::new());
        } else if retries == 0 && host.retried.len() >= CLEAN_ANSWERS && !self.lossy(host) {
            self.clear(AlarmKind::Rate, scope, r.t_us);
            self.clear(AlarmKind::RstLimit, scope, r.t_us);
        }
    }

    /// Whether a host still loses more than half the share of probes that starts a loss check.
    fn lossy(&self, host: &HostSignals) -> bool {
        f64::from(host.recent.ones())
            >= self.th.loss_check_timeouts / 2.0 * f64::from(host.recent.len())
    }

    fn loss_alarm_active(&self, scope: Scope) -> bool {
        self.active.contains_key(&(AlarmKind::Rate, scope))
            || self.active.contains_key(&(AlarmKind::RstLimit, scope))
    }

    /// Many timeouts on a host that answers RST on other ports: are those silent ports really
    /// filtered, or were their RSTs (or SYNs) dropped under load? Re-probe one alone.
    fn check_silent_closed_ports(&mut self, r: &ProbeRecord) {
        let th = self.th;
        let Some(host) = self.hosts.get(&r.host) else {
            return;
        };
        let scope = Scope::Host { addr: host.addr };
        let lossy = host.recent.len() == 64
            && f64::from(host.recent.ones()) >= th.loss_check_timeouts * 64.0;
        if !lossy
            || host.changed_at.is_some()
            || host.loss_check.is_some()
            || host.probes < host.next_loss_check
            || !host.answered_closed()
            || self.loss_alarm_active(scope)
        {
            return;
        }
        let mut evidence = format!(
            "{} of its last 64 probes timed out while it answers RST on other ports",
            host.recent.ones()
        );
        let since = r.t_us.saturating_sub(r.connect_us * u64::from(r.attempt));
        let late = host.late.ones();
        let silent_ports = if late >= LATE_ANSWERS {
            // Ports silent on the first attempt answer on the second: the silence is load.
            evidence.push_str(&format!(
                "; {late} of its last {} answers came only on a retried attempt",
                host.late.len()
            ));
            Vec::new()
        } else {
            host.silent_ports
                .iter()
                .copied()
                .filter(|&p| p != 0)
                .collect()
        };
        self.start_loss_check(r.host, since, evidence, silent_ports);
    }

    /// Starts a loss check: re-probe `silent_ports` first if any, else the open port at once.
    fn start_loss_check(
        &mut self,
        id: HostId,
        since_us: u64,
        evidence: String,
        silent_ports: Vec<u16>,
    ) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        let open_port = host.open_port();
        let reprobe = !silent_ports.is_empty();
        host.loss_check = Some(Box::new(LossCheck {
            since_us,
            evidence,
            silent_ports,
            silent_port: None,
            silent_sent: 0,
            silent_answered: 0,
            open_port,
            open_pending: 0,
            open_prompt: 0,
            open_failed: 0,
        }));
        if reprobe {
            self.reprobe_silent_port(id);
        } else {
            self.check_open_port(id);
        }
    }

    /// Re-probes the next silent port of a loss check, alone.
    fn reprobe_silent_port(&mut self, id: HostId) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        let addr = host.addr;
        let Some(check) = host.loss_check.as_mut() else {
            return;
        };
        check.silent_port = check.silent_ports.pop();
        if let Some(port) = check.silent_port {
            check.silent_sent += 1;
            self.requests.push(SentinelRequest {
                host: id,
                addr,
                port,
            });
        }
    }

    /// The losses depend on load: sentinels to an open port tell who drops what. Without an
    /// open port yet, the question waits for one (or for the host to finish).
    fn check_open_port(&mut self, id: HostId) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        if let Some(open_port) = host.open_port() {
            if let Some(check) = host.loss_check.as_mut() {
                check.open_port = Some(open_port);
            }
            host.undecided = None;
            self.probe_open_port(id);
        } else if host.probes < NO_OPEN_PORT_AFTER {
            if let Some(check) = host.loss_check.take() {
                host.undecided
                    .get_or_insert_with(|| Box::new((check.since_us, check.evidence)));
            }
            host.next_loss_check = host.probes + 64;
        } else {
            self.finish_loss_check(id, false, 0);
        }
    }

    /// Sends the open-port sentinels of a loss check.
    fn probe_open_port(&mut self, id: HostId) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        let addr = host.addr;
        let Some(check) = host.loss_check.as_mut() else {
            return;
        };
        let Some(port) = check.open_port else {
            return;
        };
        check.open_pending = OPEN_SENTINELS;
        for _ in 0..OPEN_SENTINELS {
            self.requests.push(SentinelRequest {
                host: id,
                addr,
                port,
            });
        }
    }

    /// A sentinel that belongs to a loss check. Returns false when it does not.
    fn loss_check_sentinel(&mut self, r: &ProbeRecord) -> bool {
        let Some(host) = self.hosts.get_mut(&r.host) else {
            return false;
        };
        let prompt_limit = (host.rtt_us * 4.0).max(host.rtt_us + 50_000.0);
        let Some(check) = host.loss_check.as_mut() else {
            return false;
        };
        if check.silent_port == Some(r.port) {
            check.silent_port = None;
            if r.outcome.is_answer() {
                check.silent_answered += 1;
            }
            let (sent, answered) = (check.silent_sent, check.silent_answered);
            if answered >= SILENT_ANSWERS {
                // Ports silent in the scan answer when re-probed alone: load, not a filter.
                check.silent_ports.clear();
                check.evidence.push_str(&format!(
                    "; {answered} of {sent} ports silent in the scan answered when re-probed alone"
                ));
                self.check_open_port(r.host);
            } else if check.silent_ports.is_empty() {
                // Still silent: really filtered. Look again later.
                host.loss_check = None;
                host.next_loss_check = host.probes + 200;
            } else {
                self.reprobe_silent_port(r.host);
            }
            return true;
        }
        if check.open_port != Some(r.port) || check.open_pending == 0 {
            return false;
        }
        check.open_pending -= 1;
        if r.outcome == ProbeOutcome::Open && (r.connect_us as f64) < prompt_limit {
            check.open_prompt += 1;
        } else {
            check.open_failed += 1;
        }
        if check.open_pending == 0 {
            let all_prompt = check.open_failed == 0;
            let prompt = check.open_prompt;
            self.finish_loss_check(r.host, all_prompt, prompt);
        }
        true
    }

    /// Takes up a loss check that waited for an open port: now that one answered, or (`done`)
    /// the host finished without one, which leaves RATE with the doubt said.
    fn resume_undecided(&mut self, id: HostId, done: bool) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        let Some(undecided) = host.undecided.take() else {
            return;
        };
        let (since_us, evidence) = *undecided;
        let scope = Scope::Host { addr: host.addr };
        if self.loss_alarm_active(scope) {
            return;
        }
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        if done {
            host.loss_check = Some(Box::new(LossCheck {
                since_us,
                evidence,
                silent_ports: Vec::new(),
                silent_port: None,
                silent_sent: 0,
                silent_answered: 0,
                open_port: None,
                open_pending: 0,
                open_prompt: 0,
                open_failed: 0,
            }));
            self.finish_loss_check(id, false, 0);
        } else {
            self.start_loss_check(id, since_us, evidence, Vec::new());
        }
    }

    /// Raises RSTLIMIT when open ports answered every sentinel promptly, RATE otherwise.
    fn finish_loss_check(&mut self, id: HostId, open_ports_fine: bool, prompt: u32) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        let Some(check) = host.loss_check.take() else {
            return;
        };
        let addr = host.addr;
        let t_us = host.last_answer_us.max(check.since_us);
        let scope = Scope::Host { addr };
        if open_ports_fine {
            let evidence = format!(
                "{}; open port {}/tcp answered {prompt} of {OPEN_SENTINELS} sentinels promptly",
                check.evidence,
                check.open_port.unwrap_or(0)
            );
            self.raise(AlarmKind::RstLimit, scope, check.since_us, t_us, evidence);
        } else {
            let evidence = match check.open_port {
                Some(port) => format!(
                    "{}; open port {port}/tcp answered only {prompt} of {OPEN_SENTINELS} sentinels promptly",
                    check.evidence
                ),
                None => format!(
                    "{} (no open port to tell an RST limit apart)",
                    check.evidence
                ),
            };
            self.raise(AlarmKind::Rate, scope, check.since_us, t_us, evidence);
        }
    }

    /// QOS: connect times well above their own baselines on many hosts at once.
    fn check_qos(&mut self, r: &ProbeRecord, retry_answer: bool) {
        let th = self.th;
        let Some(host) = self.hosts.get_mut(&r.host) else {
            return;
        };
        if !host.rtt_frozen || host.done || retry_answer {
            return;
        }
        let limit = (host.rtt_us * th.qos_factor).max(host.rtt_us + th.qos_min_extra_ms * 1e3);
        host.slow.push(r.connect_us as f64 > limit);
        // The average alone follows a heavy tail's few long answers; most of the latest answers
        // must be slow too.
        let inflated = host.rtt_now_us > limit
            && host.slow.len() >= QOS_RECENT
            && host.slow.recent_ones(QOS_RECENT) >= QOS_RECENT_SLOW;
        if inflated == host.inflated {
            return;
        }
        host.inflated = inflated;
        if inflated {
            self.qos_inflated += 1;
        } else {
            self.qos_inflated -= 1;
        }
        // Few hosts in progress (at the start or the end of a scan) make a noisy share: count at
        // least QOS_MIN_POPULATION.
        let (slow, live) = (
            f64::from(self.qos_inflated),
            f64::from(self.qos_hosts.max(QOS_MIN_POPULATION)),
        );
        let active = self
            .active
            .keys()
            .find(|(kind, _)| *kind == AlarmKind::Qos)
            .copied();
        // Clear only well below the raise level, so that one host recovering does not flap it.
        let recovered =
            self.qos_inflated < th.qos_min_hosts || slow < th.qos_host_fraction / 2.0 * live;
        if recovered {
            if let Some((kind, scope)) = active {
                self.clear(kind, scope, r.t_us);
            }
            return;
        }
        let enough = self.qos_inflated >= th.qos_min_hosts && slow >= th.qos_host_fraction * live;
        if !enough || active.is_some() {
            return;
        }
        let slow_hosts: Vec<&HostSignals> = self
            .hosts
            .values()
            .filter(|h| h.inflated && !h.done)
            .collect();
        let first = slow_hosts.iter().map(|h| h.addr).min().unwrap_or(r.addr);
        let last = slow_hosts.iter().map(|h| h.addr).max().unwrap_or(r.addr);
        let mut ratios: Vec<f64> = slow_hosts
            .iter()
            .map(|h| h.rtt_now_us / h.rtt_us.max(1.0))
            .collect();
        ratios.sort_by(f64::total_cmp);
        let evidence = format!(
            "connect times {:.1}× their own baselines (median) on {} of {} answering hosts",
            ratios.get(ratios.len() / 2).copied().unwrap_or(0.0),
            self.qos_inflated,
            self.qos_hosts
        );
        let scope = if first == last {
            Scope::Host { addr: first }
        } else {
            Scope::Range { first, last }
        };
        self.raise(AlarmKind::Qos, scope, r.t_us, r.t_us, evidence);
    }

    fn check_deception(&mut self, r: &ProbeRecord) {
        let th = self.th;
        let Some(host) = self.hosts.get(&r.host) else {
            return;
        };
        let many = host.open >= th.deception_open_ports;
        let most = host.probes >= th.deception_min_probes
            && host.open as f64 > th.deception_open_fraction * f64::from(host.probes);
        if !(many || most) {
            return;
        }
        let scope = Scope::Host { addr: host.addr };
        if self.active.contains_key(&(AlarmKind::Deception, scope)) {
            return;
        }
        let mut evidence = format!(
            "{} of {} probed ports open (real hosts rarely have more than {} open, or {:.0}% of those probed)",
            host.open,
            host.probes,
            th.deception_open_ports,
            th.deception_open_fraction * 100.0
        );
        if let Some(after) = host.after_connect.describe() {
            evidence.push_str("; ");
            evidence.push_str(&after);
        }
        self.raise(AlarmKind::Deception, scope, r.t_us, r.t_us, evidence);
    }

    fn local_error(&mut self, t_us: u64) {
        let window = self.th.local_window_us();
        self.local_errors.push_back(t_us);
        while self
            .local_errors
            .front()
            .is_some_and(|&t| t + window < t_us)
        {
            self.local_errors.pop_front();
        }
        if self.local_errors.len() as u32 >= self.th.local_errors {
            let since = *self.local_errors.front().unwrap_or(&t_us);
            let evidence = format!(
                "{} local errors (descriptors or ephemeral ports) within {:.0} s",
                self.local_errors.len(),
                window as f64 / 1e6
            );
            self.raise(AlarmKind::Local, Scope::Scan, since, t_us, evidence);
        }
    }

    /// Raises an alarm once per kind and scope while it is active.
    fn raise(&mut self, kind: AlarmKind, scope: Scope, since_us: u64, t_us: u64, evidence: String) {
        if self.active.contains_key(&(kind, scope)) {
            return;
        }
        self.version += 1;
        self.active.insert((kind, scope), self.alarms.len());
        self.alarms.push(Alarm {
            kind,
            scope,
            since_us,
            // Raised now, whatever moment the evidence points back to.
            raised_us: t_us.max(self.now_us),
            cleared_us: None,
            evidence,
        });
    }

    fn clear(&mut self, kind: AlarmKind, scope: Scope, t_us: u64) {
        if let Some(i) = self.active.remove(&(kind, scope)) {
            self.version += 1;
            self.alarms[i].cleared_us = Some(t_us);
        }
    }
}
