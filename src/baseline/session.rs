//! A scanwatch session log as a baseline.
//!
//! The log is streamed through [`SessionReader`] and its events folded into a `Monitor` with
//! the header's thresholds, exactly as [`Session::replay`](crate::session::Session::replay)
//! does (without keeping every event in memory): the open ports of each host are those of the
//! rebuilt `ScanState`. The hosts are every host the scan started, in the order it started
//! them, including those that never answered (the scan covered them).
//!
//! `scanned_ports` is the scan's port list, rebuilt from the command line in the header (`-p`,
//! `--top-ports`, `--exclude-ports`, or a demo's built-in scenario) and kept only when it agrees
//! with the ports per host the scan announced (taking `--shard` into account); a list that came
//! from a configuration file or a scenario file may have changed since, so it is not guessed.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::BufRead;
use std::net::IpAddr;

use clap::Parser as _;
use serde_json::Value;

use super::{Baseline, BaselineFormat, HostList, count, some_addrs};
use crate::error::Failure;
use crate::event::{FinishReason, ScanEvent};
use crate::monitor::Monitor;
use crate::session::{Entry, FORMAT_NAME, SessionHeader, SessionReader};

/// Whether the first line of a file is a session log header (or the start of one).
pub(super) fn looks_like_session(first_line: &[u8]) -> bool {
    let text = match std::str::from_utf8(first_line) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(first_line.get(..e.valid_up_to()).unwrap_or_default())
            .unwrap_or_default(),
    };
    let text = text.trim_start();
    if !text.starts_with('{') {
        return false;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => value.get("format").and_then(Value::as_str) == Some(FORMAT_NAME),
        // A header cut short, or longer than what was looked at: scanwatch writes `format` first.
        Err(_) => text.contains(&format!("\"format\":\"{FORMAT_NAME}\"")),
    }
}

/// Reads a session log from `input`; `name` names it in messages.
pub(super) fn read<R: BufRead>(input: R, name: &str) -> Result<Baseline, Failure> {
    let mut reader = SessionReader::new(input, name)?;
    let header = reader.header().clone();
    let mut monitor = Monitor::with_thresholds(header.thresholds);
    let mut started: Vec<(IpAddr, Option<String>)> = Vec::new();
    let mut seen: HashSet<IpAddr> = HashSet::new();
    let mut ports_per_host = None;
    for entry in &mut reader {
        let Entry::Event(event) = entry? else {
            continue;
        };
        match &event {
            ScanEvent::Started {
                ports_per_host: p, ..
            } => ports_per_host = Some(*p),
            ScanEvent::HostStarted { addr, name, .. } if seen.insert(*addr) => {
                started.push((*addr, name.as_deref().map(str::to_string)));
            }
            _ => {}
        }
        monitor.apply_recorded(&event);
    }
    let mut notes: Vec<String> = reader.notes().to_vec();
    let state = monitor.state();

    let mut open: HashMap<IpAddr, BTreeSet<u16>> = HashMap::new();
    let mut answered: HashSet<IpAddr> = HashSet::new();
    for host in state.hosts.values() {
        open.entry(host.addr)
            .or_default()
            .extend(host.open_ports.iter().map(|p| p.port));
        if host.counts.open + host.counts.closed > 0 {
            answered.insert(host.addr);
        }
    }
    let mut hosts = HostList::default();
    for (addr, host_name) in started {
        let ports = open.remove(&addr).unwrap_or_default();
        hosts.add(addr, host_name.into_iter().collect(), ports);
    }
    // Hosts known only from their probe lines' addresses (no `h` line), in address order.
    let mut rest: Vec<(IpAddr, BTreeSet<u16>)> =
        open.into_iter().filter(|(_, p)| !p.is_empty()).collect();
    rest.sort_unstable_by_key(|(addr, _)| *addr);
    for (addr, ports) in rest {
        hosts.add(addr, Vec::new(), ports);
    }

    match state.finished {
        Some((FinishReason::Completed, _)) => {}
        Some((FinishReason::Stopped, _)) => notes.push(format!(
            "{name}: the baseline scan was stopped before the end: ports it did not reach are not in the baseline"
        )),
        None => notes.push(format!(
            "{name}: the log ends before the scan finished (it was killed, or the log was cut): \
             ports it did not reach are not in the baseline"
        )),
    }
    let silent: Vec<IpAddr> = hosts
        .hosts
        .iter()
        .map(|h| h.addr)
        .filter(|a| !answered.contains(a))
        .collect();
    if !silent.is_empty() {
        notes.push(format!(
            "{name}: {} in the baseline scan ({}): kept, with no open port",
            count(silent.len(), "host never answered", "hosts never answered"),
            some_addrs(&silent, silent.len())
        ));
    }
    let unverified: Vec<IpAddr> = hosts
        .hosts
        .iter()
        .filter(|h| !h.open.is_empty() && crate::report::open_ports_unverified(state, h.addr))
        .map(|h| h.addr)
        .collect();
    if !unverified.is_empty() {
        notes.push(format!(
            "{name}: the baseline scan raised a DECEPTION alarm on {} ({}): its open ports are \
             unverified (a tarpit or deception system may answer on every port)",
            count(unverified.len(), "host", "hosts"),
            some_addrs(&unverified, unverified.len())
        ));
    }
    let scanned_ports = match plan_ports(&header, ports_per_host) {
        Ok(ports) => Some(ports),
        Err(why) => {
            notes.push(format!(
                "{name}: the ports the scan covered are not known ({why})"
            ));
            None
        }
    };
    Ok(Baseline {
        format: BaselineFormat::Session,
        hosts: hosts.hosts,
        scanned_ports,
        notes,
    })
}

/// The scan's port list from the command line in the header, checked against the ports per
/// host it announced.
fn plan_ports(header: &SessionHeader, ports_per_host: Option<u32>) -> Result<Vec<u16>, String> {
    use crate::cli::{Cli, Command};

    let Some(per_host) = ports_per_host else {
        return Err("the log ends before the scan started".into());
    };
    let cli = Cli::try_parse_from(&header.args)
        .map_err(|_| "its command line is not one this scanwatch reads".to_string())?;
    let ports = match cli.command {
        Command::Scan(args) => crate::ports::resolve_ports(
            args.ports.as_deref(),
            args.top_ports,
            args.exclude_ports.as_deref(),
        )?,
        Command::Demo(args) => {
            if args.scenario_file.is_some() {
                return Err("the demo ran a scenario file, which may have changed since".into());
            }
            let scenario = crate::sim::builtin(&args.scenario)?;
            crate::ports::parse_port_spec(scenario.port_spec())?
        }
        _ => return Err("it was not written by a scan or a demo".into()),
    };
    let len = u32::try_from(ports.len()).unwrap_or(u32::MAX);
    let shards = header
        .shard
        .as_deref()
        .and_then(|s| s.split_once('/'))
        .and_then(|(_, n)| n.trim().parse::<u32>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    // Each shard probes every N-th port of each host: ⌊len/N⌋ or ⌈len/N⌉ of them.
    if !(len / shards..=len.div_ceil(shards)).contains(&per_host) {
        return Err(format!(
            "its command line gives {len} ports but the scan probed {per_host} per host: \
             the list came from the configuration file"
        ));
    }
    Ok(ports)
}
