//! Baselines: the results of a previous scan, read back so a re-check can probe what it found
//! open.
//!
//! [`read_baseline`] reads a file and [`parse_baseline`] text already read; the format is
//! detected from the content, never from the file name:
//!
//! | format | recognised by | reader |
//! |---|---|---|
//! | nmap XML (`-oX`) | root element `<nmaprun>` | `nmap.rs` |
//! | Nessus v2 (`.nessus`) | root element `<NessusClientData_v2>` | `nessus.rs` |
//! | scanwatch session log | first line a JSON object with `"format":"scanwatch-session"` | `session.rs` |
//! | `host:port` lines | anything else whose first line is an address and a port | `list.rs` |
//!
//! Every reader keeps the hosts in file order (every host the file names, including those with
//! no open port), merges repeated addresses into the first entry, and says what it noticed
//! without failing (a file cut by an aborted scan, down hosts, ports it does not count) in
//! [`Baseline::notes`]. Errors are usage errors (exit 2) that name the file, and the line (and
//! for XML the column) at fault. No input makes a reader panic, and no input makes the work grow
//! faster than its size (times a logarithm, for sorting port ranges).

mod list;
mod nessus;
mod nmap;
mod session;
mod xml;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::net::IpAddr;

use crate::error::Failure;

/// Largest baseline read into memory (every format but session logs, which are streamed).
pub const MAX_BASELINE_BYTES: u64 = 1 << 30;

/// The formats a baseline can be in, as error messages list them.
pub const ACCEPTED_FORMATS: &str = "nmap XML (nmap -oX), a Nessus v2 export (.nessus), \
     a scanwatch session log, or a list of host:port lines (as naabu or masscan -oL print them)";

/// Which kind of file a baseline was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaselineFormat {
    /// nmap's XML output (`-oX`), including one cut short by an aborted scan.
    NmapXml,
    /// A Nessus v2 export (`.nessus`): open ports as its port scanners reported them.
    Nessus,
    /// One open port per line: `127.0.0.1:80`, `[::1]:443`, `127.0.0.1 80`, naabu's `-json`
    /// lines or masscan's `-oL` lines.
    HostPortList,
    /// A scanwatch session log.
    Session,
}

impl BaselineFormat {
    /// The format's name as messages and reports show it.
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineFormat::NmapXml => "nmap XML",
            BaselineFormat::Nessus => "Nessus v2",
            BaselineFormat::HostPortList => "host:port list",
            BaselineFormat::Session => "scanwatch session log",
        }
    }
}

impl fmt::Display for BaselineFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A previous scan's results: which hosts it covered and which TCP ports it saw open.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub format: BaselineFormat,
    /// Hosts in the baseline (every host it names, including ones with no open port), in file order.
    pub hosts: Vec<BaselineHost>,
    /// The ports the original scan covered, when the file says (nmap `scaninfo services`, a session's plan); used by `--full`.
    pub scanned_ports: Option<Vec<u16>>,
    /// What was noticed without failing (e.g. "the XML ends before `</nmaprun>`: an aborted scan; read up to host 12"), shown to the user.
    pub notes: Vec<String>,
}

impl Baseline {
    /// Open ports over all hosts.
    pub fn open_count(&self) -> usize {
        self.hosts.iter().map(|h| h.open.len()).sum()
    }

    /// The host with this address.
    pub fn host(&self, addr: IpAddr) -> Option<&BaselineHost> {
        self.hosts.iter().find(|h| h.addr == addr)
    }
}

/// One host of a baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineHost {
    pub addr: std::net::IpAddr,
    /// Host names the file gives for it (nmap `hostnames`, Nessus `host-fqdn`).
    pub names: Vec<String>,
    /// TCP ports the baseline saw open.
    pub open: std::collections::BTreeSet<u16>,
}

/// Reads a baseline file, detecting its format from the content (not the extension). Errors are `Failure::usage` (exit 2) naming the file and, for XML, the line and column.
pub fn read_baseline(path: &std::path::Path) -> Result<Baseline, crate::error::Failure> {
    let shown = path.display().to_string();
    let cannot_read = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Failure::usage(format!("baseline {shown} does not exist")),
        _ => Failure::usage(format!("cannot read baseline {shown}: {e}")),
    };
    let file = File::open(path).map_err(cannot_read)?;
    let metadata = file.metadata().map_err(cannot_read)?;
    if metadata.is_dir() {
        return Err(Failure::usage(format!(
            "{shown} is a directory; give a baseline file: {ACCEPTED_FORMATS}"
        )));
    }
    let mut input = BufReader::with_capacity(64 * 1024, file);
    // A session log is streamed: it can be far larger than the results it holds.
    let start = input.fill_buf().map_err(cannot_read)?;
    if session::looks_like_session(first_line(start)) {
        return session::read(input, &shown);
    }
    // Refused from its first bytes or its size, before it is read into memory.
    if let Some(why) = binary_start(start) {
        return Err(unknown_format(&shown, why));
    }
    if metadata.len() > MAX_BASELINE_BYTES {
        return Err(too_large(&shown));
    }
    let mut bytes = Vec::new();
    input
        .take(MAX_BASELINE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_BASELINE_BYTES {
        return Err(too_large(&shown));
    }
    let (text, note) = utf8_text(bytes, &shown)?;
    let mut baseline = parse_baseline(&text, &shown)?;
    if let Some(note) = note {
        baseline.notes.insert(0, note);
    }
    Ok(baseline)
}

/// The same from text already read (for tests and fuzzing); `name` is used in messages.
pub fn parse_baseline(text: &str, name: &str) -> Result<Baseline, crate::error::Failure> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let start = text.trim_start();
    if start.is_empty() {
        return Err(Failure::usage(format!(
            "baseline {name} is empty; give {ACCEPTED_FORMATS}"
        )));
    }
    if text.as_bytes().contains(&0) {
        return Err(unknown_format(name, "it holds binary data, not text"));
    }
    if session::looks_like_session(first_line(text.as_bytes())) {
        return session::read(text.as_bytes(), name);
    }
    if start.starts_with('<') {
        return xml::read(text, name);
    }
    list::read(text, name)
}

/// The error for content that is none of the formats.
fn unknown_format(name: &str, why: &str) -> Failure {
    Failure::usage(format!(
        "{name} is not a baseline scanwatch can read ({why}); give {ACCEPTED_FORMATS}"
    ))
}

/// Why a file starting with `start` cannot be a baseline (every format is text): gzip, or
/// binary data (a NUL byte).
fn binary_start(start: &[u8]) -> Option<&'static str> {
    if start.starts_with(&[0x1f, 0x8b]) {
        Some("it is gzip-compressed; decompress it first")
    } else if start.contains(&0) {
        Some("it holds binary data, not text")
    } else {
        None
    }
}

/// The message for a baseline above [`MAX_BASELINE_BYTES`] (a session log is streamed instead).
fn too_large(shown: &str) -> Failure {
    Failure::usage(format!(
        "baseline {shown} is larger than {} MiB, more than scanwatch reads as a baseline; \
         split the scan's hosts over several files",
        MAX_BASELINE_BYTES >> 20
    ))
}

/// The first line of `bytes`, without its line end.
fn first_line(bytes: &[u8]) -> &[u8] {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(bytes);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The file's bytes as text. A last character cut in the middle (a file cut at any byte) is left
/// out; bytes elsewhere that are not UTF-8 are replaced (addresses and ports are ASCII, so the
/// baseline does not change) and a note says where the first one was.
fn utf8_text(bytes: Vec<u8>, name: &str) -> Result<(String, Option<String>), Failure> {
    let error = match String::from_utf8(bytes) {
        Ok(text) => return Ok((text, None)),
        Err(e) => e,
    };
    let utf8 = error.utf8_error();
    let valid = utf8.valid_up_to();
    let mut bytes = error.into_bytes();
    if utf8.error_len().is_none() {
        // Only the last character is incomplete: the file was cut inside it.
        bytes.truncate(valid);
        let text = String::from_utf8(bytes).unwrap_or_default();
        return Ok((text, None));
    }
    if bytes.first() == Some(&0x1f) && bytes.get(1) == Some(&0x8b) {
        return Err(unknown_format(
            name,
            "it is gzip-compressed; decompress it first",
        ));
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let before = String::from_utf8_lossy(bytes.get(..valid).unwrap_or_default());
    let (line, column) = line_col(&before, before.len());
    Ok((
        text,
        Some(format!(
            "{name}:{line}:{column}: the file is not all UTF-8 text; bytes that are not were replaced \
             with U+FFFD (addresses and ports are unaffected)"
        )),
    ))
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (line, column)
}

/// Text from the file as messages show it: one printable line, at most `max` characters.
fn shown(text: &str, max: usize) -> String {
    crate::banner::display(text.as_bytes(), max)
}

/// Hosts in file order, one entry per address: a repeated address adds its names and open
/// ports to the first entry.
#[derive(Debug, Default)]
struct HostList {
    hosts: Vec<BaselineHost>,
    index: HashMap<IpAddr, usize>,
    /// Addresses that came more than once.
    repeated: BTreeSet<IpAddr>,
}

impl HostList {
    /// The entry for `addr`, made at the end of the list if it is new.
    fn entry(&mut self, addr: IpAddr) -> &mut BaselineHost {
        let at = match self.index.get(&addr) {
            Some(&at) => {
                self.repeated.insert(addr);
                at
            }
            None => {
                let at = self.hosts.len();
                self.index.insert(addr, at);
                self.hosts.push(BaselineHost {
                    addr,
                    names: Vec::new(),
                    open: BTreeSet::new(),
                });
                at
            }
        };
        // Every index in `index` is a position in `hosts`.
        &mut self.hosts[at]
    }

    /// Adds a host with its names and open ports (merged into the first entry of its address).
    fn add(&mut self, addr: IpAddr, names: Vec<String>, open: impl IntoIterator<Item = u16>) {
        let host = self.entry(addr);
        for name in names {
            add_name(&mut host.names, name);
        }
        host.open.extend(open);
    }

    fn len(&self) -> usize {
        self.hosts.len()
    }
}

/// Adds a host name unless it is empty or already there.
fn add_name(names: &mut Vec<String>, name: String) {
    let name = name.trim();
    if !name.is_empty() && !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

/// A few addresses for a note: `127.0.0.1, 127.0.0.2 and 3 more`.
fn some_addrs<'a>(addrs: impl IntoIterator<Item = &'a IpAddr>, total: usize) -> String {
    const SHOWN: usize = 3;
    let listed: Vec<String> = addrs
        .into_iter()
        .take(SHOWN)
        .map(|a| a.to_string())
        .collect();
    let mut text = listed.join(", ");
    if total > listed.len() {
        text.push_str(&format!(" and {} more", total - listed.len()));
    }
    text
}

/// `1 host` / `3 hosts`.
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Parses a port list as scan tools write one: `22,80,1000-2000` (ports and inclusive ranges,
/// comma-separated, spaces ignored). Sorted and free of duplicates; the work is O(n log n) in
/// the number of items, however large the ranges.
fn parse_port_ranges(spec: &str) -> Result<Vec<u16>, String> {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for item in spec.split(',') {
        if let Some(range) = port_range_item(item)? {
            ranges.push(range);
        }
    }
    Ok(expand_ranges(ranges))
}

/// One item of a port list, `22` or `1000-2000`, as an inclusive range; `None` when empty.
fn port_range_item(item: &str) -> Result<Option<(u16, u16)>, String> {
    let item = item.trim();
    if item.is_empty() {
        return Ok(None);
    }
    let (low, high) = match item.split_once('-') {
        Some((low, high)) => (port_number(low)?, port_number(high)?),
        None => {
            let port = port_number(item)?;
            (port, port)
        }
    };
    if low > high {
        return Err(format!(
            "`{}`: a range runs from low to high",
            shown(item, 40)
        ));
    }
    Ok(Some((low, high)))
}

/// The ports of inclusive ranges, sorted and free of duplicates.
fn expand_ranges(mut ranges: Vec<(u16, u16)>) -> Vec<u16> {
    ranges.sort_unstable();
    let mut ports: Vec<u16> = Vec::new();
    // The next port not yet in `ports` (u32: one past 65535).
    let mut next: u32 = 0;
    for (low, high) in ranges {
        let from = next.max(u32::from(low));
        let to = u32::from(high);
        if from > to {
            continue;
        }
        ports.extend((from..=to).filter_map(|p| u16::try_from(p).ok()));
        next = to + 1;
    }
    ports
}

/// One port number, 0 to 65535.
fn port_number(text: &str) -> Result<u16, String> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{}` is not a port number", shown(text, 40)));
    }
    text.parse::<u16>()
        .map_err(|_| format!("`{}` is not a port number (0 to 65535)", shown(text, 40)))
}

#[cfg(test)]
mod tests;
