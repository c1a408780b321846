//! What the engine reports: probe outcomes and the `ScanEvent` stream.
//!
//! Every mode (live, headless, demo, replay) feeds these events through the `Monitor`, so this
//! module is the one vocabulary shared by the engine, the state, the printers and the session log.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a port is reported `filtered` (the nmap "reason" column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterReason {
    /// No answer before the timeout (nmap: `no-response`).
    NoResponse,
    /// ICMP host unreachable (EHOSTUNREACH).
    HostUnreach,
    /// ICMP network unreachable (ENETUNREACH).
    NetUnreach,
    /// ICMP administratively prohibited, reported by the kernel as EACCES / EPERM.
    AdminProhibited,
}

impl FilterReason {
    /// The nmap spelling of this reason.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterReason::NoResponse => "no-response",
            FilterReason::HostUnreach => "host-unreach",
            FilterReason::NetUnreach => "net-unreach",
            FilterReason::AdminProhibited => "admin-prohibited",
        }
    }
}

/// A scanner-side failure: not a property of the target, never reported as a port state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocalErrorKind {
    /// EMFILE: this process ran out of file descriptors.
    FdLimit,
    /// ENFILE: the system ran out of file descriptors.
    SystemFdLimit,
    /// EADDRNOTAVAIL: no free ephemeral port / local address.
    NoLocalAddress,
    /// ENOBUFS / ENOMEM: kernel buffers exhausted.
    NoBuffers,
    /// Any other local failure (errno kept for the record).
    Other(i32),
}

impl LocalErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LocalErrorKind::FdLimit => "fd-limit",
            LocalErrorKind::SystemFdLimit => "system-fd-limit",
            LocalErrorKind::NoLocalAddress => "no-local-address",
            LocalErrorKind::NoBuffers => "no-buffers",
            LocalErrorKind::Other(_) => "other",
        }
    }
}

/// The result of one connect attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "kebab-case")]
pub enum ProbeOutcome {
    /// The handshake completed (nmap: open / syn-ack).
    Open,
    /// The target answered RST (nmap: closed / conn-refused).
    Closed,
    /// No usable answer (nmap: filtered / reason).
    Filtered(FilterReason),
    /// The scanner could not send the probe; retried by the engine, never a port state.
    LocalError(LocalErrorKind),
}

impl ProbeOutcome {
    /// True when the target itself answered (open or closed).
    pub fn is_answer(self) -> bool {
        matches!(self, ProbeOutcome::Open | ProbeOutcome::Closed)
    }

    /// The nmap state word, or `local-error`.
    pub fn state_str(self) -> &'static str {
        match self {
            ProbeOutcome::Open => "open",
            ProbeOutcome::Closed => "closed",
            ProbeOutcome::Filtered(_) => "filtered",
            ProbeOutcome::LocalError(_) => "local-error",
        }
    }

    /// The nmap reason word.
    pub fn reason_str(self) -> &'static str {
        match self {
            ProbeOutcome::Open => "syn-ack",
            ProbeOutcome::Closed => "conn-refused",
            ProbeOutcome::Filtered(r) => r.as_str(),
            ProbeOutcome::LocalError(k) => k.as_str(),
        }
    }
}

/// What an open port did in the short read after the handshake (deception evidence).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum AfterConnect {
    /// The port was not read (the outcome is not open, or reading is off).
    #[default]
    NotRead,
    /// The port sent these bytes first (raw; strip control sequences before showing them).
    Banner(std::sync::Arc<[u8]>),
    /// The port stayed silent for the whole read window.
    Silent,
    /// The peer closed (FIN or RST) at once, before sending anything.
    ClosedAtOnce,
}

/// What one call to a `Prober` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub outcome: ProbeOutcome,
    /// Time from the start of the connect to its outcome (the timeout itself for `no-response`).
    pub connect_time: Duration,
    /// What an open port did right after the handshake.
    pub after_connect: AfterConnect,
}

impl ProbeResult {
    /// A result with nothing read after the connect.
    pub fn new(outcome: ProbeOutcome, connect_time: Duration) -> Self {
        ProbeResult {
            outcome,
            connect_time,
            after_connect: AfterConnect::NotRead,
        }
    }
}

/// Identifies a host within one scan: assigned in plan order by the engine.
pub type HostId = u32;

/// Live-changeable engine parameters, as they are in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScanParams {
    /// Probes in flight at most, across all hosts.
    pub concurrency: u32,
    /// Probes in flight at most to one host.
    pub max_per_host: u32,
    /// Per-attempt connect timeout.
    #[serde(with = "crate::duration::serde_millis")]
    pub timeout: Duration,
    /// Extra attempts after a timeout.
    pub retries: u32,
    /// Probes per second at most (None: unlimited).
    pub rate: Option<f64>,
    /// No new probes are sent while paused.
    pub paused: bool,
}

/// Why the engine finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinishReason {
    /// Every planned probe has its final outcome.
    Completed,
    /// Stopped through `EngineControl::stop` before the plan was done.
    Stopped,
}

/// One probe's final outcome (after retries), or a local error that will be retried.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRecord {
    pub host: HostId,
    pub addr: IpAddr,
    pub port: u16,
    pub outcome: ProbeOutcome,
    /// Connect time of the attempt that produced `outcome`, in microseconds.
    pub connect_us: u64,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// Dispatch order of this (host, port) pair within the scan, starting at 0.
    pub seq: u64,
    /// When the outcome was known, microseconds since the scan started.
    pub t_us: u64,
    /// What an open port did right after the handshake.
    pub after_connect: AfterConnect,
}

/// Everything the engine tells the monitor, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanEvent {
    /// The scan started with this plan and these parameters.
    Started {
        /// Hosts in the plan, when known without iterating (None until counted).
        hosts: Option<u64>,
        /// Ports probed on each host (this shard's share when sharded).
        ports_per_host: u32,
        /// Total probes planned for this shard, when known.
        probes: Option<u64>,
        params: ScanParams,
        seed: u64,
    },
    /// The exact number of planned probes became known (after counting exclusions).
    PlanCounted { hosts: u64, probes: u64 },
    /// A host entered the dispatch window.
    HostStarted {
        host: HostId,
        addr: IpAddr,
        name: Option<std::sync::Arc<str>>,
        t_us: u64,
    },
    /// A (host, port) pair reached its final outcome.
    Probe(ProbeRecord),
    /// An attempt failed on the scanner's side; the engine retries it.
    LocalError(ProbeRecord),
    /// A sentinel re-probe (one attempt, outside the plan) asked for through `EngineControl`.
    Sentinel(ProbeRecord),
    /// Every planned probe to this host is done.
    HostDone { host: HostId, t_us: u64 },
    /// Parameters changed while running (through `EngineControl`).
    ParamsChanged { params: ScanParams, t_us: u64 },
    /// The scan finished.
    Finished { reason: FinishReason, t_us: u64 },
}

impl ScanEvent {
    /// Scan time of the event, µs; `None` for the plan lines (`Started`, `PlanCounted`),
    /// which belong to the moment before them.
    pub fn time_us(&self) -> Option<u64> {
        match self {
            ScanEvent::Started { .. } | ScanEvent::PlanCounted { .. } => None,
            ScanEvent::HostStarted { t_us, .. }
            | ScanEvent::HostDone { t_us, .. }
            | ScanEvent::ParamsChanged { t_us, .. }
            | ScanEvent::Finished { t_us, .. } => Some(*t_us),
            ScanEvent::Probe(r) | ScanEvent::LocalError(r) | ScanEvent::Sentinel(r) => Some(r.t_us),
        }
    }
}
