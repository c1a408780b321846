//! The `json` report: one JSON document (pretty-printed, ending in a newline).
//!
//! Its shape is described by `schema/scanwatch-report-v1.schema.json` beside this file:
//!
//! ```text
//! {
//!   "format": "scanwatch-report", "version": 1, "scanwatch": "0.1.0",
//!   "partial": false, "partial_note": null,
//!   "scan": { "type", "args", "command_line", "targets", "ports", "ports_per_host", "seed",
//!             "started", "started_unix", "ended", "ended_unix", "elapsed_s", "finish" },
//!   "totals": { "probes", "probes_planned", "open", "closed", "filtered", "timed_out",
//!               "unreachable", "not_scanned", "local_errors", "suspect",
//!               "hosts_up", "hosts_silent", "hosts_pending" },
//!   "latency_us": { "p50", "p90", "p99", "max" } | null,
//!   "hosts": [ { "addr", "name", "status": "up"|"silent", "open": [ports...], "closed",
//!                "filtered", "timed_out", "unreachable", "not_scanned", "suspect",
//!                "open_unverified", "sentinels", "sentinels_silent", "latency_us" } ],
//!   "silent_hosts_not_listed": 0,
//!   "alarms": [ { "kind", "scope", "since_us", "raised_us", "cleared_us", "evidence",
//!                 "cause", "action", "line" } ],
//!   "params": { "initial", "final", "changes": [ { "t_us", "params",
//!               "changes": [ { "param", "from", "to" } ] } ] }
//! }
//! ```
//!
//! Scan times are microseconds since the scan started (`*_us`); wall times are RFC 3339 in UTC
//! (`started`, `ended`) and unix seconds (`started_unix`, `ended_unix`). Within version 1
//! fields may be added, never removed or changed in meaning.

use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;

use crate::banner;
use crate::event::AfterConnect;
use crate::headless::jsonl::{AlarmOut, BANNER_JSON_CHARS, ParamsOut, Percentiles};
use crate::ports::service_name;
use crate::state::HostState;

use super::{
    Listed, ReportInput, compress_ports, listed_hosts, open_ports_unverified, param_changes,
    pending_hosts, silent_host_ports, silent_not_listed, time,
};

/// Name of the document format.
pub const FORMAT: &str = "scanwatch-report";
/// Version of the document format.
pub const VERSION: u32 = 1;
/// The JSON Schema of version 1, as shipped in the repository.
pub const SCHEMA_V1: &str = include_str!("schema/scanwatch-report-v1.schema.json");

#[derive(Debug, Serialize)]
struct Document<'a> {
    format: &'static str,
    version: u32,
    scanwatch: &'a str,
    partial: bool,
    partial_note: Option<String>,
    scan: ScanOut<'a>,
    totals: TotalsOut,
    latency_us: Option<Percentiles>,
    hosts: Vec<HostOut>,
    silent_hosts_not_listed: u64,
    alarms: Vec<AlarmOut>,
    params: ParamsSection,
    /// A re-check's diff against its baseline (only for `scanwatch recheck`).
    #[serde(skip_serializing_if = "Option::is_none")]
    recheck: Option<RecheckOut>,
}

/// Every port of a re-check with its verdict, and the counts by verdict.
#[derive(Debug, Serialize)]
struct RecheckOut {
    counts: std::collections::BTreeMap<&'static str, usize>,
    changed: bool,
    ports: Vec<RecheckPortOut>,
}

#[derive(Debug, Serialize)]
struct RecheckPortOut {
    host: IpAddr,
    port: u16,
    verdict: &'static str,
    evidence: String,
    decided_us: Option<u64>,
}

fn recheck_out(recheck: &crate::recheck::Rechecker) -> RecheckOut {
    RecheckOut {
        counts: recheck
            .counts()
            .into_iter()
            .map(|(v, n)| (v.as_str(), n))
            .collect(),
        changed: recheck.changed(),
        ports: recheck
            .checks()
            .iter()
            .map(|((host, port), c)| RecheckPortOut {
                host: *host,
                port: *port,
                verdict: c.verdict.as_str(),
                evidence: c.evidence.clone(),
                decided_us: c.decided_us,
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
struct ScanOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    args: &'a [String],
    command_line: String,
    targets: &'a [String],
    /// The port list, nmap-style (`22,80,8000-8100`); empty when not known.
    ports: String,
    ports_per_host: Option<u32>,
    seed: Option<u64>,
    started: String,
    started_unix: f64,
    ended: String,
    ended_unix: f64,
    elapsed_s: f64,
    finish: &'static str,
}

#[derive(Debug, Serialize)]
struct TotalsOut {
    probes: u64,
    probes_planned: Option<u64>,
    open: u64,
    closed: u64,
    filtered: u64,
    timed_out: u64,
    unreachable: u64,
    not_scanned: u64,
    local_errors: u64,
    suspect: u64,
    hosts_up: u64,
    hosts_silent: u64,
    hosts_pending: u64,
}

#[derive(Debug, Serialize)]
struct HostOut {
    addr: IpAddr,
    name: Option<String>,
    status: &'static str,
    open: Vec<PortOut>,
    closed: u64,
    filtered: u64,
    /// Of the filtered: timeouts and unreachable answers; null for a silent host (not kept).
    timed_out: Option<u64>,
    unreachable: Option<u64>,
    not_scanned: u64,
    suspect: u64,
    /// A DECEPTION alarm covers this host: its open ports are unverified.
    open_unverified: bool,
    sentinels: u64,
    sentinels_silent: u64,
    latency_us: Option<Percentiles>,
}

#[derive(Debug, Serialize)]
struct PortOut {
    port: u16,
    service: Option<&'static str>,
    connect_us: u64,
    attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_connect: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    banner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    banner_hex: Option<String>,
}

#[derive(Debug, Serialize)]
struct ParamsSection {
    initial: Option<ParamsOut>,
    #[serde(rename = "final")]
    last: Option<ParamsOut>,
    changes: Vec<ChangeOut>,
}

#[derive(Debug, Serialize)]
struct ChangeOut {
    t_us: u64,
    params: ParamsOut,
    changes: Vec<FieldChange>,
}

#[derive(Debug, Serialize)]
struct FieldChange {
    param: &'static str,
    from: serde_json::Value,
    to: serde_json::Value,
}

pub fn write(input: &ReportInput<'_>, out: &mut dyn Write) -> io::Result<()> {
    let doc = document(input);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

fn document<'a>(input: &'a ReportInput<'_>) -> Document<'a> {
    let state = input.state;
    let meta = input.meta;
    let t = &state.totals;
    let ended = input.ended();
    Document {
        format: FORMAT,
        version: VERSION,
        scanwatch: &meta.version,
        partial: input.is_partial(),
        partial_note: input.partial_note(),
        scan: ScanOut {
            kind: meta.kind.as_str(),
            args: &meta.args,
            command_line: input.command_line(),
            targets: &meta.targets,
            ports: compress_ports(&meta.ports),
            ports_per_host: state.plan.map(|p| p.ports_per_host),
            seed: state.plan.map(|p| p.seed),
            started: time::rfc3339_millis(meta.started),
            started_unix: unix_s(meta.started),
            ended: time::rfc3339_millis(ended),
            ended_unix: unix_s(ended),
            elapsed_s: input.elapsed_s(),
            finish: input.finish_str(),
        },
        totals: TotalsOut {
            probes: state.probes_done(),
            probes_planned: state.probes_total(),
            open: t.open,
            closed: t.closed,
            filtered: t.filtered(),
            timed_out: t.timed_out,
            unreachable: t.unreachable,
            not_scanned: t.not_scanned,
            local_errors: state.local_errors,
            suspect: state.suspect,
            hosts_up: state.up_hosts().len() as u64,
            hosts_silent: state.silent_hosts,
            hosts_pending: pending_hosts(state),
        },
        latency_us: Percentiles::of(&state.latency),
        hosts: listed_hosts(state)
            .into_iter()
            .map(|listed| match listed {
                Listed::Up(h) => host_out(input, h),
                Listed::Silent(addr) => HostOut {
                    addr,
                    name: None,
                    status: "silent",
                    open: Vec::new(),
                    closed: 0,
                    filtered: silent_host_ports(input),
                    timed_out: None,
                    unreachable: None,
                    not_scanned: 0,
                    suspect: 0,
                    open_unverified: false,
                    sentinels: 0,
                    sentinels_silent: 0,
                    latency_us: None,
                },
            })
            .collect(),
        silent_hosts_not_listed: silent_not_listed(state),
        alarms: state.alarms.iter().map(AlarmOut::from).collect(),
        recheck: state.recheck.as_ref().map(recheck_out),
        params: ParamsSection {
            initial: state.plan.map(|p| ParamsOut::from(&p.initial)),
            last: state.params.as_ref().map(ParamsOut::from),
            changes: param_changes(state)
                .into_iter()
                .map(|c| ChangeOut {
                    t_us: c.t_us,
                    params: ParamsOut::from(&c.params),
                    changes: c
                        .changes
                        .iter()
                        .map(|f| FieldChange {
                            param: f.param,
                            from: f.from.json(),
                            to: f.to.json(),
                        })
                        .collect(),
                })
                .collect(),
        },
    }
}

fn host_out(input: &ReportInput<'_>, h: &HostState) -> HostOut {
    let c = &h.counts;
    HostOut {
        addr: h.addr,
        name: h.name.as_deref().map(str::to_owned),
        status: "up",
        open: h
            .open_ports_sorted()
            .into_iter()
            .map(|p| {
                let raw = match &p.after_connect {
                    AfterConnect::Banner(raw) => Some(raw),
                    _ => None,
                };
                PortOut {
                    port: p.port,
                    service: service_name(p.port),
                    connect_us: p.connect_us,
                    attempt: p.attempt,
                    after_connect: match p.after_connect {
                        AfterConnect::NotRead => None,
                        AfterConnect::Banner(_) => Some("banner"),
                        AfterConnect::Silent => Some("silent"),
                        AfterConnect::ClosedAtOnce => Some("closed-at-once"),
                    },
                    banner: raw.map(|r| banner::display(r, BANNER_JSON_CHARS)),
                    banner_hex: raw.map(|r| banner::hex(r)),
                }
            })
            .collect(),
        closed: c.closed,
        filtered: c.filtered(),
        timed_out: Some(c.timed_out),
        unreachable: Some(c.unreachable),
        not_scanned: c.not_scanned,
        suspect: h.suspect,
        open_unverified: open_ports_unverified(input.state, h.addr),
        sentinels: h.sentinels,
        sentinels_silent: h.sentinels_silent,
        latency_us: Percentiles::of(&h.latency),
    }
}

/// Unix seconds with microseconds, as a JSON number.
fn unix_s(t: std::time::SystemTime) -> f64 {
    time::unix_us(t) as f64 / 1e6
}
