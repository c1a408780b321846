//! The `nmap-xml` report: nmap's `-oX` format (`nmap.dtd`, xmloutputversion 1.05), written so
//! that nmap's `ndiff` compares it with a real `nmap -sT -Pn` scan of the same targets and ports
//! and finds the same hosts, port states and service names.
//!
//! How the scan maps onto nmap's vocabulary:
//!
//! - `nmaprun`: `scanner="scanwatch"` (the DTD names only `nmap` there; everything else follows
//!   it), `args` the command line, `start`/`startstr` the start time (UTC), `version` the
//!   scanwatch version. `scaninfo type="connect" protocol="tcp"` with the port list compressed
//!   into ranges.
//! - Hosts: scanwatch does no host discovery, like `nmap -Pn`, so every host listed is
//!   `status state="up" reason="user-set"`. Hosts that answered, and hosts that never did (the
//!   first 1,024 known by address; the rest are only counted in `runstats`), in address order.
//!   A host name given as a target becomes `hostname type="user"`.
//! - Ports: open ports one by one (`syn-ack`). Closed (`conn-refused`) and filtered
//!   (`no-response`, or `unreachable` for ICMP unreachable and prohibited answers) ports follow
//!   nmap's own rule: a state with more than 25 ports is summed up in `extraports` with
//!   `extrareasons`, a state with 25 or fewer is listed port by port. scanwatch counts closed and
//!   filtered ports without keeping their numbers, so it can list them (and give the `ports`
//!   of `extrareasons`) only when they follow from the port list: every port of the host has its
//!   outcome and all of them that are not open are in one state. Otherwise they go in
//!   `extraports` even when there are 25 or fewer. Service names are nmap's table names
//!   (`method="table" conf="3"`): `unknown` where `nmap-services` says so, none for unlisted
//!   ports. Ports given up after local errors are not port states and are left out.
//! - `times`: mean and standard deviation of the host's connect times, and the probe timeout,
//!   in microseconds.
//! - Alarms, parameter changes and the partial-result note go in an `output` element (text),
//!   which nmap tools show or ignore; banners are left out (nmap would only show them through
//!   its `banner` script, and a script result would count as a difference in `ndiff`).
//! - `runstats/finished`: `exit="success"`, or `exit="error"` with an `errormsg` when the scan
//!   did not finish.
//!
//! Every attribute and text is escaped; characters XML cannot carry (control characters) are
//! replaced with U+FFFD.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

use crate::ports::nmap_table_service;
use crate::state::HostState;

use super::{
    Listed, ReportInput, compress_ports, listed_hosts, param_changes, secs, silent_host_ports, time,
};

/// The nmap XML output version this follows.
pub const XML_OUTPUT_VERSION: &str = "1.05";
/// nmap sums up a port state in `extraports` when it has more ports than this.
pub const MAX_LISTED_PER_STATE: u64 = 25;

pub fn write(input: &ReportInput<'_>, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render(input).as_bytes())
}

/// The whole document.
pub fn render(input: &ReportInput<'_>) -> String {
    let state = input.state;
    let meta = input.meta;
    let mut x = String::new();
    let start = time::nmap_timestr(meta.started);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n");
    let _ = writeln!(
        x,
        "<!-- {} -->",
        comment(&format!(
            "scanwatch {} scan initiated {start} (UTC), written in nmap's XML format",
            meta.version
        ))
    );
    let _ = writeln!(
        x,
        "<nmaprun scanner=\"scanwatch\" args=\"{}\" start=\"{}\" startstr=\"{}\" version=\"{}\" xmloutputversion=\"{XML_OUTPUT_VERSION}\">",
        attr(&input.command_line()),
        time::unix_seconds(meta.started),
        attr(&start),
        attr(&meta.version),
    );
    let ports = input.ports();
    let numservices = if ports.is_empty() {
        silent_host_ports(input)
    } else {
        ports.len() as u64
    };
    let _ = writeln!(
        x,
        "<scaninfo type=\"connect\" protocol=\"tcp\" numservices=\"{numservices}\" services=\"{}\"/>",
        compress_ports(&ports)
    );
    x.push_str("<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n");
    for listed in listed_hosts(state) {
        match listed {
            Listed::Up(h) => up_host(&mut x, input, h),
            Listed::Silent(addr) => silent_host(&mut x, input, addr),
        }
    }
    notes(&mut x, input);
    runstats(&mut x, input);
    x.push_str("</nmaprun>\n");
    x
}

fn host_open(x: &mut String, starttime: Option<(i64, i64)>, addr: IpAddr) {
    match starttime {
        Some((start, end)) => {
            let _ = write!(x, "<host starttime=\"{start}\" endtime=\"{end}\">");
        }
        None => x.push_str("<host>"),
    }
    x.push_str("<status state=\"up\" reason=\"user-set\" reason_ttl=\"0\"/>\n");
    let addrtype = if addr.is_ipv4() { "ipv4" } else { "ipv6" };
    let _ = writeln!(
        x,
        "<address addr=\"{}\" addrtype=\"{addrtype}\"/>",
        attr(&addr.to_string())
    );
}

fn up_host(x: &mut String, input: &ReportInput<'_>, h: &HostState) {
    let started = input.meta.started;
    let start = time::unix_seconds(time::add_us(started, h.started_us));
    let last = h.last_answer_us.unwrap_or(0).max(h.started_us);
    let end = time::unix_seconds(time::add_us(started, last));
    host_open(x, Some((start, end)), h.addr);
    x.push_str("<hostnames>\n");
    if let Some(name) = &h.name {
        let _ = writeln!(x, "<hostname name=\"{}\" type=\"user\"/>", attr(name));
    }
    x.push_str("</hostnames>\n");
    let table = port_table(input, h);
    write_ports(x, &table);
    if !h.latency.is_empty() {
        let timeout_us = input.state.params.map_or(0, |p| {
            u64::try_from(p.timeout.as_micros()).unwrap_or(u64::MAX)
        });
        let _ = writeln!(
            x,
            "<times srtt=\"{}\" rttvar=\"{}\" to=\"{timeout_us}\"/>",
            finite_round(h.latency.mean()),
            finite_round(h.latency.stdev())
        );
    }
    x.push_str("</host>\n");
}

fn silent_host(x: &mut String, input: &ReportInput<'_>, addr: IpAddr) {
    host_open(x, None, addr);
    x.push_str("<hostnames>\n</hostnames>\n");
    let n = silent_host_ports(input);
    let ports = input.ports();
    let known = ports.len() as u64 == n && n > 0;
    let mut table = PortTable::default();
    if known && n <= MAX_LISTED_PER_STATE {
        table.listed = ports
            .iter()
            .map(|&p| (p, "filtered", "no-response"))
            .collect();
    } else if n > 0 {
        table.extra.push(Extra {
            state: "filtered",
            count: n,
            reasons: vec![("no-response", n, known.then(|| compress_ports(&ports)))],
        });
    }
    write_ports(x, &table);
    x.push_str("</host>\n");
}

/// A host's ports as nmap would write them.
#[derive(Debug, Default, PartialEq)]
struct PortTable {
    extra: Vec<Extra>,
    /// Port, state, reason; sorted by port.
    listed: Vec<(u16, &'static str, &'static str)>,
}

/// An `extraports` element: a state, how many ports, and why (reason, count, ports if known).
#[derive(Debug, PartialEq)]
struct Extra {
    state: &'static str,
    count: u64,
    reasons: Vec<(&'static str, u64, Option<String>)>,
}

fn port_table(input: &ReportInput<'_>, h: &HostState) -> PortTable {
    let c = &h.counts;
    let open: BTreeSet<u16> = h.open_ports.iter().map(|p| p.port).collect();
    let mut table = PortTable::default();
    let mut listed: Vec<(u16, &'static str, &'static str)> =
        open.iter().map(|&p| (p, "open", "syn-ack")).collect();

    // The numbers of the ports that are not open, when the port list tells them.
    let ports = input.ports();
    let not_open: Option<Vec<u16>> = (!ports.is_empty()
        && c.total() == ports.len() as u64
        && c.not_scanned == 0
        && c.open == open.len() as u64)
        .then(|| {
            ports
                .iter()
                .copied()
                .filter(|p| !open.contains(p))
                .collect::<Vec<u16>>()
        })
        .filter(|rest| rest.len() as u64 == c.closed + c.filtered());

    let filtered = c.filtered();
    // Closed ports: conn-refused.
    if c.closed > 0 {
        let known = not_open.as_ref().filter(|_| filtered == 0);
        match known {
            Some(closed) if c.closed <= MAX_LISTED_PER_STATE => {
                listed.extend(closed.iter().map(|&p| (p, "closed", "conn-refused")));
            }
            _ => table.extra.push(Extra {
                state: "closed",
                count: c.closed,
                reasons: vec![("conn-refused", c.closed, known.map(|k| compress_ports(k)))],
            }),
        }
    }
    // Filtered ports: timeouts (no-response) and ICMP answers (unreachable).
    if filtered > 0 {
        let known = not_open.as_ref().filter(|_| c.closed == 0);
        let one_reason = match (c.timed_out, c.unreachable) {
            (_, 0) => Some("no-response"),
            (0, _) => Some("unreachable"),
            _ => None,
        };
        match (known, one_reason) {
            (Some(ports), Some(reason)) if filtered <= MAX_LISTED_PER_STATE => {
                listed.extend(ports.iter().map(|&p| (p, "filtered", reason)));
            }
            _ => {
                let mut reasons = Vec::new();
                let ports = known
                    .filter(|_| one_reason.is_some())
                    .map(|k| compress_ports(k));
                if c.timed_out > 0 {
                    reasons.push(("no-response", c.timed_out, ports.clone()));
                }
                if c.unreachable > 0 {
                    reasons.push(("unreachable", c.unreachable, ports));
                }
                table.extra.push(Extra {
                    state: "filtered",
                    count: filtered,
                    reasons,
                });
            }
        }
    }
    listed.sort_by_key(|&(port, _, _)| port);
    table.listed = listed;
    table
}

fn write_ports(x: &mut String, table: &PortTable) {
    x.push_str("<ports>");
    for extra in &table.extra {
        let _ = writeln!(
            x,
            "<extraports state=\"{}\" count=\"{}\">",
            extra.state, extra.count
        );
        for (reason, count, ports) in &extra.reasons {
            let _ = write!(
                x,
                "<extrareasons reason=\"{reason}\" count=\"{count}\" proto=\"tcp\""
            );
            if let Some(ports) = ports {
                let _ = write!(x, " ports=\"{}\"", attr(ports));
            }
            x.push_str("/>\n");
        }
        x.push_str("</extraports>\n");
    }
    for &(port, state, reason) in &table.listed {
        let _ = write!(
            x,
            "<port protocol=\"tcp\" portid=\"{port}\"><state state=\"{state}\" reason=\"{reason}\" reason_ttl=\"0\"/>"
        );
        if let Some(name) = nmap_table_service(port) {
            let _ = write!(
                x,
                "<service name=\"{}\" method=\"table\" conf=\"3\"/>",
                attr(name)
            );
        }
        x.push_str("</port>\n");
    }
    x.push_str("</ports>\n");
}

/// Alarms, parameter changes and the partial-result note, as text in an `output` element.
fn notes(x: &mut String, input: &ReportInput<'_>) {
    let mut lines = Vec::new();
    if let Some(note) = input.partial_note() {
        lines.push(format!("scanwatch: {note}"));
    }
    let mut alarms: Vec<_> = input.state.alarms.iter().collect();
    alarms.sort_by_key(|a| a.raised_us);
    for a in alarms {
        let cleared = a
            .cleared_us
            .map(|t| format!(", cleared at {}", secs(t)))
            .unwrap_or_default();
        lines.push(format!(
            "ALARM at {}{cleared}: {}",
            secs(a.raised_us),
            a.line()
        ));
    }
    for change in param_changes(input.state) {
        let what: Vec<String> = change
            .changes
            .iter()
            .map(|c| format!("{} {} -> {}", c.label(), c.from.text(), c.to.text()))
            .collect();
        if !what.is_empty() {
            lines.push(format!(
                "PARAMS at {}: {}",
                secs(change.t_us),
                what.join(", ")
            ));
        }
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        x,
        "<output type=\"interactive\">{}\n</output>",
        text(&lines.join("\n"))
    );
}

fn runstats(x: &mut String, input: &ReportInput<'_>) {
    let state = input.state;
    let ended = input.ended();
    let timestr = time::nmap_timestr(ended);
    let elapsed = format!("{:.2}", input.elapsed_s());
    // As with nmap -Pn, every scanned host counts as up.
    let up = state.up_hosts().len() as u64 + state.silent_hosts;
    let summary = format!(
        "scanwatch done at {timestr}; {up} IP address{} ({up} host{} up) scanned in {elapsed} seconds",
        if up == 1 { "" } else { "es" },
        if up == 1 { "" } else { "s" },
    );
    let exit = match input.partial_note() {
        None => "exit=\"success\"".to_string(),
        Some(note) => format!("exit=\"error\" errormsg=\"{}\"", attr(&note)),
    };
    let _ = writeln!(
        x,
        "<runstats><finished time=\"{}\" timestr=\"{}\" summary=\"{}\" elapsed=\"{elapsed}\" {exit}/><hosts up=\"{up}\" down=\"0\" total=\"{up}\"/>\n</runstats>",
        time::unix_seconds(ended),
        attr(&timestr),
        attr(&summary),
    );
}

fn finite_round(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    }
}

/// A character XML 1.0 can carry that is also not a control character (which a terminal
/// showing the file might act on).
fn allowed(c: char) -> bool {
    !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
}

/// An attribute value (inside double quotes): markup escaped, tabs and line breaks as character
/// references so they survive attribute normalisation, other control characters replaced.
pub fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// Character data: markup escaped, line breaks and tabs kept, other control characters replaced.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' => out.push(c),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// Text for a comment: no `--` inside and no `-` at the end, no control characters.
fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if allowed(c) { c } else { '\u{fffd}' };
        if c == '-' && out.ends_with('-') {
            out.push(' ');
        }
        out.push(c);
    }
    if out.ends_with('-') {
        out.push(' ');
    }
    out
}
