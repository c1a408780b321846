//! The nmap-like text summary printed on stdout when a headless scan ends.

use std::fmt::Write as _;

use crate::banner;
use crate::event::{AfterConnect, FinishReason};
use crate::ports::service_name;
use crate::state::{HostState, ScanState};

/// Silent hosts listed by address in the text summary; the rest are counted.
const SILENT_LISTED: usize = 20;
/// Characters of a banner shown beside its port (the line stays under about 100 columns).
pub const BANNER_TEXT_CHARS: usize = 50;

/// Formats a duration in µs for people: `87µs`, `1.4ms`, `2.10s`.
pub fn human_us(us: u64) -> String {
    if us < 1000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.1}ms", us as f64 / 1e3)
    } else {
        format!("{:.2}s", us as f64 / 1e6)
    }
}

/// Formats a count with thousands separators: `65,535`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The whole summary.
pub fn summary(state: &ScanState) -> String {
    let mut out = String::new();
    for host in state.up_hosts() {
        host_section(&mut out, host);
    }
    silent_hosts_section(&mut out, state);
    recheck_section(&mut out, state);
    alarms_section(&mut out, state);
    closing_line(&mut out, state);
    out
}

/// The hosts that gave no answer: the first few by address, the rest counted.
pub fn silent_hosts_section(out: &mut String, state: &ScanState) {
    if state.silent_hosts == 0 {
        return;
    }
    let silent_listed = state.silent_sample.len().min(SILENT_LISTED);
    let names: Vec<String> = state.silent_sample[..silent_listed]
        .iter()
        .map(ToString::to_string)
        .collect();
    let more = state.silent_hosts.saturating_sub(silent_listed as u64);
    let _ = writeln!(
        out,
        "{} host{} gave no answer on any port: {}{}\n",
        thousands(state.silent_hosts),
        if state.silent_hosts == 1 { "" } else { "s" },
        names.join(", "),
        if more > 0 {
            format!(" and {} more", thousands(more))
        } else {
            String::new()
        }
    );
}

/// A re-check's diff against its baseline: counts by verdict, then every port that changed.
pub fn recheck_section(out: &mut String, state: &ScanState) {
    use crate::recheck::Verdict;
    let Some(recheck) = &state.recheck else {
        return;
    };
    let counts = recheck.counts();
    let n = |v: Verdict| counts.get(&v).copied().unwrap_or(0);
    let baseline = recheck
        .checks()
        .values()
        .filter(|c| c.verdict != Verdict::New)
        .count();
    let _ = writeln!(
        out,
        "Re-check against the baseline: {baseline} ports open in the baseline: {} still open, {} now closed, {} now silent (port blocked), {} now silent (host silent), {} not decided; {} new open ports",
        n(Verdict::StillOpen),
        n(Verdict::NowClosed),
        n(Verdict::SilentPort),
        n(Verdict::SilentHost),
        n(Verdict::Pending),
        n(Verdict::New),
    );
    for ((addr, port), check) in recheck.checks() {
        if check.verdict == Verdict::StillOpen {
            continue;
        }
        let _ = writeln!(
            out,
            "  {addr} {port}/tcp {}: {}",
            check.verdict.as_str(),
            if check.evidence.is_empty() {
                "no result yet"
            } else {
                &check.evidence
            }
        );
    }
    out.push('\n');
}

fn alarms_section(out: &mut String, state: &ScanState) {
    if state.alarms.is_empty() {
        return;
    }
    let _ = writeln!(out, "Interference alarms:");
    for alarm in &state.alarms {
        let cleared = alarm
            .cleared_us
            .map(|t| format!(" [cleared at {:.1}s]", t as f64 / 1e6))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}{cleared}", alarm.line());
    }
    out.push('\n');
}

/// One host that answered: its hidden port counts and its open ports with service, connect
/// time and banner, nmap-style.
pub fn host_section(out: &mut String, h: &HostState) {
    let title = match &h.name {
        // A name read back from a recorded scan is not trusted to be printable.
        Some(name) => format!("{} ({})", banner::display(name.as_bytes(), 255), h.addr),
        None => h.addr.to_string(),
    };
    let _ = writeln!(out, "Scan report for {title}");
    let p50 = h.latency_percentile(0.5).unwrap_or(0);
    let p99 = h.latency_percentile(0.99).unwrap_or(0);
    let _ = writeln!(
        out,
        "Host is up (connect time p50 {}, p99 {}).",
        human_us(p50),
        human_us(p99)
    );
    let c = &h.counts;
    let plain_timeouts = c.timed_out - h.suspect.min(c.timed_out);
    let hidden: Vec<String> = [
        (c.closed, "closed tcp ports (conn-refused)"),
        (plain_timeouts, "filtered tcp ports (no-response)"),
        (
            h.suspect,
            "suspect tcp ports (no response after interference began)",
        ),
        (c.unreachable, "filtered tcp ports (unreachable)"),
        (c.not_scanned, "ports not scanned (local errors)"),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| format!("{} {what}", thousands(count)))
    .collect();
    if !hidden.is_empty() {
        let _ = writeln!(out, "Not shown: {}", hidden.join(", "));
    }
    let open = h.open_ports_sorted();
    if open.is_empty() {
        let _ = writeln!(out, "No open ports.");
    } else {
        let banners = open
            .iter()
            .any(|p| matches!(p.after_connect, AfterConnect::Banner(_)));
        if banners {
            let _ = writeln!(
                out,
                "{:<10}{:<7}{:<17}{:<9}BANNER",
                "PORT", "STATE", "SERVICE", "CONNECT"
            );
        } else {
            let _ = writeln!(out, "{:<10}{:<7}{:<17}CONNECT", "PORT", "STATE", "SERVICE");
        }
        for p in open {
            let shown = match &p.after_connect {
                AfterConnect::Banner(raw) => banner::display(raw, BANNER_TEXT_CHARS),
                _ => String::new(),
            };
            let port = format!("{}/tcp", p.port);
            let service = service_name(p.port).unwrap_or("unknown");
            let connect = human_us(p.connect_us);
            let _ = if shown.is_empty() {
                writeln!(out, "{port:<10}{:<7}{service:<17}{connect}", "open")
            } else {
                writeln!(
                    out,
                    "{port:<10}{:<7}{service:<17}{connect:<9}{shown}",
                    "open"
                )
            };
        }
    }
    out.push('\n');
}

/// The one-line tally that ends the summary, and the seed that repeats the port order.
pub fn closing_line(out: &mut String, state: &ScanState) {
    let secs = state.now_us as f64 / 1e6;
    let probes = state.probes_done();
    let rate = if secs > 0.0 {
        probes as f64 / secs
    } else {
        0.0
    };
    let how = match state.finished {
        Some((FinishReason::Completed, _)) => "Scan done",
        Some((FinishReason::Stopped, _)) => "Scan stopped",
        None => "Scan incomplete",
    };
    let up = state.up_hosts().len() as u64;
    let _ = writeln!(
        out,
        "{how}: {} host{} up, {} silent; {} probes in {:.2}s ({}/s); {} open, {} closed, {} filtered; {} local error{}.",
        thousands(up),
        if up == 1 { "" } else { "s" },
        thousands(state.silent_hosts),
        thousands(probes),
        secs,
        thousands(rate as u64),
        thousands(state.totals.open),
        thousands(state.totals.closed),
        thousands(state.totals.filtered()),
        thousands(state.local_errors),
        if state.local_errors == 1 { "" } else { "s" },
    );
    if let Some(plan) = state.plan {
        let _ = writeln!(
            out,
            "Seed {} (use --seed {} to repeat this port order).",
            plan.seed, plan.seed
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(65535), "65,535");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_us(87), "87µs");
        assert_eq!(human_us(1400), "1.4ms");
        assert_eq!(human_us(2_100_000), "2.10s");
    }

    fn open_port(port: u16, after_connect: AfterConnect) -> crate::event::ScanEvent {
        crate::event::ScanEvent::Probe(crate::event::ProbeRecord {
            host: 0,
            addr: [127, 0, 0, 1].into(),
            port,
            outcome: crate::event::ProbeOutcome::Open,
            connect_us: 1400,
            attempt: 1,
            seq: u64::from(port),
            t_us: 10_000,
            after_connect,
        })
    }

    #[test]
    fn banners_are_shown_beside_their_ports_and_made_safe() {
        use std::sync::Arc;

        let mut m = crate::monitor::Monitor::new();
        let hostile: &[u8] = b"\x1b]0;pwned\x07SSH-2.0-OpenSSH_9.6\x1b[2J\r\n";
        m.apply(&open_port(22, AfterConnect::Banner(Arc::from(hostile))));
        m.apply(&open_port(80, AfterConnect::Silent));
        m.apply(&open_port(
            25,
            AfterConnect::Banner(Arc::from(&[b'x'; 400][..])),
        ));
        let text = summary(m.state());
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(!text.contains("pwned"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let header = lines.iter().position(|l| l.starts_with("PORT")).unwrap();
        assert_eq!(
            lines[header],
            "PORT      STATE  SERVICE          CONNECT  BANNER"
        );
        assert_eq!(
            lines[header + 1],
            format!("22/tcp    open   ssh              1.4ms    SSH-2.0-OpenSSH_9.6")
        );
        assert!(lines[header + 2].starts_with("25/tcp"), "{text}");
        assert!(lines[header + 2].ends_with('…'), "{text}");
        assert!(
            lines[header + 2].chars().count() <= 34 + 9 + BANNER_TEXT_CHARS,
            "{text}"
        );
        assert_eq!(lines[header + 3], "80/tcp    open   http             1.4ms");
    }

    #[test]
    fn without_banners_the_port_table_is_unchanged() {
        let mut m = crate::monitor::Monitor::new();
        m.apply(&open_port(80, AfterConnect::Silent));
        let text = summary(m.state());
        assert!(
            text.contains("PORT      STATE  SERVICE          CONNECT\n80/tcp    open   http             1.4ms\n"),
            "{text}"
        );
    }
}
