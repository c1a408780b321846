//! The live view over a recorded session: the same panes, fed by the replay clock instead of a
//! running engine. Space plays or pauses, `-`/`+` halve or double the speed (0.25x to 64x), `n`
//! and `N` jump to the next or previous alarm, `e` to the end; the status bar shows the session
//! time and the speed.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::time::{Instant, MissedTickBehavior};

use super::TuiOptions;
use super::app::{App, ReplayCommand, ReplayStatus};
use super::event_loop::{RestoreTerminal, draw};
use crate::error::Failure;
use crate::replay::Replay;
use crate::state::ScanState;

/// Plays `replay` on the terminal until the user quits; returns the state at that moment.
pub async fn run(replay: Replay, opts: &TuiOptions) -> Result<ScanState, Failure> {
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        Failure::runtime(format!(
            "cannot open the live view on this terminal: {e} (try --headless)"
        ))
    })?;
    let restore = RestoreTerminal;
    let outcome = replay_loop(&mut terminal, EventStream::new(), replay, opts).await;
    drop(restore);
    outcome
}

/// The loop on any backend and stream of terminal events (tests use a `TestBackend`).
pub async fn replay_loop<B, S>(
    terminal: &mut Terminal<B>,
    mut input: S,
    mut replay: Replay,
    opts: &TuiOptions,
) -> Result<ScanState, Failure>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    let mut app = App::new(opts, None);
    let fps = opts.fps.clamp(1, 240);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / fps);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last = Instant::now();
    let mut input_open = true;
    app.replay = Some(status(&replay));
    app.refresh_index(replay.state(), last.into_std(), true);

    loop {
        tokio::select! {
            next = input.next(), if input_open => {
                match next {
                    Some(Ok(Event::Key(key))) => {
                        app.handle_key(&key, replay.state());
                        let commands = app.take_replay_commands();
                        if !commands.is_empty() {
                            for command in commands {
                                carry_out(command, &mut replay, &mut app);
                            }
                            app.replay = Some(status(&replay));
                            app.refresh_index(replay.state(), Instant::now().into_std(), true);
                            draw(terminal, &app, replay.state())?;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => input_open = false,
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let folded = replay.advance(now.duration_since(last).as_secs_f64());
                last = now;
                app.replay = Some(status(&replay));
                app.refresh_index(replay.state(), now.into_std(), folded > 0 && replay.at_end());
                app.expire_notice(now.into_std());
                draw(terminal, &app, replay.state())?;
            }
        }
        // Without a keyboard nobody can quit: play to the end and leave.
        if app.quit || (!input_open && replay.at_end()) {
            break;
        }
    }
    Ok(replay.state().clone())
}

fn status(replay: &Replay) -> ReplayStatus {
    ReplayStatus {
        position_us: replay.position_us(),
        end_us: replay.end_us(),
        speed: replay.speed(),
        paused: replay.is_paused(),
    }
}

fn carry_out(command: ReplayCommand, replay: &mut Replay, app: &mut App) {
    match command {
        ReplayCommand::TogglePause => replay.toggle_pause(),
        ReplayCommand::Faster => replay.faster(),
        ReplayCommand::Slower => replay.slower(),
        ReplayCommand::NextAlarm => {
            if !replay.next_alarm() {
                app.notify("no alarm after this moment".into());
            }
        }
        ReplayCommand::PreviousAlarm => {
            if !replay.previous_alarm() {
                app.notify("no alarm before this moment".into());
            }
        }
        ReplayCommand::End => replay.jump_to_end(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{DemoPlan, run_lockstep, suggested_params};
    use crate::detector::AlarmThresholds;
    use crate::monitor::Monitor;
    use crate::sim::builtin;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;

    fn key(c: char) -> io::Result<Event> {
        Ok(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    fn screen(terminal: &Terminal<TestBackend>) -> String {
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    #[tokio::test(start_paused = true)]
    async fn keys_jump_to_alarms_and_the_status_bar_shows_the_replay() {
        let scenario = builtin("shun").unwrap();
        let plan = DemoPlan::new(scenario.clone()).unwrap();
        let mut monitor = Monitor::new();
        let mut events = Vec::new();
        run_lockstep(&plan, 1, suggested_params(&scenario), &mut monitor, |e| {
            events.push(e.clone())
        })
        .await;
        let live = monitor.into_state();
        let replay = Replay::new(events, AlarmThresholds::default());
        let first_alarm = replay.alarm_times()[0];
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
        // Pause, jump to the first alarm, go faster twice, then to the end and quit.
        let keys = futures_util::stream::iter(vec![
            key(' '),
            key('n'),
            key('+'),
            key('+'),
            key('e'),
            key('q'),
        ]);
        let opts = TuiOptions::default();
        let state = replay_loop(&mut terminal, keys, replay, &opts)
            .await
            .unwrap();
        let text = screen(&terminal);
        assert!(text.contains("REPLAY paused x4"), "{text}");
        assert!(text.contains("session time"), "{text}");
        assert!(text.contains("SHUN"), "{text}");
        assert!(first_alarm > 0);
        assert_eq!(
            state.alarms, live.alarms,
            "at the end: every alarm of the live run"
        );
        assert_eq!(state.totals, live.totals);
    }
}
