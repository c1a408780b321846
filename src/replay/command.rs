//! `scanwatch replay FILE...` and `scanwatch report FILE...`: recorded sessions read, merged,
//! and played in the live view or written as a report.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, UNIX_EPOCH};

use std::path::PathBuf;

use super::{MergeStream, Replay};
use crate::cli::{ReplayArgs, ReportArgs};
use crate::config;
use crate::detector::AlarmThresholds;
use crate::error::{EXIT_OK, Failure};
use crate::event::ScanEvent;
use crate::monitor::Monitor;
use crate::report::{ReportFile, ReportInput, ReportMeta, ScanKind, write_report};
use crate::session::{Entry, SessionHeader, SessionMode, SessionReader};
use crate::tui::{self, KeyMap, TuiOptions};

/// Recorded sessions read and merged into one stream of events.
pub struct Recording {
    /// The logs read: their paths and headers.
    pub logs: Vec<RecordedLog>,
    /// Every event of every session, on one clock (see `merge`); empty when the recording was
    /// folded as it was read ([`Recording::fold`]).
    pub events: Vec<ScanEvent>,
    /// The detector's thresholds of the first session (the others are warned about if they
    /// differ).
    pub thresholds: AlarmThresholds,
    /// The first session's re-check, when it was one.
    pub recheck: Option<crate::recheck::Rechecker>,
}

/// One log of a recording.
pub struct RecordedLog {
    pub path: PathBuf,
    pub header: SessionHeader,
}

impl Recording {
    /// Reads every file (each error names its file, exit 2) and merges them on their start
    /// times, keeping every event (the live view's replay moves back and forth through them).
    /// What the reader noticed without failing (a cut last line) goes to stderr.
    pub fn read(files: &[PathBuf]) -> Result<Recording, Failure> {
        let (mut recording, mut readers) = Recording::open(files)?;
        recording.events = merged(&mut readers).collect::<Result<_, _>>()?;
        print_notes(&readers);
        Ok(recording)
    }

    /// Reads and merges every file as [`read`](Self::read) does, folding the events as they
    /// are read instead of keeping them: the state the live run ended with, in memory that does
    /// not grow with the length of the recording.
    pub fn fold(files: &[PathBuf]) -> Result<(Recording, crate::state::ScanState), Failure> {
        let (recording, mut readers) = Recording::open(files)?;
        let mut monitor = recording.monitor();
        for event in merged(&mut readers) {
            monitor.apply_recorded(&event?);
        }
        print_notes(&readers);
        Ok((recording, monitor.into_state()))
    }

    /// Opens every file and reads its header.
    fn open(files: &[PathBuf]) -> Result<(Recording, Vec<Reader>), Failure> {
        let mut readers = Vec::with_capacity(files.len());
        let mut logs = Vec::with_capacity(files.len());
        for file in files {
            let reader = SessionReader::open(file)?;
            logs.push(RecordedLog {
                path: file.clone(),
                header: reader.header().clone(),
            });
            readers.push(reader);
        }
        Ok((Recording::of_logs(logs), readers))
    }

    /// A recording of these logs, its events still to come: the first log's thresholds (with a
    /// warning when the others' differ) and re-check.
    pub fn of_logs(logs: Vec<RecordedLog>) -> Recording {
        let thresholds = logs
            .first()
            .map(|l| l.header.thresholds)
            .unwrap_or_default();
        if logs.iter().any(|l| l.header.thresholds != thresholds) {
            let _ = writeln!(
                io::stderr(),
                "scanwatch: warning: the sessions were recorded with different [alarm] thresholds; the first file's apply"
            );
        }
        let recheck = logs
            .first()
            .and_then(|l| l.header.recheck.as_ref())
            .map(crate::session::RecheckRecord::rechecker);
        Recording {
            logs,
            events: Vec::new(),
            thresholds,
            recheck,
        }
    }

    /// A monitor to fold the recording with: its thresholds and re-check.
    fn monitor(&self) -> Monitor {
        Monitor::for_scan(self.thresholds, self.recheck.clone())
    }

    /// What a report says about the recorded scan: its start time, command line, targets and
    /// kind, from the first (earliest) session's header.
    pub fn report_meta(&self, state: &crate::state::ScanState) -> ReportMeta {
        let first = self.logs.iter().min_by_key(|l| l.header.started_unix_us);
        let Some(first) = first else {
            return ReportMeta::new(UNIX_EPOCH, ScanKind::Connect);
        };
        let header = &first.header;
        let kind = match header.mode {
            SessionMode::Demo => ScanKind::Simulated,
            SessionMode::Scan | SessionMode::Recheck => ScanKind::Connect,
        };
        let started = UNIX_EPOCH + Duration::from_micros(header.started_unix_us);
        let mut meta = ReportMeta::new(started, kind);
        meta.ended = Some(started + Duration::from_micros(state.now_us));
        meta.args = header.args.clone();
        let mut targets: Vec<String> = Vec::new();
        for log in &self.logs {
            for t in &log.header.targets {
                if !targets.contains(t) {
                    targets.push(t.clone());
                }
            }
        }
        meta.targets = targets;
        meta.version = header.scanwatch.clone();
        meta
    }
}

type Reader = SessionReader<std::io::BufReader<std::fs::File>>;

/// The events of every log merged on one clock, read as they are taken (`MergeStream`).
fn merged(readers: &mut [Reader]) -> impl Iterator<Item = Result<ScanEvent, Failure>> + use<'_> {
    let earliest = readers
        .iter()
        .map(|r| r.header().started_unix_us)
        .min()
        .unwrap_or(0);
    let sources = readers
        .iter_mut()
        .map(|reader| {
            let offset = reader.header().started_unix_us - earliest;
            let events = reader.filter_map(|entry| match entry {
                Ok(Entry::Event(event)) => Some(Ok(event)),
                Ok(Entry::Alarm(_) | Entry::End(_)) => None,
                Err(e) => Some(Err(e)),
            });
            (offset, events)
        })
        .collect();
    MergeStream::new(sources)
}

/// What the readers noticed without failing (a cut last line), on stderr.
fn print_notes(readers: &[Reader]) {
    let mut stderr = io::stderr();
    for reader in readers {
        for note in reader.notes() {
            let _ = writeln!(stderr, "scanwatch: note: {note}");
        }
    }
}

/// `scanwatch replay`: the live view over the recording, or with `--headless` (or when stdout
/// is not a terminal) the summary of the whole recording.
pub async fn replay_command(args: &ReplayArgs) -> Result<i32, Failure> {
    let loaded = config::load(args.config.as_deref())?;
    let theme = tui::theme::resolve_loaded(args.theme.as_deref(), &loaded)?;
    let keymap = KeyMap::from_config(&loaded.config.keys)
        .map_err(|e| Failure::usage(format!("configuration: {e}")))?;
    if args.headless || !io::stdout().is_terminal() {
        let (_, state) = Recording::fold(&args.files)?;
        let mut stdout = io::stdout().lock();
        let written = stdout
            .write_all(crate::headless::text::summary(&state).as_bytes())
            .and_then(|_| stdout.flush());
        return match written {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                Err(Failure::runtime(format!("cannot write the summary: {e}")))
            }
            _ => Ok(EXIT_OK),
        };
    }
    let recording = Recording::read(&args.files)?;
    let mut targets = Vec::new();
    for log in &recording.logs {
        targets.extend(log.header.targets.iter().cloned());
    }
    let names: Vec<String> = recording
        .logs
        .iter()
        .filter_map(|l| l.path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let opts = TuiOptions {
        theme: theme.current().clone(),
        themes: theme.themes().to_vec(),
        keymap,
        fps: loaded.config.ui.fps,
        targets,
        thresholds: recording.thresholds,
        session: Some(names.join(" + ")),
        ..TuiOptions::default()
    };
    let mut replay = Replay::of_recheck(
        recording.events,
        recording.thresholds,
        recording.recheck.clone(),
    );
    replay.set_speed(args.speed);
    if args.paused {
        replay.toggle_pause();
    }
    tui::replay_view::run(replay, &opts).await?;
    Ok(EXIT_OK)
}

/// `scanwatch report`: the recording's report on stdout or in `--output`.
pub fn report_command(args: &ReportArgs) -> Result<i32, Failure> {
    let (recording, state) = Recording::fold(&args.files)?;
    let meta = recording.report_meta(&state);
    let input = ReportInput::new(&state, &meta);
    match &args.output {
        Some(path) => {
            let file = ReportFile::create(path, Some(args.format))
                .map_err(|e| Failure::usage(format!("--output: {e}")))?;
            file.write(&input).map_err(Failure::runtime)?;
        }
        None => {
            let mut stdout = io::BufWriter::new(io::stdout().lock());
            let written =
                write_report(args.format, &input, &mut stdout).and_then(|_| stdout.flush());
            if let Err(e) = written
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                return Err(Failure::runtime(format!("cannot write the report: {e}")));
            }
        }
    }
    Ok(EXIT_OK)
}
