//! The `--json` output: JSON Lines, one object per line with a `"type"` field.
//!
//! The schema is versioned: `format` and `version` in the `start` line name it, and
//! `schema/scanwatch-jsonl-v1.schema.json` (beside this file) describes every line type. Fields are
//! only ever added within a version; a removal or change of meaning bumps `version`.

use std::net::IpAddr;

use serde::Serialize;

use crate::banner;
use crate::detector::Alarm;
use crate::event::{AfterConnect, ProbeRecord, ScanParams};
use crate::ports::service_name;
use crate::state::{HostState, ScanState};

/// Name of the line format.
pub const FORMAT: &str = "scanwatch-jsonl";
/// Version of the line format.
pub const VERSION: u32 = 1;
/// The JSON Schema of version 1, as shipped in the repository.
pub const SCHEMA_V1: &str = include_str!("schema/scanwatch-jsonl-v1.schema.json");

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line<'a> {
    Start {
        format: &'static str,
        version: u32,
        scanwatch: &'static str,
        targets: &'a [String],
        seed: u64,
        hosts: Option<u64>,
        ports_per_host: u32,
        probes: Option<u64>,
        params: ParamsOut,
        /// How long open ports are read after the handshake (0: not read); absent when the
        /// prober does not say.
        #[serde(skip_serializing_if = "Option::is_none")]
        banner_wait_ms: Option<u64>,
    },
    Probe(ProbeOut),
    LocalError(ProbeOut),
    Sentinel(ProbeOut),
    Alarm(AlarmOut),
    Params {
        t_us: u64,
        params: ParamsOut,
    },
    /// Auto-throttling slowed the scan down because of an alarm.
    Throttle {
        t_us: u64,
        alarm: &'static str,
        scope: String,
        from: ParamsOut,
        to: ParamsOut,
    },
    Progress {
        t_us: u64,
        done: u64,
        total: Option<u64>,
        rate: f64,
        eta_s: Option<f64>,
    },
    Error {
        message: String,
    },
    Summary(Box<SummaryOut>),
}

#[derive(Debug, Serialize)]
pub struct ParamsOut {
    pub concurrency: u32,
    pub max_per_host: u32,
    pub timeout_ms: u64,
    pub retries: u32,
    pub rate: Option<f64>,
    pub paused: bool,
}

impl From<&ScanParams> for ParamsOut {
    fn from(p: &ScanParams) -> Self {
        ParamsOut {
            concurrency: p.concurrency,
            max_per_host: p.max_per_host,
            timeout_ms: p.timeout.as_millis() as u64,
            retries: p.retries,
            rate: p.rate,
            paused: p.paused,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ProbeOut {
    pub t_us: u64,
    pub host: IpAddr,
    pub port: u16,
    pub state: &'static str,
    pub reason: &'static str,
    pub connect_us: u64,
    pub attempt: u32,
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_connect: Option<&'static str>,
    /// The banner made safe to print (see `banner::display`), at most [`BANNER_JSON_CHARS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// The banner's raw bytes in hex, at most `banner::BANNER_MAX` of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner_hex: Option<String>,
}

/// Characters of a sanitized banner in JSON at most.
pub const BANNER_JSON_CHARS: usize = 256;

impl From<&ProbeRecord> for ProbeOut {
    fn from(r: &ProbeRecord) -> Self {
        ProbeOut {
            t_us: r.t_us,
            host: r.addr,
            port: r.port,
            state: r.outcome.state_str(),
            reason: r.outcome.reason_str(),
            connect_us: r.connect_us,
            attempt: r.attempt,
            seq: r.seq,
            after_connect: after_connect_str(&r.after_connect),
            banner: banner_text(&r.after_connect),
            banner_hex: match &r.after_connect {
                AfterConnect::Banner(raw) => Some(banner::hex(raw)),
                _ => None,
            },
        }
    }
}

/// The banner made safe to print, for a port that sent one.
fn banner_text(a: &AfterConnect) -> Option<String> {
    match a {
        AfterConnect::Banner(raw) => Some(banner::display(raw, BANNER_JSON_CHARS)),
        _ => None,
    }
}

fn after_connect_str(a: &AfterConnect) -> Option<&'static str> {
    match a {
        AfterConnect::NotRead => None,
        AfterConnect::Banner(_) => Some("banner"),
        AfterConnect::Silent => Some("silent"),
        AfterConnect::ClosedAtOnce => Some("closed-at-once"),
    }
}

/// An interference alarm, as raised (or, in the summary, with its clear time).
#[derive(Debug, Serialize)]
pub struct AlarmOut {
    pub kind: &'static str,
    pub scope: String,
    pub since_us: u64,
    pub raised_us: u64,
    pub cleared_us: Option<u64>,
    pub evidence: String,
    pub cause: &'static str,
    pub action: &'static str,
    pub line: String,
}

impl From<&Alarm> for AlarmOut {
    fn from(a: &Alarm) -> Self {
        AlarmOut {
            kind: a.kind.as_str(),
            scope: a.scope.to_string(),
            since_us: a.since_us,
            raised_us: a.raised_us,
            cleared_us: a.cleared_us,
            evidence: a.evidence.clone(),
            cause: a.kind.cause(),
            action: a.kind.action(),
            line: a.line(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SummaryOut {
    pub finish: &'static str,
    pub elapsed_s: f64,
    pub probes: u64,
    pub open: u64,
    pub closed: u64,
    pub filtered: u64,
    pub not_scanned: u64,
    pub local_errors: u64,
    pub hosts_up: u64,
    pub hosts_silent: u64,
    pub hosts: Vec<HostOut>,
    pub latency_us: Option<Percentiles>,
    /// Timeouts after a host's change point: suspect rather than plainly filtered.
    pub suspect: u64,
    pub alarms: Vec<AlarmOut>,
}

#[derive(Debug, Serialize)]
pub struct HostOut {
    pub addr: IpAddr,
    pub name: Option<String>,
    pub status: &'static str,
    pub open: Vec<PortOut>,
    pub closed: u64,
    pub filtered: u64,
    pub suspect: u64,
    pub latency_us: Option<Percentiles>,
}

#[derive(Debug, Serialize)]
pub struct PortOut {
    pub port: u16,
    pub service: Option<&'static str>,
    pub connect_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_connect: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of a histogram, when it holds anything.
    pub fn of<T: hdrhistogram::Counter>(h: &hdrhistogram::Histogram<T>) -> Option<Self> {
        (!h.is_empty()).then(|| Percentiles {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        })
    }
}

fn host_out(h: &HostState) -> HostOut {
    HostOut {
        addr: h.addr,
        name: h.name.as_deref().map(str::to_owned),
        status: if h.is_up() { "up" } else { "silent" },
        open: h
            .open_ports_sorted()
            .into_iter()
            .map(|p| PortOut {
                port: p.port,
                service: service_name(p.port),
                connect_us: p.connect_us,
                after_connect: after_connect_str(&p.after_connect),
                banner: banner_text(&p.after_connect),
            })
            .collect(),
        closed: h.counts.closed,
        filtered: h.counts.filtered(),
        suspect: h.suspect,
        latency_us: Percentiles::of(&h.latency),
    }
}

/// The final summary: every host that answered with its open ports, then the silent ones that
/// are still known individually.
pub fn summary(state: &ScanState) -> SummaryOut {
    let mut hosts: Vec<HostOut> = state.up_hosts().into_iter().map(host_out).collect();
    hosts.extend(state.silent_sample.iter().map(|&addr| HostOut {
        addr,
        name: None,
        status: "silent",
        open: Vec::new(),
        closed: 0,
        filtered: u64::from(state.plan.map_or(0, |p| p.ports_per_host)),
        suspect: 0,
        latency_us: None,
    }));
    let t = &state.totals;
    SummaryOut {
        finish: match state.finished {
            Some((crate::event::FinishReason::Completed, _)) => "completed",
            Some((crate::event::FinishReason::Stopped, _)) => "stopped",
            None => "incomplete",
        },
        elapsed_s: state.now_us as f64 / 1e6,
        probes: state.probes_done(),
        open: t.open,
        closed: t.closed,
        filtered: t.filtered(),
        not_scanned: t.not_scanned,
        local_errors: state.local_errors,
        hosts_up: state.up_hosts().len() as u64,
        hosts_silent: state.silent_hosts,
        hosts,
        latency_us: Percentiles::of(&state.latency),
        suspect: state.suspect,
        alarms: state.alarms.iter().map(AlarmOut::from).collect(),
    }
}
