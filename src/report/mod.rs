//! Reports: the result of a scan as a file, in one of four formats.
//!
//! One entry point, [`write_report`], serves every source of a final [`ScanState`]: a live scan
//! or demo that ends (`--output FILE`), and a recorded session replayed into a state. What the
//! state does not know (when the scan ran, its command line, its targets and port list) travels
//! beside it in [`ReportMeta`].
//!
//! | format | content |
//! |---|---|
//! | `text` | the nmap-like summary (hosts, open ports, banners), then the alarms timeline, parameter changes and latency percentiles |
//! | `json` | one document, `{"format":"scanwatch-report","version":1,...}`, described by `schema/scanwatch-report-v1.schema.json` |
//! | `csv` | one row per open port and one per host and kind of port not listed (closed, filtered, ...), RFC 4180 |
//! | `nmap-xml` | nmap's `-oX` format (DTD 1.05), close enough that `ndiff` compares it with an nmap scan |
//!
//! A scan that did not finish (Ctrl-C, the live view quit early) still gives a report; each
//! format says it is partial (see the format modules).

pub mod csv;
pub mod file;
pub mod json;
pub mod nmap_xml;
pub mod text;
pub mod time;

use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::SystemTime;

use crate::detector::{Alarm, AlarmKind, Scope};
use crate::event::{FinishReason, ScanParams};
use crate::state::{HostState, ScanState};

pub use file::ReportFile;

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ReportFormat {
    /// nmap-like text with the alarms timeline, parameter changes and latency percentiles
    Text,
    /// one JSON document (format "scanwatch-report", version 1)
    Json,
    /// one row per open port, and per host and kind of port not listed
    Csv,
    /// nmap's XML format (-oX), for ndiff and other nmap tools
    #[value(name = "nmap-xml")]
    NmapXml,
}

impl ReportFormat {
    /// Every format, in the order they are documented.
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::Text,
        ReportFormat::Json,
        ReportFormat::Csv,
        ReportFormat::NmapXml,
    ];

    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Text => "text",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::NmapXml => "nmap-xml",
        }
    }

    /// The format a file name asks for by its extension (any case): `.txt` text, `.json` json,
    /// `.csv` csv, `.xml` nmap-xml; anything else is text.
    pub fn from_path(path: &Path) -> ReportFormat {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => ReportFormat::Json,
            Some("csv") => ReportFormat::Csv,
            Some("xml") => ReportFormat::NmapXml,
            _ => ReportFormat::Text,
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                format!("unknown report format `{s}`; allowed: text, json, csv, nmap-xml")
            })
    }
}

/// What kind of scan produced the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanKind {
    /// Full TCP connects against real addresses (`scanwatch scan`).
    Connect,
    /// TCP connects against the simulated network (`scanwatch demo`): times are simulated.
    Simulated,
}

impl ScanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanKind::Connect => "connect",
            ScanKind::Simulated => "simulated",
        }
    }
}

/// What a report needs to know besides the scan state: when the scan ran and what it was asked
/// to scan. Plain owned values, so that a live scan fills it in as it starts and a session log
/// header can be turned into one.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportMeta {
    /// Wall-clock time at scan time zero (when the engine started).
    pub started: SystemTime,
    /// Wall-clock time the scan ended, when recorded; otherwise `started` plus the state's
    /// latest scan time is used (see [`ReportInput::ended`]).
    pub ended: Option<SystemTime>,
    /// The command line, program name first.
    pub args: Vec<String>,
    /// The targets as given (addresses, blocks, ranges, names).
    pub targets: Vec<String>,
    /// The ports probed on each host, ascending; empty when not known.
    pub ports: Vec<u16>,
    pub kind: ScanKind,
    /// The scanwatch version that ran the scan.
    pub version: String,
}

impl ReportMeta {
    /// Metadata of a scan started at `started` by this build, with nothing else known yet.
    pub fn new(started: SystemTime, kind: ScanKind) -> Self {
        ReportMeta {
            started,
            ended: None,
            args: Vec::new(),
            targets: Vec::new(),
            ports: Vec::new(),
            kind,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// A scan state and its metadata: everything [`write_report`] reads.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub state: &'a ScanState,
    pub meta: &'a ReportMeta,
}

impl<'a> ReportInput<'a> {
    pub fn new(state: &'a ScanState, meta: &'a ReportMeta) -> Self {
        ReportInput { state, meta }
    }

    /// When the scan ended: as recorded, else its start plus the latest scan time.
    pub fn ended(&self) -> SystemTime {
        self.meta
            .ended
            .unwrap_or_else(|| time::add_us(self.meta.started, self.state.now_us))
    }

    /// Seconds of scan time covered.
    pub fn elapsed_s(&self) -> f64 {
        self.state.now_us as f64 / 1e6
    }

    /// The scan did not run to the end of its plan (stopped, quit, or cut short).
    pub fn is_partial(&self) -> bool {
        !matches!(self.state.finished, Some((FinishReason::Completed, _)))
    }

    /// `completed`, `stopped` (Ctrl-C, quit, stop) or `incomplete` (no end recorded).
    pub fn finish_str(&self) -> &'static str {
        match self.state.finished {
            Some((FinishReason::Completed, _)) => "completed",
            Some((FinishReason::Stopped, _)) => "stopped",
            None => "incomplete",
        }
    }

    /// The command line as one string, arguments quoted for a POSIX shell where needed.
    pub fn command_line(&self) -> String {
        self.meta
            .args
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The port list, ascending and without repeats, whatever order the metadata holds.
    pub fn ports(&self) -> std::borrow::Cow<'a, [u16]> {
        let ports = &self.meta.ports;
        if ports.windows(2).all(|w| w[0] < w[1]) {
            std::borrow::Cow::Borrowed(ports.as_slice())
        } else {
            let mut sorted = ports.clone();
            sorted.sort_unstable();
            sorted.dedup();
            std::borrow::Cow::Owned(sorted)
        }
    }

    /// Why the results are partial, for a partial report: "the scan was stopped before it
    /// finished (150 of 800 probes done)".
    pub fn partial_reason(&self) -> Option<String> {
        if !self.is_partial() {
            return None;
        }
        let how = match self.state.finished {
            Some((FinishReason::Stopped, _)) => "the scan was stopped before it finished",
            _ => "the scan did not finish",
        };
        let done = self.state.probes_done();
        Some(match self.state.probes_total() {
            Some(total) => format!("{how} ({done} of {total} probes done)"),
            None => format!("{how} ({done} probes done)"),
        })
    }

    /// [`partial_reason`](Self::partial_reason) as one sentence starting `partial results: `.
    pub fn partial_note(&self) -> Option<String> {
        self.partial_reason()
            .map(|reason| format!("partial results: {reason}"))
    }
}

/// Writes the report of `input` in `format` to `out`. Never panics, whatever the state holds
/// (banners and names are treated as hostile and made safe for each format).
pub fn write_report(
    format: ReportFormat,
    input: &ReportInput<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ReportFormat::Text => text::write(input, out),
        ReportFormat::Json => json::write(input, out),
        ReportFormat::Csv => csv::write(input, out),
        ReportFormat::NmapXml => nmap_xml::write(input, out),
    }?;
    out.flush()
}

/// A host the report lists: one that answered, or one that never did (known by address only).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listed<'a> {
    Up(&'a HostState),
    Silent(IpAddr),
}

impl Listed<'_> {
    pub(crate) fn addr(&self) -> IpAddr {
        match self {
            Listed::Up(h) => h.addr,
            Listed::Silent(addr) => *addr,
        }
    }
}

/// Hosts that answered and the silent hosts known by address, ordered by address.
pub(crate) fn listed_hosts(state: &ScanState) -> Vec<Listed<'_>> {
    let mut hosts: Vec<Listed<'_>> = state.up_hosts().into_iter().map(Listed::Up).collect();
    hosts.extend(state.silent_sample.iter().map(|&a| Listed::Silent(a)));
    hosts.sort_by_key(Listed::addr);
    hosts
}

/// Hosts still being scanned that have not answered yet (a partial scan).
pub(crate) fn pending_hosts(state: &ScanState) -> u64 {
    state.hosts.values().filter(|h| !h.is_up()).count() as u64
}

/// Silent hosts counted but not known by address.
pub(crate) fn silent_not_listed(state: &ScanState) -> u64 {
    state
        .silent_hosts
        .saturating_sub(state.silent_sample.len() as u64)
}

/// Ports probed on a host that never answered: the plan's share per host.
pub(crate) fn silent_host_ports(input: &ReportInput<'_>) -> u64 {
    match input.state.plan {
        Some(plan) => u64::from(plan.ports_per_host),
        None => input.ports().len() as u64,
    }
}

/// Whether `scope` covers `addr`.
pub(crate) fn scope_covers(scope: &Scope, addr: IpAddr) -> bool {
    match scope {
        Scope::Host { addr: a } => *a == addr,
        Scope::Range { first, last } => {
            std::mem::discriminant(first) == std::mem::discriminant(&addr)
                && *first <= addr
                && addr <= *last
        }
        Scope::Scan => true,
    }
}

/// A DECEPTION alarm was raised on this host: its open ports are unverified.
pub(crate) fn open_ports_unverified(state: &ScanState, addr: IpAddr) -> bool {
    state
        .alarms
        .iter()
        .any(|a: &Alarm| a.kind == AlarmKind::Deception && scope_covers(&a.scope, addr))
}

/// A sorted, de-duplicated port list written as nmap writes one: `22,80,8000-8100`.
pub fn compress_ports(ports: &[u16]) -> String {
    let mut sorted = ports.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end.wrapping_add(1) && end < u16::MAX {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}

/// One pacing parameter's value, typed for JSON and written for people.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ParamValue {
    Count(u32),
    Millis(u64),
    Rate(Option<f64>),
    Paused(bool),
}

impl ParamValue {
    pub(crate) fn text(&self) -> String {
        match *self {
            ParamValue::Count(n) => n.to_string(),
            ParamValue::Millis(ms) => {
                crate::duration::format_duration(std::time::Duration::from_millis(ms))
            }
            ParamValue::Rate(Some(r)) => format!("{}/s", (r * 100.0).round() / 100.0),
            ParamValue::Rate(None) => "unlimited".into(),
            ParamValue::Paused(true) => "paused".into(),
            ParamValue::Paused(false) => "running".into(),
        }
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        match *self {
            ParamValue::Count(n) => n.into(),
            ParamValue::Millis(ms) => ms.into(),
            ParamValue::Rate(r) => r
                .and_then(serde_json::Number::from_f64)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            ParamValue::Paused(p) => p.into(),
        }
    }
}

/// The parameters as (JSON name, value) pairs, in a fixed order.
fn param_values(p: &ScanParams) -> [(&'static str, ParamValue); 6] {
    [
        ("concurrency", ParamValue::Count(p.concurrency)),
        ("max_per_host", ParamValue::Count(p.max_per_host)),
        (
            "timeout_ms",
            ParamValue::Millis(u64::try_from(p.timeout.as_millis()).unwrap_or(u64::MAX)),
        ),
        ("retries", ParamValue::Count(p.retries)),
        ("rate", ParamValue::Rate(p.rate)),
        ("paused", ParamValue::Paused(p.paused)),
    ]
}

/// What one parameter change changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    /// The JSON name of the parameter (`timeout_ms`).
    pub param: &'static str,
    pub from: ParamValue,
    pub to: ParamValue,
}

impl Change {
    /// The parameter's name for people (`timeout`).
    pub(crate) fn label(&self) -> &'static str {
        match self.param {
            "timeout_ms" => "timeout",
            "max_per_host" => "max per host",
            other => other,
        }
    }
}

/// A parameter change during the scan and what it changed from the parameters before it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParamChange {
    pub t_us: u64,
    pub params: ScanParams,
    pub changes: Vec<Change>,
}

/// Every parameter change, compared with the parameters in force before it (the plan's initial
/// ones first). A change that changed nothing is kept with an empty list.
pub(crate) fn param_changes(state: &ScanState) -> Vec<ParamChange> {
    let mut before = state.plan.map(|p| p.initial);
    state
        .param_changes
        .iter()
        .map(|&(t_us, params)| {
            let changes = match before {
                Some(prev) => param_values(&prev)
                    .into_iter()
                    .zip(param_values(&params))
                    .filter(|((_, from), (_, to))| from != to)
                    .map(|((param, from), (_, to))| Change { param, from, to })
                    .collect(),
                None => Vec::new(),
            };
            before = Some(params);
            ParamChange {
                t_us,
                params,
                changes,
            }
        })
        .collect()
}

/// Scan time in seconds with one decimal: `12.3s`.
pub(crate) fn secs(us: u64) -> String {
    format!("{:.1}s", us as f64 / 1e6)
}

/// An argument as a POSIX shell would need it: bare when it only holds safe characters, else in
/// single quotes.
fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,=+@%^".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests;
