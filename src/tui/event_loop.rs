//! The live view's loop: one `tokio::select!` over the terminal's events, the scan's events and
//! a frame tick.
//!
//! - Scan events are drained as soon as they arrive (`recv_many`), folded by the `Monitor` and
//!   written to the session log (one batch at a time), and the detector's sentinel requests and
//!   auto-throttling go straight back to the engine: the engine never waits on drawing.
//! - Keys go to `App::handle_key` at once.
//! - Frames are drawn on the tick only, and only when something changed or a second passed.
//! - The terminal is restored on every way out: quit, error, early return (a guard) and panic
//!   (the hook `ratatui::init` installs).

use std::io;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::TuiOptions;
use super::app::App;
use crate::engine::EngineControl;
use crate::error::Failure;
use crate::event::ScanEvent;
use crate::monitor::Monitor;
use crate::session::SessionWriter;
use crate::state::ScanState;

/// Longest time between two frames while nothing changes (the clock and notices move on).
const IDLE_REDRAW: Duration = Duration::from_secs(1);
/// Events taken from the channel at once.
const BATCH: usize = 4096;

/// How the live view ended.
#[derive(Debug)]
pub struct TuiOutcome {
    /// Everything the scan found, as in headless mode.
    pub state: ScanState,
    /// The user quit before the scan finished (the scan was stopped).
    pub quit_early: bool,
}

/// Restores the terminal when dropped, whichever way the loop ends (the replay view's too).
pub(super) struct RestoreTerminal;

impl Drop for RestoreTerminal {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the live view on the terminal until the user quits (or, with
/// `exit_when_finished`, until the scan has finished), then restores the terminal. The scan
/// is stopped when the user quits early; its remaining events are folded (and logged to
/// `session`) before returning.
pub async fn run(
    events: &mut mpsc::Receiver<ScanEvent>,
    control: &EngineControl,
    opts: &TuiOptions,
    session: Option<&mut SessionWriter>,
) -> Result<TuiOutcome, Failure> {
    let mut terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(e) => {
            ratatui::restore();
            control.stop();
            return Err(Failure::runtime(format!(
                "cannot open the live view on this terminal: {e} (try --headless)"
            )));
        }
    };
    let restore = RestoreTerminal;
    let outcome = run_loop(
        &mut terminal,
        EventStream::new(),
        events,
        control,
        opts,
        session,
    )
    .await;
    drop(restore);
    if outcome.is_err() {
        control.stop();
    }
    outcome
}

/// The loop itself, on any backend and any stream of terminal events (tests drive it with a
/// `TestBackend` and scripted keys). Every event goes to `session` too, when there is one.
pub async fn run_loop<B, S>(
    terminal: &mut Terminal<B>,
    mut input: S,
    events: &mut mpsc::Receiver<ScanEvent>,
    control: &EngineControl,
    opts: &TuiOptions,
    mut session: Option<&mut SessionWriter>,
) -> Result<TuiOutcome, Failure>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    let mut monitor = Monitor::for_scan(opts.thresholds, opts.recheck.clone());
    let mut app = App::new(opts, Some(control.clone()));
    let fps = opts.fps.clamp(1, 240);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / fps);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut batch = Vec::with_capacity(BATCH);
    let mut scan_open = true;
    let mut input_open = true;
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    // When the session log's buffered lines are due, if no batch comes before.
    let mut log_due: Option<Instant> = None;

    loop {
        tokio::select! {
            n = events.recv_many(&mut batch, BATCH), if scan_open => {
                if n == 0 {
                    scan_open = false;
                } else {
                    for event in batch.drain(..) {
                        monitor.apply(&event);
                        if let Some(session) = session.as_deref_mut() {
                            session.event(&event);
                        }
                    }
                    monitor.forward_requests(control);
                    if let Some(session) = session.as_deref_mut() {
                        log_due = session.end_batch(&monitor.state().alarms, log_due);
                        if let Some(message) = session.new_failure() {
                            app.session_failed = true;
                            app.notify(message);
                        }
                    }
                    app.auto_throttle_for_new_alarms(monitor.state());
                }
                dirty = true;
            }
            next = input.next(), if input_open => {
                match next {
                    Some(Ok(Event::Key(key))) => app.handle_key(&key, monitor.state()),
                    Some(Ok(Event::Resize(..))) => {}
                    Some(Ok(_)) => continue,
                    // The terminal is gone: nobody can press quit any more.
                    Some(Err(_)) | None => input_open = false,
                }
                dirty = true;
            }
            _ = crate::headless::sleep_until_due(log_due), if log_due.is_some() => {
                log_due = None;
                if let Some(session) = session.as_deref_mut() {
                    session.flush();
                }
                continue;
            }
            _ = tick.tick() => {
                let now = Instant::now();
                app.refresh_index(monitor.state(), now.into_std(), false);
                let had_notice = app.notice.is_some();
                app.expire_notice(now.into_std());
                dirty |= had_notice && app.notice.is_none();
                let idle = last_draw.is_none_or(|t| now.duration_since(t) >= IDLE_REDRAW);
                if dirty || idle {
                    draw(terminal, &app, monitor.state())?;
                    dirty = false;
                    last_draw = Some(now);
                }
            }
        }
        if app.quit {
            break;
        }
        // Stopped from outside (a signal): leave as if the user quit.
        if control.is_stopped() && scan_open {
            app.quit = true;
            break;
        }
        if !scan_open && (opts.exit_when_finished || !input_open || control.is_stopped()) {
            app.refresh_index(monitor.state(), Instant::now().into_std(), true);
            draw(terminal, &app, monitor.state())?;
            break;
        }
    }

    let quit_early = monitor.state().finished.is_none();
    if scan_open {
        control.stop();
        while let Some(event) = events.recv().await {
            monitor.apply(&event);
            if let Some(session) = session.as_deref_mut() {
                session.event(&event);
            }
        }
        if let Some(session) = session {
            session.alarms(&monitor.state().alarms);
            session.flush();
        }
    }
    Ok(TuiOutcome {
        state: monitor.into_state(),
        quit_early,
    })
}

/// Draws one frame of the panes (the replay view's too).
pub(super) fn draw<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &App,
    state: &ScanState,
) -> Result<(), Failure> {
    terminal
        .draw(|frame| super::render::draw(frame, app, state))
        .map(|_| ())
        .map_err(|e| Failure::runtime(format!("cannot draw the live view: {e}")))
}
