//! The live view's parameter keys reach a real engine scanning the simulated network: each
//! action changes the engine's parameters through `EngineControl`, the status bar shows the new
//! value at once, and the engine records it as a `ParamsChanged` event. Then the whole loop on
//! a `TestBackend` with scripted keys: quitting early stops the scan, and without a terminal to
//! read keys from the view closes once the scan has finished.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::Stream;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use scanwatch::demo::DemoPlan;
use scanwatch::engine::{self, EngineOptions, RunningScan};
use scanwatch::event::{FinishReason, ScanEvent, ScanParams};
use scanwatch::monitor::Monitor;
use scanwatch::sim::{Simulated, builtin};
use scanwatch::tui::{Action, App, TuiOptions, draw, run_loop};

const SEED: u64 = 7;

fn params() -> ScanParams {
    ScanParams {
        concurrency: 64,
        max_per_host: 512,
        timeout: Duration::from_secs(1),
        retries: 1,
        rate: None,
        paused: false,
    }
}

/// A scan of the `shun` scenario (3 hosts × 1,024 ports) at `params`, on the simulated network.
fn start(name: &str, params: ScanParams) -> RunningScan {
    let scenario = builtin(name).unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    engine::start(
        Simulated::new(&scenario, SEED),
        plan.scan_plan(SEED),
        params,
        EngineOptions::default(),
    )
}

/// Folds events until `until` holds for the state.
async fn run_until(
    running: &mut RunningScan,
    monitor: &mut Monitor,
    until: impl Fn(&scanwatch::state::ScanState) -> bool,
) {
    while !until(monitor.state()) {
        let event = running
            .events
            .recv()
            .await
            .expect("the scan is still running");
        monitor.apply(&event);
        for request in monitor.take_sentinel_requests() {
            running.control.sentinel(request);
        }
    }
}

/// Folds events until the engine records `ParamsChanged` with parameters that satisfy `want`;
/// returns them.
async fn params_changed(
    running: &mut RunningScan,
    monitor: &mut Monitor,
    want: impl Fn(&ScanParams) -> bool,
) -> ScanParams {
    for _ in 0..100_000 {
        let event = running
            .events
            .recv()
            .await
            .expect("the scan is still running");
        monitor.apply(&event);
        if let ScanEvent::ParamsChanged { params, .. } = event
            && want(&params)
        {
            return params;
        }
    }
    panic!("no ParamsChanged event with the new parameters");
}

/// The status bar's two rows after drawing `app` once.
fn status_bar(app: &App, monitor: &Monitor) -> String {
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    terminal
        .draw(|frame| draw(frame, app, monitor.state()))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..2)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(start_paused = true)]
async fn every_parameter_key_reaches_the_engine_and_is_recorded() {
    let mut running = start("shun", params());
    let mut monitor = Monitor::new();
    let mut app = App::new(&TuiOptions::default(), Some(running.control.clone()));
    run_until(&mut running, &mut monitor, |s| s.now_us >= 3_000_000).await;

    // Concurrency: halve, then double.
    app.dispatch(Action::ConcurrencyDown, monitor.state());
    assert_eq!(running.control.params().concurrency, 32);
    assert!(
        status_bar(&app, &monitor).contains("concurrency 32"),
        "{}",
        status_bar(&app, &monitor)
    );
    let p = params_changed(&mut running, &mut monitor, |p| p.concurrency == 32).await;
    assert_eq!(monitor.state().params, Some(p));
    app.dispatch(Action::ConcurrencyUp, monitor.state());
    assert_eq!(running.control.params().concurrency, 64);
    params_changed(&mut running, &mut monitor, |p| p.concurrency == 64).await;

    // Timeout: ×1.5, then ÷1.5.
    app.dispatch(Action::TimeoutUp, monitor.state());
    assert_eq!(
        running.control.params().timeout,
        Duration::from_millis(1500)
    );
    assert!(status_bar(&app, &monitor).contains("timeout 1.50s"));
    params_changed(&mut running, &mut monitor, |p| {
        p.timeout == Duration::from_millis(1500)
    })
    .await;
    app.dispatch(Action::TimeoutDown, monitor.state());
    assert_eq!(running.control.params().timeout, Duration::from_secs(1));
    params_changed(&mut running, &mut monitor, |p| {
        p.timeout == Duration::from_secs(1)
    })
    .await;

    // Rate: with none set, rate-down sets half the pace seen lately; rate-up doubles it.
    let seen = scanwatch::tui::facts::recent_rate(monitor.state());
    assert!(seen > 2.0, "probes per second seen: {seen}");
    app.dispatch(Action::RateDown, monitor.state());
    let rate = running.control.params().rate.expect("a rate is set");
    assert!((rate - seen / 2.0).abs() < 1e-9, "{rate} vs {seen}");
    assert!(status_bar(&app, &monitor).contains(&format!(
        "rate {}",
        scanwatch::tui::facts::rate_text(Some(rate))
    )));
    params_changed(&mut running, &mut monitor, |p| p.rate == Some(rate)).await;
    app.dispatch(Action::RateDown, monitor.state());
    assert_eq!(running.control.params().rate, Some(rate / 2.0));
    params_changed(&mut running, &mut monitor, |p| p.rate == Some(rate / 2.0)).await;
    app.dispatch(Action::RateUp, monitor.state());
    assert_eq!(running.control.params().rate, Some(rate));
    params_changed(&mut running, &mut monitor, |p| p.rate == Some(rate)).await;

    // Pause, then resume.
    app.dispatch(Action::PauseResume, monitor.state());
    assert!(running.control.params().paused);
    assert!(status_bar(&app, &monitor).contains("PAUSED"));
    params_changed(&mut running, &mut monitor, |p| p.paused).await;
    app.dispatch(Action::PauseResume, monitor.state());
    assert!(!running.control.params().paused);
    params_changed(&mut running, &mut monitor, |p| !p.paused).await;

    // Auto-throttle is the view's own: the status bar says so, the engine is not involved.
    app.dispatch(Action::ToggleAutoThrottle, monitor.state());
    assert!(status_bar(&app, &monitor).contains("auto-throttle on"));

    running.control.stop();
    run_until(&mut running, &mut monitor, |s| s.finished.is_some()).await;
}

#[tokio::test(start_paused = true)]
async fn parameter_keys_respect_the_control_limits() {
    let mut running = start(
        "shun",
        ScanParams {
            concurrency: 1,
            timeout: Duration::from_secs(600),
            ..params()
        },
    );
    let monitor = Monitor::new();
    let mut app = App::new(&TuiOptions::default(), Some(running.control.clone()));
    app.dispatch(Action::ConcurrencyDown, monitor.state());
    assert_eq!(running.control.params().concurrency, 1, "never below 1");
    app.dispatch(Action::TimeoutUp, monitor.state());
    assert_eq!(
        running.control.params().timeout,
        running.control.limits().max_timeout
    );
    assert!(
        app.notice.as_ref().unwrap().text.contains("no change"),
        "{:?}",
        app.notice
    );
    running.control.stop();
    while running.events.recv().await.is_some() {}
}

fn key(c: char) -> io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

/// Terminal events, each after a pause of scan time.
fn scripted(
    script: Vec<(Duration, io::Result<Event>)>,
) -> impl Stream<Item = io::Result<Event>> + Unpin {
    Box::pin(futures_util::stream::unfold(
        script.into_iter(),
        |mut script| async move {
            let (wait, event) = script.next()?;
            tokio::time::sleep(wait).await;
            Some((event, script))
        },
    ))
}

/// A stream that never yields: a terminal on which nobody types.
fn silent() -> impl Stream<Item = io::Result<Event>> + Unpin {
    futures_util::stream::pending()
}

#[tokio::test(start_paused = true)]
async fn quitting_before_the_end_stops_the_scan() {
    let mut running = start("shun", params());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let keys = scripted(vec![
        (Duration::from_secs(2), key('-')),
        (Duration::from_secs(2), key('q')),
    ]);
    let outcome = run_loop(
        &mut terminal,
        keys,
        &mut running.events,
        &running.control,
        &TuiOptions::default(),
        None,
    )
    .await
    .unwrap();
    assert!(outcome.quit_early);
    assert!(matches!(
        outcome.state.finished,
        Some((FinishReason::Stopped, _))
    ));
    assert!(
        outcome
            .state
            .param_changes
            .iter()
            .any(|(_, p)| p.concurrency == 32),
        "the key's change was recorded: {:?}",
        outcome.state.param_changes
    );
    assert!(running.control.is_stopped());
}

#[tokio::test(start_paused = true)]
async fn without_keys_the_view_closes_when_the_scan_is_done() {
    let mut running = start("healthy", params());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let opts = TuiOptions {
        exit_when_finished: true,
        ..TuiOptions::default()
    };
    let outcome = run_loop(
        &mut terminal,
        silent(),
        &mut running.events,
        &running.control,
        &opts,
        None,
    )
    .await
    .unwrap();
    assert!(!outcome.quit_early);
    assert!(matches!(
        outcome.state.finished,
        Some((FinishReason::Completed, _))
    ));
    let screen = terminal.backend().to_string();
    assert!(screen.contains("FINISHED"), "{screen}");
    assert!(screen.contains("100.0%"), "{screen}");
}

#[tokio::test(start_paused = true)]
async fn a_finished_scan_stays_on_screen_until_the_user_quits() {
    let mut running = start("healthy", params());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    // The healthy scan takes about 10 s of scan time at this pace; quit at 60 s.
    let keys = scripted(vec![(Duration::from_secs(60), key('q'))]);
    let t0 = tokio::time::Instant::now();
    let outcome = run_loop(
        &mut terminal,
        keys,
        &mut running.events,
        &running.control,
        &TuiOptions::default(),
        None,
    )
    .await
    .unwrap();
    assert!(!outcome.quit_early, "the scan had finished");
    assert!(
        t0.elapsed() >= Duration::from_secs(60),
        "the view waited for the key"
    );
    assert!(terminal.backend().to_string().contains("FINISHED"));
}
