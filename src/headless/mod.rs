//! Headless mode: the scan without the live view. Progress on stderr, results on stdout as an
//! nmap-like text summary or, with `--json`, as JSON Lines.

pub mod jsonl;
pub mod progress;
pub mod text;

use std::io::{self, Write};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::detector::{Alarm, AlarmThresholds};
use crate::engine::EngineControl;
use crate::error::Failure;
use crate::event::ScanEvent;
use crate::monitor::Monitor;
use crate::session::SessionWriter;
use crate::state::ScanState;
use crate::throttle;
use jsonl::{Line, ParamsOut, ProbeOut};
use progress::ProgressMeter;

/// How the headless printer writes.
#[derive(Debug, Clone, Default)]
pub struct HeadlessOptions {
    /// JSON Lines on stdout instead of the text summary.
    pub json: bool,
    /// Progress lines on stderr.
    pub progress: bool,
    /// Rewrite one progress line in place (stderr is a terminal) instead of printing a line each time.
    pub progress_in_place: bool,
    /// The targets as the user gave them (for the JSON start line).
    pub targets: Vec<String>,
    /// Problems found before the scan that did not stop it (JSON `error` lines after `start`).
    pub notes: Vec<String>,
    /// When the detector raises its alarms (the config file's `[alarm]` section).
    pub thresholds: AlarmThresholds,
    /// The re-check of a baseline, when this scan is one.
    pub recheck: Option<crate::recheck::Rechecker>,
    /// Halve the pace when a RATE or QOS alarm is raised (see `throttle`).
    pub auto_throttle: bool,
    /// How long open ports are read after the handshake, when the prober reads them (JSON
    /// `start` line); `None` when it does not say (the simulated network).
    pub banner_wait: Option<Duration>,
}

impl HeadlessOptions {
    fn progress_every(&self) -> Duration {
        if self.progress_in_place {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(2)
        }
    }
}

/// Drains the engine's events into a `Monitor` until the scan finishes, printing as it goes,
/// and writes every event to `session` when there is one (a write failure is a warning on
/// `err`, once; the caller reports it again when it finishes the log).
///
/// Output that cannot be written (a closed pipe) stops the scan; other write errors are runtime
/// failures.
/// The results could not be written (not a closed pipe, which just ends the scan): the error,
/// and the scan's state as far as it went, for the report and the session log.
#[derive(Debug)]
pub struct OutputFailed {
    pub state: ScanState,
    pub error: Failure,
}

pub async fn run<W: Write, E: Write>(
    events: &mut mpsc::Receiver<ScanEvent>,
    control: &EngineControl,
    opts: &HeadlessOptions,
    out: &mut W,
    err: &mut E,
    mut session: Option<&mut SessionWriter>,
) -> Result<ScanState, OutputFailed> {
    let mut printer = Printer {
        monitor: Monitor::for_scan(opts.thresholds, opts.recheck.clone()),
        opts,
        meter: ProgressMeter::default(),
        started: Instant::now(),
        progress_shown: false,
        alarms_shown: 0,
    };
    let mut tick = tokio::time::interval(opts.progress_every());
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.reset();
    let mut batch = Vec::with_capacity(4096);
    // When the session log's buffered lines are due, if no batch comes before.
    let mut log_due: Option<Instant> = None;
    loop {
        tokio::select! {
            n = events.recv_many(&mut batch, 4096) => {
                if n == 0 {
                    break;
                }
                let mut failed = None;
                for event in batch.drain(..) {
                    printer.monitor.apply(&event);
                    if let Some(session) = session.as_deref_mut() {
                        session.event(&event);
                    }
                    if failed.is_none()
                        && let Err(e) = printer.event_line(&event, out)
                    {
                        failed = Some(e);
                    }
                }
                printer.monitor.forward_requests(control);
                if let Some(session) = session.as_deref_mut() {
                    log_due = session.end_batch(&printer.monitor.state().alarms, log_due);
                    if let Some(message) = session.new_failure() {
                        let _ = writeln!(err, "scanwatch: warning: {message}");
                    }
                }
                if let Some(e) = failed {
                    return printer.output_failed(e, control, events, session, err).await;
                }
                if let Err(e) = printer.new_alarms(control, out, err) {
                    return printer.output_failed(e, control, events, session, err).await;
                }
            }
            _ = tick.tick() => {
                if let Err(e) = printer.progress(out, err) {
                    return printer.output_failed(e, control, events, session, err).await;
                }
            }
            _ = sleep_until_due(log_due), if log_due.is_some() => {
                log_due = None;
                if let Some(session) = session.as_deref_mut() {
                    session.flush();
                }
            }
        }
    }
    printer.clear_progress(err);
    if let Err(e) = printer.finish(out) {
        return printer
            .output_failed(e, control, events, session, err)
            .await;
    }
    Ok(printer.monitor.into_state())
}

/// Sleeps until `due` (never resolves without one).
pub(crate) async fn sleep_until_due(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

struct Printer<'a> {
    monitor: Monitor,
    opts: &'a HeadlessOptions,
    meter: ProgressMeter,
    started: Instant,
    progress_shown: bool,
    /// Alarms already announced.
    alarms_shown: usize,
}

impl Printer<'_> {
    fn event_line<W: Write>(&mut self, event: &ScanEvent, out: &mut W) -> io::Result<()> {
        if !self.opts.json {
            return Ok(());
        }
        let line = match event {
            ScanEvent::Started {
                hosts,
                ports_per_host,
                probes,
                params,
                seed,
            } => Line::Start {
                format: jsonl::FORMAT,
                version: jsonl::VERSION,
                scanwatch: env!("CARGO_PKG_VERSION"),
                targets: &self.opts.targets,
                seed: *seed,
                hosts: *hosts,
                ports_per_host: *ports_per_host,
                probes: *probes,
                params: ParamsOut::from(params),
                banner_wait_ms: self.opts.banner_wait.map(|d| d.as_millis() as u64),
            },
            ScanEvent::Probe(r) => Line::Probe(ProbeOut::from(r)),
            ScanEvent::LocalError(r) => Line::LocalError(ProbeOut::from(r)),
            ScanEvent::Sentinel(r) => Line::Sentinel(ProbeOut::from(r)),
            ScanEvent::ParamsChanged { params, t_us } => Line::Params {
                t_us: *t_us,
                params: ParamsOut::from(params),
            },
            _ => return Ok(()),
        };
        write_json(out, &line)?;
        if matches!(event, ScanEvent::Started { .. }) {
            for note in &self.opts.notes {
                write_json(
                    out,
                    &Line::Error {
                        message: note.clone(),
                    },
                )?;
            }
        }
        Ok(())
    }

    /// Announces alarms the moment they are raised: a line on stderr, an `alarm` line in JSON;
    /// with auto-throttling, slows the scan down for those that call for it.
    fn new_alarms<W: Write, E: Write>(
        &mut self,
        control: &EngineControl,
        out: &mut W,
        err: &mut E,
    ) -> io::Result<()> {
        let alarms = &self.monitor.state().alarms;
        let raised: Vec<Alarm> = alarms[self.alarms_shown.min(alarms.len())..].to_vec();
        self.alarms_shown = alarms.len();
        for alarm in &raised {
            if self.progress_shown {
                let _ = write!(err, "\r\x1b[K");
            }
            let _ = writeln!(err, "ALARM {}", alarm.line());
            if self.opts.json {
                write_json(out, &Line::Alarm(jsonl::AlarmOut::from(alarm)))?;
            }
            if self.opts.auto_throttle {
                throttle_for(alarm, control, self.opts.json, out, err)?;
            }
        }
        Ok(())
    }

    fn progress<W: Write, E: Write>(&mut self, out: &mut W, err: &mut E) -> io::Result<()> {
        let now_us = self.started.elapsed().as_micros() as u64;
        let p = self.meter.read(self.monitor.state(), now_us);
        if self.opts.json {
            write_json(
                out,
                &Line::Progress {
                    t_us: now_us,
                    done: p.done,
                    total: p.total,
                    rate: (p.rate * 10.0).round() / 10.0,
                    eta_s: p.eta_s.map(|e| e.round()),
                },
            )?;
            out.flush()?;
        }
        if self.opts.progress {
            let line = progress::format_line(&p, self.monitor.state());
            // Progress is best effort: a closed stderr must not end the scan.
            let _ = if self.opts.progress_in_place {
                self.progress_shown = true;
                write!(err, "\r\x1b[K{line}").and_then(|_| err.flush())
            } else {
                writeln!(err, "{line}")
            };
        }
        Ok(())
    }

    fn clear_progress<E: Write>(&mut self, err: &mut E) {
        if self.progress_shown {
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }

    fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        let state = self.monitor.state();
        if self.opts.json {
            write_json(out, &Line::Summary(Box::new(jsonl::summary(state))))?;
        } else {
            out.write_all(text::summary(state).as_bytes())?;
        }
        out.flush()
    }

    /// Stops the scan and drains it (into the session log too) when stdout went away.
    async fn output_failed<E: Write>(
        self,
        e: io::Error,
        control: &EngineControl,
        events: &mut mpsc::Receiver<ScanEvent>,
        mut session: Option<&mut SessionWriter>,
        err: &mut E,
    ) -> Result<ScanState, OutputFailed> {
        control.stop();
        let mut monitor = self.monitor;
        while let Some(event) = events.recv().await {
            monitor.apply(&event);
            if let Some(session) = session.as_deref_mut() {
                session.event(&event);
            }
        }
        if let Some(session) = session {
            session.alarms(&monitor.state().alarms);
            session.flush();
            if let Some(message) = session.new_failure() {
                let _ = writeln!(err, "scanwatch: warning: {message}");
            }
        }
        if e.kind() == io::ErrorKind::BrokenPipe {
            Ok(monitor.into_state())
        } else {
            Err(OutputFailed {
                state: monitor.into_state(),
                error: Failure::runtime(format!("cannot write the results: {e}")),
            })
        }
    }
}

/// Applies auto-throttling for one newly raised alarm and says what changed: a `THROTTLE` line
/// on stderr, a `throttle` line in JSON.
fn throttle_for<W: Write, E: Write>(
    alarm: &Alarm,
    control: &EngineControl,
    json: bool,
    out: &mut W,
    err: &mut E,
) -> io::Result<()> {
    let from = control.params();
    let Some(next) = throttle::decide(alarm, from) else {
        return Ok(());
    };
    let to = control.set_pace(next.concurrency, next.rate);
    if to == from {
        return Ok(());
    }
    let _ = writeln!(err, "THROTTLE {}", throttle::describe(alarm, &from, &to));
    if json {
        write_json(
            out,
            &Line::Throttle {
                t_us: alarm.raised_us,
                alarm: alarm.kind.as_str(),
                scope: alarm.scope.to_string(),
                from: ParamsOut::from(&from),
                to: ParamsOut::from(&to),
            },
        )?;
    }
    Ok(())
}

fn write_json<W: Write, T: serde::Serialize>(out: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
