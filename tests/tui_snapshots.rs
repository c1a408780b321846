//! The live view's main screen, drawn into a `TestBackend` from a simulated scan at a fixed
//! scan time: the `shun` scenario 20 s in, while its SHUN alarm is active. Every time on screen
//! comes from scan time, so the snapshots are the same on every run.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use scanwatch::demo::{DemoPlan, run_lockstep, suggested_params};
use scanwatch::monitor::Monitor;
use scanwatch::sim::builtin;
use scanwatch::state::ScanState;
use scanwatch::tui::{App, TuiOptions, draw};

/// Scan time the screen shows: the first SHUN on 127.0.3.10 is raised at about 10 s and
/// cleared at about 34 s.
const AT_US: u64 = 20_000_000;
const SEED: u64 = 1;

/// The state the live view had at `AT_US`: the scan runs in lockstep with its Monitor, and a
/// second Monitor folds the same events up to that moment.
async fn shun_state() -> (ScanState, Vec<String>) {
    let scenario = builtin("shun").unwrap();
    let targets = scenario.targets();
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let mut live = Monitor::new();
    let mut at = Monitor::new();
    let mut past = false;
    run_lockstep(&plan, SEED, suggested_params(&scenario), &mut live, |e| {
        past |= e.time_us().is_some_and(|t| t > AT_US);
        if !past {
            at.apply(e);
        }
    })
    .await;
    (at.into_state(), targets)
}

fn screen(
    state: &ScanState,
    targets: Vec<String>,
    width: u16,
    height: u16,
) -> Terminal<TestBackend> {
    let opts = TuiOptions {
        targets,
        ..TuiOptions::default()
    };
    let mut app = App::new(&opts, None);
    app.refresh_index(state, std::time::Instant::now(), true);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, &app, state)).unwrap();
    terminal
}

#[tokio::test(start_paused = true)]
async fn main_screen_with_an_active_shun() {
    let (state, targets) = shun_state().await;
    assert!(
        state.active_alarms().any(|a| a.kind.as_str() == "SHUN"),
        "SHUN is active at {AT_US} µs: {:?}",
        state.alarms
    );
    let small = screen(&state, targets.clone(), 80, 24);
    insta::assert_snapshot!("main_80x24", small.backend());
    let large = screen(&state, targets, 160, 48);
    insta::assert_snapshot!("main_160x48", large.backend());
}
