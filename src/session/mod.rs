//! The session log: every scan's events as JSON Lines, written while it runs and read back by
//! replay and reports (format: `src/session/FORMAT.md`).
//!
//! - [`SessionWriter`] takes every `ScanEvent` the `Monitor` folds (both views' loops hand each
//!   event to the writer too), plus the alarms as they are raised and cleared, and writes them
//!   through a non-blocking writer thread that never drops a line.
//! - [`SessionReader`] streams a log back as [`Entry`] values, and [`read_session`] reads a whole
//!   one; feeding the events to a fresh `Monitor` with the header's thresholds rebuilds the
//!   live run's `ScanState` and alarms exactly ([`Session::replay`]).
//! - [`paths`] says where logs go by default and how they are named.

mod codec;
pub mod paths;
mod reader;
mod writer;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::detector::{Alarm, AlarmThresholds};
use crate::event::{FinishReason, ScanEvent, ScanParams};

pub use reader::{Session, SessionReader, read_session};
pub use writer::{HANDOVER_BYTES, HANDOVER_EVERY, SessionSummary, SessionWriter};

/// The `format` field of every session log's header line.
pub const FORMAT_NAME: &str = "scanwatch-session";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What kind of run wrote the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionMode {
    /// `scanwatch scan`: real TCP connects.
    Scan,
    /// `scanwatch demo`: the simulated network.
    Demo,
    /// A re-check against a baseline.
    Recheck,
}

impl SessionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMode::Scan => "scan",
            SessionMode::Demo => "demo",
            SessionMode::Recheck => "recheck",
        }
    }
}

/// Scan parameters as the log spells them: the timeout in nanoseconds, so any `Duration` a key
/// press or an option produced comes back exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParamsRecord {
    pub concurrency: u32,
    pub max_per_host: u32,
    pub timeout_ns: u64,
    pub retries: u32,
    pub rate: Option<f64>,
    pub paused: bool,
}

impl From<&ScanParams> for ParamsRecord {
    fn from(p: &ScanParams) -> Self {
        ParamsRecord {
            concurrency: p.concurrency,
            max_per_host: p.max_per_host,
            timeout_ns: u64::try_from(p.timeout.as_nanos()).unwrap_or(u64::MAX),
            retries: p.retries,
            rate: p.rate,
            paused: p.paused,
        }
    }
}

impl From<ParamsRecord> for ScanParams {
    fn from(p: ParamsRecord) -> Self {
        ScanParams {
            concurrency: p.concurrency,
            max_per_host: p.max_per_host,
            timeout: Duration::from_nanos(p.timeout_ns),
            retries: p.retries,
            rate: p.rate,
            paused: p.paused,
        }
    }
}

/// The first line of every session log: what ran, when, how, and with which thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionHeader {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// Always [`FORMAT_VERSION`] for logs this build writes.
    pub version: u32,
    /// The scanwatch version that wrote the log.
    pub scanwatch: String,
    /// Wall-clock start, RFC 3339 in UTC with microseconds (`2026-11-21T10:15:00.123456Z`).
    pub started_at: String,
    /// The same instant in microseconds since the Unix epoch; event times (`t_us`) count from
    /// about here (the engine starts right after the header is written).
    pub started_unix_us: u64,
    pub mode: SessionMode,
    /// The command line, program name first.
    pub args: Vec<String>,
    /// The targets as the user gave them (for a demo, the scenario's).
    pub targets: Vec<String>,
    /// The demo scenario's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Parameters when the scan started.
    pub params: ParamsRecord,
    /// The seed of the port order (and of the simulated network in a demo).
    pub seed: u64,
    /// The alarm thresholds the detector ran with: replay uses the same ones.
    pub thresholds: AlarmThresholds,
    /// How long open ports were read after the handshake, in µs (not set by the simulated network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner_wait_us: Option<u64>,
    /// Whether RATE and QOS alarms halved the pace automatically.
    #[serde(default)]
    pub auto_throttle: bool,
    /// `I/N` when the scan took one shard of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// A re-check's baseline (its open ports by host) and cool-down, so that reading the log
    /// back rebuilds the verdicts too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck: Option<RecheckRecord>,
}

/// What a re-check compared with, as its session log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecheckRecord {
    pub baseline: std::collections::BTreeMap<std::net::IpAddr, std::collections::BTreeSet<u16>>,
    pub cooldown_us: u64,
}

impl RecheckRecord {
    /// A fresh `Rechecker` for this baseline.
    pub fn rechecker(&self) -> crate::recheck::Rechecker {
        crate::recheck::Rechecker::new(self.baseline.clone(), self.cooldown_us)
    }
}

impl SessionHeader {
    /// A `Monitor` as the live run had it: its thresholds, and its re-check when it was one.
    pub fn monitor(&self) -> crate::monitor::Monitor {
        crate::monitor::Monitor::for_scan(
            self.thresholds,
            self.recheck.as_ref().map(RecheckRecord::rechecker),
        )
    }

    /// A header stamped with the current wall-clock time; the optional fields are left empty.
    pub fn new(
        mode: SessionMode,
        args: Vec<String>,
        targets: Vec<String>,
        params: &ScanParams,
        seed: u64,
        thresholds: AlarmThresholds,
    ) -> SessionHeader {
        let now = std::time::SystemTime::now();
        SessionHeader {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            scanwatch: env!("CARGO_PKG_VERSION").into(),
            started_at: paths::rfc3339_utc(now),
            started_unix_us: paths::unix_us(now),
            mode,
            args,
            targets,
            scenario: None,
            params: ParamsRecord::from(params),
            seed,
            thresholds,
            banner_wait_us: None,
            auto_throttle: false,
            shard: None,
            recheck: None,
        }
    }
}

/// Why the log ended (its `end` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// The scan finished its plan.
    Completed,
    /// The scan was stopped before the end (output closed, or stopped from outside).
    Stopped,
    /// Ctrl-C, SIGTERM, or the live view quit before the scan finished.
    Interrupted,
    /// The run failed (`message` says how).
    Error,
    /// The writer was dropped without being finished: a panic unwound past it.
    Aborted,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::Stopped => "stopped",
            EndReason::Interrupted => "interrupted",
            EndReason::Error => "error",
            EndReason::Aborted => "aborted",
        }
    }
}

/// The last line of a log that was closed properly: why, and the totals as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEnd {
    pub reason: EndReason,
    /// What went wrong, with `reason: error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Scan time of the latest event, µs.
    pub t_us: u64,
    /// Event lines written.
    pub events: u64,
    /// Final probe outcomes written (`p` lines), and how they split.
    pub probes: u64,
    pub open: u64,
    pub closed: u64,
    pub filtered: u64,
    pub not_scanned: u64,
    /// Alarms raised.
    pub alarms: u64,
}

/// Whether an `alarm` line announces a new alarm or the clearing of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlarmChange {
    Raised,
    Cleared,
}

/// An `alarm` line: for people reading or grepping the log. Replay recomputes alarms from the
/// events, so these lines never change what a replay shows.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRecord {
    pub change: AlarmChange,
    pub alarm: Alarm,
}

/// One line of a session log after the header.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// An event, as the `Monitor` folded it live.
    Event(ScanEvent),
    /// An alarm raised or cleared (informational).
    Alarm(AlarmRecord),
    /// The closing line.
    End(SessionEnd),
}

/// The reason a `Finished` event gives, as an end reason.
impl From<FinishReason> for EndReason {
    fn from(r: FinishReason) -> Self {
        match r {
            FinishReason::Completed => EndReason::Completed,
            FinishReason::Stopped => EndReason::Stopped,
        }
    }
}

#[cfg(test)]
mod tests;
