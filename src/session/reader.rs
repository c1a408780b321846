//! Reading a session log back: [`SessionReader`] streams it, [`read_session`] reads it whole.
//!
//! A log cut at any byte (a scan killed mid-write, a partial copy) reads up to its last complete
//! line: a last line without its newline that does not parse is left out, and a note says so.
//! Everything else that is not a session log line is an error naming the file and the line.
//! Nothing here panics on any input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::codec::{self, HostAddrs};
use super::{AlarmRecord, Entry, FORMAT_NAME, FORMAT_VERSION, SessionEnd, SessionHeader};
use crate::error::Failure;
use crate::event::ScanEvent;
use crate::monitor::Monitor;

/// Longest line read: far beyond any line scanwatch writes (a header with a long command line
/// is the longest), small enough that a file of binary data without newlines is refused early.
const MAX_LINE: usize = 16 << 20;

/// Reads a session log line by line; see the module documentation.
///
/// ```no_run
/// use scanwatch::session::{Entry, SessionReader};
/// # fn main() -> Result<(), scanwatch::error::Failure> {
/// let mut reader = SessionReader::open(std::path::Path::new("scan.jsonl"))?;
/// let mut monitor = scanwatch::monitor::Monitor::with_thresholds(reader.header().thresholds);
/// for entry in &mut reader {
///     if let Entry::Event(event) = entry? {
///         monitor.apply(&event);
///     }
/// }
/// # Ok(()) }
/// ```
pub struct SessionReader<R = BufReader<File>> {
    input: R,
    /// The file as messages name it.
    name: String,
    header: SessionHeader,
    /// Lines read so far (the header is line 1).
    line_no: u64,
    buf: Vec<u8>,
    hosts: HostAddrs,
    notes: Vec<String>,
    done: bool,
}

impl SessionReader<BufReader<File>> {
    /// Opens the log at `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, Failure> {
        let shown = path.display();
        let cannot_read = |e: io::Error| match e.kind() {
            io::ErrorKind::NotFound => {
                Failure::usage(format!("session log {shown} does not exist"))
            }
            _ => Failure::usage(format!("cannot read session log {shown}: {e}")),
        };
        let file = File::open(path).map_err(cannot_read)?;
        if file.metadata().map_err(cannot_read)?.is_dir() {
            return Err(Failure::usage(format!(
                "{shown} is a directory; give the path of a session log (.jsonl)"
            )));
        }
        SessionReader::new(BufReader::with_capacity(64 * 1024, file), shown.to_string())
    }
}

impl<R: BufRead> SessionReader<R> {
    /// Reads the header from `input`; `name` names the log in messages.
    pub fn new(input: R, name: impl Into<String>) -> Result<Self, Failure> {
        let mut reader = SessionReader {
            input,
            name: name.into(),
            header: placeholder_header(),
            line_no: 0,
            buf: Vec::new(),
            hosts: HostAddrs::default(),
            notes: Vec::new(),
            done: false,
        };
        reader.header = reader.read_header()?;
        Ok(reader)
    }

    /// The header line.
    pub fn header(&self) -> &SessionHeader {
        &self.header
    }

    /// What the reader noticed without failing (a cut last line).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Lines read so far, the header included.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// Reads the next line into `buf` without its line end. `Some(true)` for a complete line,
    /// `Some(false)` for a last line without a newline, `None` at the end.
    fn next_raw(&mut self) -> Result<Option<bool>, Failure> {
        self.buf.clear();
        let n = (&mut self.input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Failure::usage(format!("cannot read session log {}: {e}", self.name)))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            return Ok(Some(true));
        }
        if self.buf.len() > MAX_LINE {
            return Err(self.error(format!(
                "a line longer than {} MiB: not a session log line",
                MAX_LINE >> 20
            )));
        }
        Ok(Some(false))
    }

    fn error(&self, message: String) -> Failure {
        Failure::usage(format!("{}:{}: {message}", self.name, self.line_no))
    }

    fn read_header(&mut self) -> Result<SessionHeader, Failure> {
        let name = self.name.clone();
        let not_a_log =
            |why: &str| Failure::usage(format!("{name} is not a scanwatch session log: {why}"));
        // A binary file is known from its first bytes, before a "line" of up to MAX_LINE bytes
        // is read from it.
        let start = self
            .input
            .fill_buf()
            .map_err(|e| Failure::usage(format!("cannot read session log {name}: {e}")))?;
        let first_line = start.split(|&b| b == b'\n').next().unwrap_or(start);
        if first_line.contains(&0) {
            return Err(not_a_log("it holds binary data, not text"));
        }
        let Some(complete) = self.next_raw()? else {
            return Err(Failure::usage(format!(
                "session log {name} is empty: the scan stopped before it started, or this is not a session log"
            )));
        };
        if self.buf.contains(&0) {
            return Err(not_a_log("it holds binary data, not text"));
        }
        let text = match std::str::from_utf8(&self.buf) {
            Ok(text) => text,
            // A cut inside the header's last character.
            Err(e) if !complete && e.error_len().is_none() => {
                return Err(cut_header(&name, self.buf.len()));
            }
            Err(_) => {
                return Err(not_a_log(
                    "it is not UTF-8 text (a binary or compressed file?)",
                ));
            }
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(_) if !complete => return Err(cut_header(&name, self.buf.len())),
            Err(_) => return Err(not_a_log("its first line is not a JSON session header")),
        };
        match value.get("format").and_then(Value::as_str) {
            Some(FORMAT_NAME) => {}
            Some(other) => {
                let other = crate::banner::display(other.as_bytes(), 40);
                return Err(not_a_log(&format!(
                    "its format is `{other}`, not `{FORMAT_NAME}`"
                )));
            }
            None => {
                return Err(not_a_log(&format!(
                    "its first line has no `\"format\":\"{FORMAT_NAME}\"`"
                )));
            }
        }
        let version = value.get("version").and_then(Value::as_u64);
        match version {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(Failure::usage(format!(
                    "session log {name} has format version {v}, which this scanwatch ({}) cannot read: it reads version {FORMAT_VERSION}",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            None => {
                return Err(Failure::usage(format!(
                    "{name}:1: the session header has no format version (a whole number)"
                )));
            }
        }
        serde_json::from_value(value)
            .map_err(|e| Failure::usage(format!("{name}:1: bad session header: {e}")))
    }

    /// The next line as an entry; `None` at the end (and after an error).
    fn next_entry(&mut self) -> Option<Result<Entry, Failure>> {
        while !self.done {
            let complete = match self.next_raw() {
                Ok(Some(complete)) => complete,
                Ok(None) => break,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            let parsed = match std::str::from_utf8(&self.buf) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => codec::decode_line(text, &mut self.hosts),
                Err(_) => Err("not UTF-8 text (binary data in the log)".to_string()),
            };
            match parsed {
                Ok(entry) => return Some(Ok(entry)),
                Err(_) if !complete => {
                    self.notes.push(format!(
                        "{}:{}: the last line is incomplete ({} bytes, no line end): the log was cut, e.g. the scan was killed; read up to line {}",
                        self.name,
                        self.line_no,
                        self.buf.len(),
                        self.line_no - 1
                    ));
                    break;
                }
                Err(message) => {
                    self.done = true;
                    return Some(Err(self.error(message)));
                }
            }
        }
        self.done = true;
        None
    }
}

impl<R: BufRead> Iterator for SessionReader<R> {
    type Item = Result<Entry, Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry()
    }
}

fn cut_header(name: &str, bytes: usize) -> Failure {
    Failure::usage(format!(
        "session log {name} ends inside its header line ({bytes} bytes, no line end): the scan stopped as the log was being created, or the file was cut"
    ))
}

/// Stands in for the header while the real one is read.
fn placeholder_header() -> SessionHeader {
    SessionHeader {
        format: String::new(),
        version: 0,
        scanwatch: String::new(),
        started_at: String::new(),
        started_unix_us: 0,
        mode: super::SessionMode::Scan,
        args: Vec::new(),
        targets: Vec::new(),
        scenario: None,
        params: super::ParamsRecord {
            concurrency: 0,
            max_per_host: 0,
            timeout_ns: 0,
            retries: 0,
            rate: None,
            paused: false,
        },
        seed: 0,
        thresholds: Default::default(),
        banner_wait_us: None,
        auto_throttle: false,
        shard: None,
        recheck: None,
    }
}

/// A whole session log in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub path: PathBuf,
    pub header: SessionHeader,
    /// Every event, in the order the `Monitor` folded them.
    pub events: Vec<ScanEvent>,
    /// The `alarm` lines (for reading; replay recomputes alarms from the events).
    pub alarms: Vec<AlarmRecord>,
    /// The `end` line, when the log was closed properly (not after SIGKILL or a power cut).
    pub end: Option<SessionEnd>,
    /// What the reader noticed without failing (a cut last line).
    pub notes: Vec<String>,
}

impl Session {
    /// Feeds every event to a fresh `Monitor` with the header's thresholds: the state and
    /// alarms of the live run, as far as the log goes.
    pub fn replay(&self) -> Monitor {
        let mut monitor = self.header.monitor();
        for event in &self.events {
            monitor.apply_recorded(event);
        }
        monitor
    }
}

/// Reads the whole log at `path`. Errors (exit code 2) name the file, and the line when one is
/// at fault: a missing or empty file, binary data, an unknown format or version, a line that is
/// not a session log line.
pub fn read_session(path: &Path) -> Result<Session, Failure> {
    let mut reader = SessionReader::open(path)?;
    let mut events = Vec::new();
    let mut alarms = Vec::new();
    let mut end = None;
    for entry in &mut reader {
        match entry? {
            Entry::Event(event) => events.push(event),
            Entry::Alarm(alarm) => alarms.push(alarm),
            Entry::End(e) => end = Some(e),
        }
    }
    Ok(Session {
        path: path.to_path_buf(),
        header: reader.header.clone(),
        events,
        alarms,
        end,
        notes: reader.notes,
    })
}
