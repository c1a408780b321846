//! The `text` report: a header (when, what, how it ended), the nmap-like host summary of
//! headless mode, then the alarms timeline, the parameter changes and the connect-latency
//! percentiles per host and for the scan.
//!
//! A partial report says so in its header, on a line starting `PARTIAL RESULTS:`.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::banner;
use crate::headless::jsonl::Percentiles;
use crate::headless::text::{
    closing_line, host_section, human_us, silent_hosts_section, thousands,
};

use super::{ReportInput, ScanKind, compress_ports, param_changes, secs, time};

/// Targets shown in the header; the rest are counted.
const TARGETS_SHOWN: usize = 10;
/// Characters of the command line shown at most.
const COMMAND_CHARS: usize = 1000;

pub fn write(input: &ReportInput<'_>, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render(input).as_bytes())
}

/// The whole text report.
pub fn render(input: &ReportInput<'_>) -> String {
    let state = input.state;
    let mut out = String::new();
    header(&mut out, input);
    for host in state.up_hosts() {
        host_section(&mut out, host);
    }
    silent_hosts_section(&mut out, state);
    crate::headless::text::recheck_section(&mut out, state);
    alarms_timeline(&mut out, input);
    parameter_changes(&mut out, input);
    latency_table(&mut out, input);
    closing_line(&mut out, state);
    out
}

fn header(out: &mut String, input: &ReportInput<'_>) {
    let meta = input.meta;
    let what = match meta.kind {
        ScanKind::Connect => "TCP connect scan",
        ScanKind::Simulated => {
            "TCP connect scan of the simulated network (scan times are simulated)"
        }
    };
    let _ = writeln!(out, "scanwatch {} report: {what}", safe(&meta.version, 40));
    let _ = writeln!(
        out,
        "Started {}, ended {} ({:.2}s of scan time)",
        time::rfc3339(meta.started),
        time::rfc3339(input.ended()),
        input.elapsed_s()
    );
    if !meta.args.is_empty() {
        let _ = writeln!(
            out,
            "Command: {}",
            safe(&input.command_line(), COMMAND_CHARS)
        );
    }
    if !meta.targets.is_empty() {
        let shown: Vec<String> = meta
            .targets
            .iter()
            .take(TARGETS_SHOWN)
            .map(|t| safe(t, 100))
            .collect();
        let more = meta.targets.len().saturating_sub(TARGETS_SHOWN);
        let _ = writeln!(
            out,
            "Targets: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {} more", thousands(more as u64))
            } else {
                String::new()
            }
        );
    }
    let per_host = input.state.plan.map(|p| u64::from(p.ports_per_host));
    match (meta.ports.is_empty(), per_host) {
        (false, _) => {
            let _ = writeln!(
                out,
                "Ports: {} ({} per host)",
                compress_ports(&meta.ports),
                thousands(per_host.unwrap_or(meta.ports.len() as u64))
            );
        }
        (true, Some(n)) => {
            let _ = writeln!(out, "Ports: {} per host", thousands(n));
        }
        (true, None) => {}
    }
    if let Some(reason) = input.partial_reason() {
        let _ = writeln!(out, "PARTIAL RESULTS: {reason}");
    }
    out.push('\n');
}

fn alarms_timeline(out: &mut String, input: &ReportInput<'_>) {
    let alarms = &input.state.alarms;
    if alarms.is_empty() {
        let _ = writeln!(out, "Interference alarms: none\n");
        return;
    }
    let _ = writeln!(out, "Interference alarms ({}):", alarms.len());
    let mut order: Vec<usize> = (0..alarms.len()).collect();
    order.sort_by_key(|&i| (alarms[i].raised_us, i));
    for i in order {
        let a = &alarms[i];
        let cleared = match a.cleared_us {
            Some(t) => format!("cleared at {}", secs(t)),
            None => "not cleared".to_string(),
        };
        let _ = writeln!(
            out,
            "  {:>7}  {} {} (since {}, {cleared})",
            secs(a.raised_us),
            a.kind.as_str(),
            a.scope,
            secs(a.since_us)
        );
        let _ = writeln!(out, "           evidence: {}", safe(&a.evidence, 1000));
        let _ = writeln!(out, "           likely:   {}", a.kind.cause());
        let _ = writeln!(out, "           action:   {}", a.kind.action());
    }
    out.push('\n');
}

fn parameter_changes(out: &mut String, input: &ReportInput<'_>) {
    let changes = param_changes(input.state);
    if let Some(plan) = input.state.plan {
        let p = &plan.initial;
        let _ = writeln!(
            out,
            "Pacing at the start: concurrency {}, max per host {}, timeout {}, retries {}, rate {}",
            p.concurrency,
            p.max_per_host,
            crate::duration::format_duration(p.timeout),
            p.retries,
            super::ParamValue::Rate(p.rate).text()
        );
    }
    if changes.is_empty() {
        let _ = writeln!(out, "Parameter changes: none\n");
        return;
    }
    let _ = writeln!(out, "Parameter changes ({}):", changes.len());
    for change in changes {
        let what: Vec<String> = change
            .changes
            .iter()
            .map(|c| format!("{} {} → {}", c.label(), c.from.text(), c.to.text()))
            .collect();
        let what = if what.is_empty() {
            "no change".to_string()
        } else {
            what.join(", ")
        };
        let _ = writeln!(out, "  {:>7}  {what}", secs(change.t_us));
    }
    out.push('\n');
}

fn latency_table(out: &mut String, input: &ReportInput<'_>) {
    let state = input.state;
    let Some(all) = Percentiles::of(&state.latency) else {
        let _ = writeln!(out, "Connect latency: no answers\n");
        return;
    };
    let hosts = state.up_hosts();
    let rows: Vec<(String, Percentiles)> = hosts
        .iter()
        .filter_map(|h| Percentiles::of(&h.latency).map(|p| (h.addr.to_string(), p)))
        .chain(std::iter::once(("all hosts".to_string(), all)))
        .collect();
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0) + 2;
    let _ = writeln!(out, "Connect latency of answered probes:");
    let _ = writeln!(
        out,
        "  {:<width$}{:>9}{:>9}{:>9}{:>9}",
        "HOST", "P50", "P90", "P99", "MAX"
    );
    for (name, p) in rows {
        let _ = writeln!(
            out,
            "  {name:<width$}{:>9}{:>9}{:>9}{:>9}",
            human_us(p.p50),
            human_us(p.p90),
            human_us(p.p99),
            human_us(p.max)
        );
    }
    out.push('\n');
}

/// Text from a recorded scan made safe to print (no escapes or control characters).
fn safe(s: &str, max_chars: usize) -> String {
    banner::display(s.as_bytes(), max_chars)
}
