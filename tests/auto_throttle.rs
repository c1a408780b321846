//! Auto-throttling on the simulated network, under the paused clock: the headless loop halves
//! the pace through `EngineControl` when a RATE alarm is raised, and the engine records it.

use std::time::Duration;

use scanwatch::demo::DemoPlan;
use scanwatch::detector::AlarmKind;
use scanwatch::engine::{self, EngineOptions};
use scanwatch::event::ScanParams;
use scanwatch::headless::{self, HeadlessOptions};
use scanwatch::sim::{Simulated, builtin};
use scanwatch::state::ScanState;

const CONCURRENCY: u32 = 100;
const RATE: f64 = 100.0;

/// Runs the `ratelimit` scenario through the headless loop; returns the state, stdout and stderr.
async fn run_ratelimit(seed: u64, auto_throttle: bool) -> (ScanState, String, String) {
    let scenario = builtin("ratelimit").unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap().scan_plan(seed);
    let params = ScanParams {
        concurrency: CONCURRENCY,
        max_per_host: 512,
        timeout: Duration::from_secs(2),
        retries: 1,
        rate: Some(RATE),
        paused: false,
    };
    let mut running = engine::start(
        Simulated::new(&scenario, seed),
        plan,
        params,
        EngineOptions::default(),
    );
    let opts = HeadlessOptions {
        json: true,
        auto_throttle,
        ..HeadlessOptions::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let state = headless::run(
        &mut running.events,
        &running.control,
        &opts,
        &mut out,
        &mut err,
        None,
    )
    .await
    .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (state, text(out), text(err))
}

#[tokio::test(start_paused = true)]
async fn a_rate_alarm_halves_concurrency_and_rate_when_auto_throttle_is_on() {
    for seed in 1..=3 {
        let (state, stdout, stderr) = run_ratelimit(seed, true).await;
        let rates: Vec<_> = state
            .alarms
            .iter()
            .filter(|a| a.kind == AlarmKind::Rate)
            .collect();
        assert_eq!(rates.len(), 1, "seed {seed}: {:#?}", state.alarms);
        let raised = rates[0].raised_us;
        assert_eq!(
            state.param_changes.len(),
            1,
            "seed {seed}: one change, for the one alarm: {:?}",
            state.param_changes
        );
        let (t_us, params) = state.param_changes[0];
        assert!(
            t_us >= raised,
            "seed {seed}: changed at {t_us}, raised at {raised}"
        );
        assert_eq!(params.concurrency, CONCURRENCY / 2, "seed {seed}");
        assert_eq!(params.rate, Some(RATE / 2.0), "seed {seed}");
        assert_eq!(params.max_per_host, 512, "seed {seed}: the rest is kept");
        assert!(
            stderr
                .contains("THROTTLE concurrency 100 → 50, rate 100/s → 50/s (RATE on 127.0.4.10)"),
            "seed {seed}: {stderr}"
        );
        assert_eq!(
            stdout.matches("\"type\":\"throttle\"").count(),
            1,
            "seed {seed}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn without_auto_throttle_a_rate_alarm_changes_nothing() {
    let (state, stdout, stderr) = run_ratelimit(1, false).await;
    assert!(state.alarms.iter().any(|a| a.kind == AlarmKind::Rate));
    assert!(state.param_changes.is_empty(), "{:?}", state.param_changes);
    assert!(!stderr.contains("THROTTLE"), "{stderr}");
    assert!(!stdout.contains("\"type\":\"throttle\""));
    assert!(!stdout.contains("\"type\":\"params\""));
}

#[tokio::test(start_paused = true)]
async fn a_clean_network_is_never_throttled() {
    let scenario = builtin("healthy").unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap().scan_plan(2);
    let params = ScanParams {
        concurrency: 100,
        max_per_host: 512,
        timeout: Duration::from_secs(1),
        retries: 1,
        rate: Some(500.0),
        paused: false,
    };
    let mut running = engine::start(
        Simulated::new(&scenario, 2),
        plan,
        params,
        EngineOptions::default(),
    );
    let opts = HeadlessOptions {
        auto_throttle: true,
        ..HeadlessOptions::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let state = headless::run(
        &mut running.events,
        &running.control,
        &opts,
        &mut out,
        &mut err,
        None,
    )
    .await
    .unwrap();
    assert!(state.alarms.is_empty(), "{:#?}", state.alarms);
    assert!(state.param_changes.is_empty());
    assert!(!String::from_utf8_lossy(&err).contains("THROTTLE"));
}
