//! `scanwatch replay FILE...` and `scanwatch report FILE...`: recorded sessions read, merged,
//! and played in the live view or written as a report.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, UNIX_EPOCH};

use super::{Replay, SessionEvents, merge};
use crate::cli::{ReplayArgs, ReportArgs};
use crate::config;
use crate::detector::AlarmThresholds;
use crate::error::{EXIT_OK, Failure};
use crate::event::ScanEvent;
use crate::monitor::Monitor;
use crate::report::{ReportFile, ReportInput, ReportMeta, ScanKind, write_report};
use crate::session::{Session, SessionMode, read_session};
use crate::tui::{self, KeyMap, TuiOptions};

/// Recorded sessions read and merged into one stream of events.
pub struct Recording {
    /// The sessions read, for their headers, paths and notes (their events are in `events`).
    pub sessions: Vec<Session>,
    /// Every event of every session, on one clock (see `merge`).
    pub events: Vec<ScanEvent>,
    /// The detector's thresholds of the first session (the others are warned about if they
    /// differ).
    pub thresholds: AlarmThresholds,
    /// The first session's re-check, when it was one.
    pub recheck: Option<crate::recheck::Rechecker>,
}

impl Recording {
    /// Reads every file (each error names its file, exit 2) and merges them on their start
    /// times. What the reader noticed without failing (a cut last line) goes to stderr.
    pub fn read(files: &[std::path::PathBuf]) -> Result<Recording, Failure> {
        let mut sessions = Vec::with_capacity(files.len());
        for file in files {
            sessions.push(read_session(file)?);
        }
        let mut stderr = io::stderr();
        for session in &sessions {
            for note in &session.notes {
                let _ = writeln!(stderr, "scanwatch: note: {note}");
            }
        }
        let thresholds = sessions
            .first()
            .map(|s| s.header.thresholds)
            .unwrap_or_default();
        if sessions.iter().any(|s| s.header.thresholds != thresholds) {
            let _ = writeln!(
                stderr,
                "scanwatch: warning: the sessions were recorded with different [alarm] thresholds; the first file's apply"
            );
        }
        let earliest = sessions
            .iter()
            .map(|s| s.header.started_unix_us)
            .min()
            .unwrap_or(0);
        let logs = sessions
            .iter_mut()
            .map(|s| SessionEvents {
                start_offset_us: s.header.started_unix_us - earliest,
                // Moved, not copied: only the headers are needed from here on.
                events: std::mem::take(&mut s.events),
            })
            .collect();
        let recheck = sessions
            .first()
            .and_then(|s| s.header.recheck.as_ref())
            .map(crate::session::RecheckRecord::rechecker);
        Ok(Recording {
            recheck,
            events: merge(logs),
            sessions,
            thresholds,
        })
    }

    /// What a report says about the recorded scan: its start time, command line, targets and
    /// kind, from the first (earliest) session's header.
    pub fn report_meta(&self, state: &crate::state::ScanState) -> ReportMeta {
        let first = self
            .sessions
            .iter()
            .min_by_key(|s| s.header.started_unix_us);
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
        for session in &self.sessions {
            for t in &session.header.targets {
                if !targets.contains(t) {
                    targets.push(t.clone());
                }
            }
        }
        meta.targets = targets;
        meta.version = header.scanwatch.clone();
        meta
    }

    /// The whole recording folded: the state the live run ended with.
    pub fn final_state(&self) -> crate::state::ScanState {
        let mut monitor = Monitor::for_scan(self.thresholds, self.recheck.clone());
        for event in &self.events {
            monitor.apply_recorded(event);
        }
        monitor.into_state()
    }
}

/// `scanwatch replay`: the live view over the recording, or with `--headless` (or when stdout
/// is not a terminal) the summary of the whole recording.
pub async fn replay_command(args: &ReplayArgs) -> Result<i32, Failure> {
    let loaded = config::load(args.config.as_deref())?;
    let theme = tui::theme::resolve_loaded(args.theme.as_deref(), &loaded)?;
    let keymap = KeyMap::from_config(&loaded.config.keys)
        .map_err(|e| Failure::usage(format!("configuration: {e}")))?;
    let recording = Recording::read(&args.files)?;
    if args.headless || !io::stdout().is_terminal() {
        let state = recording.final_state();
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
    let mut targets = Vec::new();
    for session in &recording.sessions {
        targets.extend(session.header.targets.iter().cloned());
    }
    let names: Vec<String> = recording
        .sessions
        .iter()
        .filter_map(|s| s.path.file_name().map(|n| n.to_string_lossy().into_owned()))
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
    let recording = Recording::read(&args.files)?;
    let state = recording.final_state();
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
