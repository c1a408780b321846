//! `SessionWriter`: the log written while the scan runs.
//!
//! Lines are encoded into a reusable buffer on the caller's thread and handed over in batches
//! to tracing-appender's non-blocking writer, built with `lossy(false)`: when its queue is full
//! the caller waits rather than a line being dropped. A thread of its own writes each batch with
//! one `write` call. Batches go over when [`HANDOVER_BYTES`] are buffered or the oldest buffered
//! line is [`HANDOVER_EVERY`] old, and at once when an alarm is logged: waking the writer
//! thread for every few events would cost more than the scan can spare (see
//! `benches/session_log.sh`). So a scan killed with SIGKILL leaves every line older than that in
//! the file (at worst the last line is cut, which the reader accepts).
//!
//! The header line is written synchronously when the log is created, so a path that cannot be
//! written fails before the scan starts. After that, the first write error (a full disk) stops
//! the writing (no partial lines in the middle of the log) and is reported: by
//! [`SessionWriter::new_failure`] while the scan runs and by [`SessionWriter::finish`] at the
//! end. Finishing (or dropping the writer, as a panic unwinding does) writes an `end` line and
//! waits until every line handed over is in the file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};

use super::codec::{self, HostAddrs};
use super::{AlarmChange, EndReason, SessionEnd, SessionHeader, paths};
use crate::detector::Alarm;
use crate::event::ScanEvent;
use crate::state::OutcomeCounts;

/// Buffered bytes at which [`SessionWriter::end_batch`] hands them over.
pub const HANDOVER_BYTES: usize = 64 * 1024;
/// The longest a line waits in the buffer when the caller ends its batches (or flushes on a
/// timer, as the views' loops do).
pub const HANDOVER_EVERY: Duration = Duration::from_millis(50);
/// Buffered bytes at which lines are handed over at once, whatever the caller does.
const FLUSH_AT: usize = 256 * 1024;
/// How long closing waits for the writer thread when it makes no progress at all.
const STALL_LIMIT: Duration = Duration::from_secs(10);

/// What the writer thread has done, shared with the writer.
#[derive(Debug, Default)]
struct Progress {
    /// Bytes the thread has dealt with: written, or skipped after a failure.
    done_bytes: AtomicU64,
    /// Complete lines in the file.
    written_lines: AtomicU64,
    failed: AtomicBool,
    error: Mutex<Option<String>>,
}

impl Progress {
    fn fail(&self, message: String) {
        let mut error = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        if error.is_none() {
            *error = Some(message);
        }
        self.failed.store(true, Ordering::SeqCst);
    }

    fn error(&self) -> Option<String> {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The file as the writer thread sees it: records the first error instead of losing it, and
/// writes nothing after it.
struct LogFile<W> {
    out: W,
    progress: Arc<Progress>,
}

impl<W: Write> Write for LogFile<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() && !self.progress.failed.load(Ordering::SeqCst) {
            match self.out.write(rest) {
                Ok(0) => self
                    .progress
                    .fail(io::Error::from(io::ErrorKind::WriteZero).to_string()),
                Ok(n) => {
                    let lines = rest[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                    self.progress
                        .written_lines
                        .fetch_add(lines, Ordering::SeqCst);
                    rest = &rest[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.progress.fail(e.to_string()),
            }
        }
        self.progress
            .done_bytes
            .fetch_add(buf.len() as u64, Ordering::SeqCst);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Err(e) = self.out.flush() {
            self.progress.fail(e.to_string());
        }
        Ok(())
    }
}

/// A finished log: where, and how much of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub path: PathBuf,
    pub lines: u64,
    pub bytes: u64,
}

/// Writes one session log; see the module documentation.
pub struct SessionWriter {
    path: PathBuf,
    out: NonBlocking,
    guard: Option<WorkerGuard>,
    progress: Arc<Progress>,
    /// Another handle on the file, to read its size when the log is finished.
    file: Option<File>,
    buf: Vec<u8>,
    /// When the oldest line in `buf` was added.
    pending_since: Option<Instant>,
    bytes_sent: u64,
    lines_sent: u64,
    hosts: HostAddrs,
    /// When each alarm logged so far was cleared, as logged.
    alarms: Vec<Option<u64>>,
    counts: OutcomeCounts,
    events: u64,
    last_t_us: u64,
    failure_reported: bool,
    closed: bool,
}

impl std::fmt::Debug for SessionWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionWriter")
            .field("path", &self.path)
            .field("lines_sent", &self.lines_sent)
            .finish_non_exhaustive()
    }
}

impl SessionWriter {
    /// Creates (or empties) the log at `path`, mode 0600, with its parent directories, and
    /// writes the header.
    pub fn create(path: &Path, header: &SessionHeader) -> io::Result<SessionWriter> {
        let file = paths::create_at(path)?;
        Self::over_file(path.to_path_buf(), file, header)
    }

    /// Creates a new log named `name` in `dir` (see [`paths::create_unique`]) and writes the
    /// header.
    pub fn create_in(dir: &Path, name: &str, header: &SessionHeader) -> io::Result<SessionWriter> {
        let (path, file) = paths::create_unique(dir, name)?;
        Self::over_file(path, file, header)
    }

    fn over_file(path: PathBuf, file: File, header: &SessionHeader) -> io::Result<SessionWriter> {
        let handle = file.try_clone().ok();
        let mut writer = Self::from_writer(path, file, header)?;
        writer.file = handle;
        Ok(writer)
    }

    /// A log written to any `sink` (`path` only names it in messages). The header is written
    /// before this returns; an error writing it is returned.
    pub fn from_writer<W: Write + Send + 'static>(
        path: PathBuf,
        mut sink: W,
        header: &SessionHeader,
    ) -> io::Result<SessionWriter> {
        let mut line = serde_json::to_vec(header)?;
        line.push(b'\n');
        sink.write_all(&line)?;
        sink.flush()?;
        let progress = Arc::new(Progress::default());
        progress.written_lines.store(1, Ordering::SeqCst);
        let (out, guard) = NonBlockingBuilder::default()
            .lossy(false)
            .thread_name("scanwatch-session")
            .finish(LogFile {
                out: sink,
                progress: Arc::clone(&progress),
            });
        Ok(SessionWriter {
            path,
            out,
            guard: Some(guard),
            progress,
            file: None,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            pending_since: None,
            bytes_sent: 0,
            lines_sent: 1,
            hosts: HostAddrs::default(),
            alarms: Vec::new(),
            counts: OutcomeCounts::default(),
            events: 0,
            last_t_us: 0,
            failure_reported: false,
            closed: false,
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file name alone, for the status bar.
    pub fn file_name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// Lines handed over so far (the header included).
    pub fn lines(&self) -> u64 {
        self.lines_sent
    }

    /// Records one event (buffered until [`end_batch`](Self::end_batch) or
    /// [`flush`](Self::flush) hands it over, or the buffer is large).
    pub fn event(&mut self, event: &ScanEvent) {
        self.mark_pending();
        codec::encode_event(&mut self.buf, event, &mut self.hosts);
        self.lines_sent += 1;
        self.events += 1;
        if let Some(t) = event.time_us() {
            self.last_t_us = self.last_t_us.max(t);
        }
        if let ScanEvent::Probe(r) = event {
            self.counts.add(r.outcome);
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn mark_pending(&mut self) {
        if self.pending_since.is_none() {
            self.pending_since = Some(Instant::now());
        }
    }

    /// Records the alarms raised and cleared since the last call, given the state's alarm list
    /// (alarms are only ever appended, and cleared in place). Lines are handed over at once
    /// when there is news.
    pub fn alarms(&mut self, alarms: &[Alarm]) {
        let before = self.lines_sent;
        for (i, alarm) in alarms.iter().enumerate() {
            match self.alarms.get_mut(i) {
                None => {
                    codec::encode_alarm(&mut self.buf, AlarmChange::Raised, alarm);
                    self.lines_sent += 1;
                    if alarm.cleared_us.is_some() {
                        codec::encode_alarm(&mut self.buf, AlarmChange::Cleared, alarm);
                        self.lines_sent += 1;
                    }
                    self.alarms.push(alarm.cleared_us);
                }
                Some(logged) if logged.is_none() && alarm.cleared_us.is_some() => {
                    codec::encode_alarm(&mut self.buf, AlarmChange::Cleared, alarm);
                    self.lines_sent += 1;
                    *logged = alarm.cleared_us;
                }
                Some(_) => {}
            }
        }
        if self.lines_sent != before {
            self.flush();
        }
    }

    /// Ends a batch of events: records the alarms it raised or cleared (`alarms`: every alarm
    /// of the scan so far), and hands the buffered lines over when there are
    /// [`HANDOVER_BYTES`] of them or the oldest is [`HANDOVER_EVERY`] old. Returns when the
    /// lines still buffered are due (`due` if it was set already, `None` when none wait): the
    /// caller then calls [`flush`](Self::flush) by then if no other batch comes.
    pub fn end_batch(
        &mut self,
        alarms: &[Alarm],
        due: Option<tokio::time::Instant>,
    ) -> Option<tokio::time::Instant> {
        self.alarms(alarms);
        if self.buf.len() >= HANDOVER_BYTES
            || self
                .pending_since
                .is_some_and(|t| t.elapsed() >= HANDOVER_EVERY)
        {
            self.flush();
        }
        (!self.buf.is_empty())
            .then(|| due.unwrap_or_else(|| tokio::time::Instant::now() + HANDOVER_EVERY))
    }

    /// Hands the buffered lines to the writer thread now (waiting, never dropping, when its
    /// queue is full).
    pub fn flush(&mut self) {
        self.pending_since = None;
        if self.buf.is_empty() {
            return;
        }
        if self.out.write_all(&self.buf).is_ok() {
            self.bytes_sent += self.buf.len() as u64;
        } else {
            self.progress
                .fail("the session log's writer thread has stopped".into());
        }
        self.buf.clear();
    }

    /// The write error, if one happened (the log holds every line before it).
    pub fn failure(&self) -> Option<String> {
        if !self.progress.failed.load(Ordering::Relaxed) {
            return None;
        }
        Some(self.failure_message())
    }

    /// [`failure`](Self::failure), the first time it is seen only: for a warning while the scan
    /// runs.
    pub fn new_failure(&mut self) -> Option<String> {
        if self.failure_reported {
            return None;
        }
        let message = self.failure()?;
        self.failure_reported = true;
        tracing::error!(path = %self.path.display(), "{message}");
        Some(message)
    }

    fn failure_message(&self) -> String {
        let error = self
            .progress
            .error()
            .unwrap_or_else(|| "unknown error".into());
        format!(
            "cannot write the session log {}: {error}; it holds the first {} lines only",
            self.path.display(),
            self.progress.written_lines.load(Ordering::SeqCst)
        )
    }

    /// Writes the `end` line and waits until every line is in the file (written, not synced to
    /// disk: the log survives the process, as any file does, not a power cut the moment after).
    /// Returns the log's size, or the write error (the log is complete up to the line it names).
    pub fn finish(
        mut self,
        reason: EndReason,
        message: Option<String>,
    ) -> Result<SessionSummary, String> {
        self.close(reason, message)
    }

    fn close(
        &mut self,
        reason: EndReason,
        message: Option<String>,
    ) -> Result<SessionSummary, String> {
        self.closed = true;
        let end = SessionEnd {
            reason,
            message,
            t_us: self.last_t_us,
            events: self.events,
            probes: self.counts.total(),
            open: self.counts.open,
            closed: self.counts.closed,
            filtered: self.counts.filtered(),
            not_scanned: self.counts.not_scanned,
            alarms: self.alarms.len() as u64,
        };
        codec::encode_end(&mut self.buf, &end);
        self.lines_sent += 1;
        self.flush();
        self.wait_written();
        // Stops the writer thread once its queue is empty (it is: see above).
        drop(self.guard.take());
        if self.progress.failed.load(Ordering::SeqCst) {
            let message = self.failure_message();
            tracing::error!(path = %self.path.display(), "{message}");
            return Err(message);
        }
        let bytes = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(self.bytes_sent, |m| m.len());
        Ok(SessionSummary {
            path: self.path.clone(),
            lines: self.progress.written_lines.load(Ordering::SeqCst),
            bytes,
        })
    }

    /// Waits until the writer thread has dealt with every byte handed over; gives up (as a
    /// write failure) when it makes no progress for [`STALL_LIMIT`].
    fn wait_written(&self) {
        let mut last = self.progress.done_bytes.load(Ordering::SeqCst);
        let mut since = Instant::now();
        while last < self.bytes_sent {
            std::thread::sleep(Duration::from_micros(200));
            let now = self.progress.done_bytes.load(Ordering::SeqCst);
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= STALL_LIMIT {
                self.progress.fail(format!(
                    "the file took no more data for {} s",
                    STALL_LIMIT.as_secs()
                ));
                return;
            }
        }
    }
}

impl Drop for SessionWriter {
    /// A writer dropped without [`finish`](SessionWriter::finish) (an error or a panic
    /// unwinding) still writes what it holds and an `end` line saying `aborted`.
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.close(EndReason::Aborted, None);
        }
    }
}
