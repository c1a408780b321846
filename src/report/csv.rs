//! The `csv` report (RFC 4180: comma-separated, CRLF line ends, a header row).
//!
//! ```text
//! host,hostname,port,state,reason,count,service,connect_us,attempt,after_connect,suspect,banner
//! ```
//!
//! Hosts are in address order. For each host that answered: one row per open port (`count` 1,
//! `reason` syn-ack), then one row per kind of port not listed one by one, with an empty `port`
//! and the number of such ports in `count`: `closed`/`conn-refused`, `filtered`/`no-response`
//! (timeouts), `filtered`/`no-response` with `suspect` yes (timeouts after the host's
//! interference began), `filtered`/`unreachable` (ICMP unreachable or prohibited) and
//! `not-scanned`/`local-error` (given up after scanner-side errors). A host that never
//! answered gets one row, `filtered`/`no-response` with its probed port count.
//!
//! `suspect` is `yes` on an open port when a DECEPTION alarm covers its host (the port is
//! unverified) and on the suspect timeouts row; otherwise `no`. `banner` is what the port sent
//! first, made printable (`banner::display`); a banner or host name that a spreadsheet would
//! read as a formula (starting with `=`, `+`, `-` or `@`) is prefixed with `'`. Fields holding a
//! comma, a quote or a line break are quoted, quotes doubled.
//!
//! When the scan did not finish, a last row says so: empty `host`, `state` `incomplete`, the
//! way it ended in `reason` (`stopped` or `incomplete`) and the probes done in `count`.

use std::io::{self, Write};

use crate::banner;
use crate::event::AfterConnect;
use crate::ports::service_name;
use crate::state::HostState;

use super::{Listed, ReportInput, listed_hosts, open_ports_unverified, silent_host_ports};

/// The header row.
pub const HEADER: [&str; 12] = [
    "host",
    "hostname",
    "port",
    "state",
    "reason",
    "count",
    "service",
    "connect_us",
    "attempt",
    "after_connect",
    "suspect",
    "banner",
];

/// Characters of a banner in a cell at most.
pub const BANNER_CSV_CHARS: usize = 256;

pub fn write(input: &ReportInput<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = io::BufWriter::new(out);
    row(&mut w, &HEADER.map(String::from))?;
    for listed in listed_hosts(input.state) {
        match listed {
            Listed::Up(h) => host_rows(&mut w, input, h)?,
            Listed::Silent(addr) => {
                let mut r = Row::new(addr.to_string(), String::new());
                r.state = "filtered";
                r.reason = "no-response";
                r.count = silent_host_ports(input);
                row(&mut w, &r.cells())?;
            }
        }
    }
    if input.is_partial() {
        let mut r = Row::new(String::new(), String::new());
        r.state = "incomplete";
        r.reason = input.finish_str();
        r.count = input.state.probes_done();
        row(&mut w, &r.cells())?;
    }
    w.flush()
}

/// One data row before quoting.
struct Row {
    host: String,
    hostname: String,
    port: Option<u16>,
    state: &'static str,
    reason: &'static str,
    count: u64,
    service: Option<&'static str>,
    connect_us: Option<u64>,
    attempt: Option<u32>,
    after_connect: &'static str,
    suspect: bool,
    banner: String,
}

impl Row {
    fn new(host: String, hostname: String) -> Self {
        Row {
            host,
            hostname,
            port: None,
            state: "",
            reason: "",
            count: 0,
            service: None,
            connect_us: None,
            attempt: None,
            after_connect: "",
            suspect: false,
            banner: String::new(),
        }
    }

    fn cells(&self) -> [String; 12] {
        let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        [
            self.host.clone(),
            no_formula(&self.hostname),
            opt(self.port.map(u64::from)),
            self.state.to_string(),
            self.reason.to_string(),
            self.count.to_string(),
            self.service.unwrap_or_default().to_string(),
            opt(self.connect_us),
            opt(self.attempt.map(u64::from)),
            self.after_connect.to_string(),
            if self.suspect { "yes" } else { "no" }.to_string(),
            no_formula(&self.banner),
        ]
    }
}

fn host_rows(w: &mut dyn Write, input: &ReportInput<'_>, h: &HostState) -> io::Result<()> {
    let host = h.addr.to_string();
    let hostname = h
        .name
        .as_deref()
        .map(|n| banner::display(n.as_bytes(), 255))
        .unwrap_or_default();
    let unverified = open_ports_unverified(input.state, h.addr);
    for p in h.open_ports_sorted() {
        let mut r = Row::new(host.clone(), hostname.clone());
        r.port = Some(p.port);
        r.state = "open";
        r.reason = "syn-ack";
        r.count = 1;
        r.service = service_name(p.port);
        r.connect_us = Some(p.connect_us);
        r.attempt = Some(p.attempt);
        r.suspect = unverified;
        match &p.after_connect {
            AfterConnect::NotRead => {}
            AfterConnect::Banner(raw) => {
                r.after_connect = "banner";
                r.banner = banner::display(raw, BANNER_CSV_CHARS);
            }
            AfterConnect::Silent => r.after_connect = "silent",
            AfterConnect::ClosedAtOnce => r.after_connect = "closed-at-once",
        }
        row(w, &r.cells())?;
    }
    let c = &h.counts;
    let suspect = h.suspect.min(c.timed_out);
    let aggregates = [
        ("closed", "conn-refused", c.closed, false),
        ("filtered", "no-response", c.timed_out - suspect, false),
        ("filtered", "no-response", suspect, true),
        ("filtered", "unreachable", c.unreachable, false),
        ("not-scanned", "local-error", c.not_scanned, false),
    ];
    for (state, reason, count, is_suspect) in aggregates {
        if count == 0 {
            continue;
        }
        let mut r = Row::new(host.clone(), hostname.clone());
        r.state = state;
        r.reason = reason;
        r.count = count;
        r.suspect = is_suspect;
        row(w, &r.cells())?;
    }
    Ok(())
}

fn row(w: &mut dyn Write, cells: &[String]) -> io::Result<()> {
    let line: Vec<String> = cells.iter().map(|c| quote(c)).collect();
    w.write_all(line.join(",").as_bytes())?;
    w.write_all(b"\r\n")
}

/// A field as RFC 4180 wants it: quoted when it holds a comma, a quote, a line break, or
/// leading or trailing spaces; quotes inside doubled.
pub fn quote(field: &str) -> String {
    let needs =
        field.contains([',', '"', '\r', '\n']) || field.starts_with(' ') || field.ends_with(' ');
    if needs {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Text from the network that a spreadsheet must not evaluate: a leading `=`, `+`, `-` or `@`
/// gets a `'` in front.
fn no_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
