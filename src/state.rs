//! `ScanState`: what is known about the scan so far, as folded by the `Monitor`.
//!
//! Memory grows with responsive hosts and open ports, never with probes sent: hosts that finish
//! without a single answer are reduced to a counter (and a bounded sample of addresses), closed and
//! filtered ports are counted, not listed.

use std::net::IpAddr;
use std::sync::Arc;

use hdrhistogram::Histogram;

use crate::event::{AfterConnect, FinishReason, HostId, ProbeOutcome, ScanParams};
use crate::idmap::IdMap;

/// Silent hosts whose addresses are kept for the report; beyond this only their number is.
pub const SILENT_HOST_SAMPLE: usize = 1024;
/// Largest connect time the histograms hold (longer ones are clamped): one hour in µs.
pub const MAX_CONNECT_US: u64 = 3_600_000_000;

/// Final outcomes by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub open: u64,
    pub closed: u64,
    /// Filtered with no response (timeouts after all retries).
    pub timed_out: u64,
    /// Filtered by an ICMP unreachable / prohibited answer.
    pub unreachable: u64,
    /// Probes given up after repeated local errors: not scanned, not a port state.
    pub not_scanned: u64,
}

impl OutcomeCounts {
    pub fn add(&mut self, outcome: ProbeOutcome) {
        match outcome {
            ProbeOutcome::Open => self.open += 1,
            ProbeOutcome::Closed => self.closed += 1,
            ProbeOutcome::Filtered(crate::event::FilterReason::NoResponse) => self.timed_out += 1,
            ProbeOutcome::Filtered(_) => self.unreachable += 1,
            ProbeOutcome::LocalError(_) => self.not_scanned += 1,
        }
    }

    /// Ports the target answered on (open or closed).
    pub fn answered(&self) -> u64 {
        self.open + self.closed
    }

    pub fn filtered(&self) -> u64 {
        self.timed_out + self.unreachable
    }

    pub fn total(&self) -> u64 {
        self.answered() + self.filtered() + self.not_scanned
    }
}

/// An open port and how it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPort {
    pub port: u16,
    pub connect_us: u64,
    pub attempt: u32,
    pub after_connect: AfterConnect,
}

/// One host that is being scanned or has answered.
#[derive(Debug, Clone, PartialEq)]
pub struct HostState {
    pub id: HostId,
    pub addr: IpAddr,
    pub name: Option<Arc<str>>,
    pub counts: OutcomeCounts,
    /// Open ports in the order they were found.
    pub open_ports: Vec<OpenPort>,
    /// Connect times of answered probes (open and closed), in µs.
    pub latency: Histogram<u32>,
    pub started_us: u64,
    pub last_answer_us: Option<u64>,
    pub done: bool,
    /// Timeouts after the detector saw this host's timeouts rise: suspect, not plainly filtered.
    pub suspect: u64,
    /// Sentinel re-probes sent to this host and how many went unanswered.
    pub sentinels: u64,
    pub sentinels_silent: u64,
}

impl HostState {
    pub fn new(id: HostId, addr: IpAddr, name: Option<Arc<str>>, started_us: u64) -> Self {
        HostState {
            id,
            addr,
            name,
            counts: OutcomeCounts::default(),
            open_ports: Vec::new(),
            latency: host_histogram(),
            started_us,
            last_answer_us: None,
            done: false,
            suspect: 0,
            sentinels: 0,
            sentinels_silent: 0,
        }
    }

    /// The host answered at least once (open or closed): it is up.
    pub fn is_up(&self) -> bool {
        self.counts.answered() > 0
    }

    /// Connect-time percentile in µs, when the host answered.
    pub fn latency_percentile(&self, q: f64) -> Option<u64> {
        (!self.latency.is_empty()).then(|| self.latency.value_at_quantile(q))
    }

    /// Open ports sorted by port number.
    pub fn open_ports_sorted(&self) -> Vec<&OpenPort> {
        let mut ports: Vec<&OpenPort> = self.open_ports.iter().collect();
        ports.sort_by_key(|p| p.port);
        ports
    }
}

pub use crate::timeline::{SecondBucket, Timeline};

/// The plan as announced when the scan started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanInfo {
    pub hosts: Option<u64>,
    pub ports_per_host: u32,
    pub probes: Option<u64>,
    pub seed: u64,
    pub initial: ScanParams,
}

/// Everything the views show.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanState {
    pub plan: Option<PlanInfo>,
    /// Parameters in force now.
    pub params: Option<ScanParams>,
    /// Every parameter change with its scan time (µs).
    pub param_changes: Vec<(u64, ScanParams)>,
    /// Hosts in progress and hosts that answered.
    pub hosts: IdMap<HostId, HostState>,
    /// Hosts that finished without any answer.
    pub silent_hosts: u64,
    /// The first `SILENT_HOST_SAMPLE` of them.
    pub silent_sample: Vec<IpAddr>,
    pub hosts_started: u64,
    pub hosts_done: u64,
    pub totals: OutcomeCounts,
    /// Local-error attempts (each retried).
    pub local_errors: u64,
    /// Connect times of every answered probe, in µs.
    pub latency: Histogram<u64>,
    /// Per second of scan time (the latest day of it).
    pub timeline: Timeline,
    /// Scan time of the latest event, µs.
    pub now_us: u64,
    /// Interference alarms, in the order raised (cleared ones keep their clear time).
    pub alarms: Vec<crate::detector::Alarm>,
    /// Timeouts counted as suspect across the scan.
    pub suspect: u64,
    pub finished: Option<(FinishReason, u64)>,
    /// The re-check of a baseline, when this scan is one (`scanwatch recheck`).
    pub recheck: Option<crate::recheck::Rechecker>,
}

impl Default for ScanState {
    fn default() -> Self {
        ScanState {
            plan: None,
            params: None,
            param_changes: Vec::new(),
            hosts: IdMap::default(),
            silent_hosts: 0,
            silent_sample: Vec::new(),
            hosts_started: 0,
            hosts_done: 0,
            totals: OutcomeCounts::default(),
            local_errors: 0,
            latency: global_histogram(),
            timeline: Timeline::default(),
            now_us: 0,
            alarms: Vec::new(),
            suspect: 0,
            finished: None,
            recheck: None,
        }
    }
}

impl ScanState {
    /// Final outcomes so far.
    pub fn probes_done(&self) -> u64 {
        self.totals.total()
    }

    /// Planned probes, when known.
    pub fn probes_total(&self) -> Option<u64> {
        self.plan.and_then(|p| p.probes)
    }

    /// Alarms not cleared.
    pub fn active_alarms(&self) -> impl Iterator<Item = &crate::detector::Alarm> {
        self.alarms.iter().filter(|a| a.is_active())
    }

    /// Hosts that answered, sorted by address.
    pub fn up_hosts(&self) -> Vec<&HostState> {
        let mut hosts: Vec<&HostState> = self.hosts.values().filter(|h| h.is_up()).collect();
        hosts.sort_by_key(|h| (h.addr, h.id));
        hosts
    }

    /// The per-second bucket for scan time `t_us`, created on demand (`None` when that second
    /// is older than the timeline keeps).
    pub fn bucket_mut(&mut self, t_us: u64) -> Option<&mut SecondBucket> {
        self.timeline.bucket_mut(t_us)
    }
}

/// Per-host histogram: one significant figure keeps it near 1 KiB, since a scan can have tens of
/// thousands of responsive hosts; it grows with the largest value seen.
fn host_histogram() -> Histogram<u32> {
    let mut h = Histogram::new_with_bounds(1, 1024, 1).expect("valid static bounds");
    h.auto(true);
    h
}

fn global_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_CONNECT_US, 3).expect("valid static bounds")
}
