use super::*;
use crate::demo::DemoPlan;
use crate::engine::{self, EngineOptions, ScanPlan};
use crate::event::ScanParams;
use crate::monitor::Monitor;
use crate::sim::{Simulated, parse_scenario};
use std::time::Duration;

/// A network that changed since the baseline: on .1 port 22 still open, 80 now dropped by a
/// firewall (the host still answers), 443 gone (RST), 8080 new; .2 is silent altogether; .3 bans
/// the scanner after a burst of SYNs.
const CHANGED: &str = r#"
name = "changed"
description = "a network that changed since the baseline"
ports = "22,80,443,8080"
timeout = "1s"

[[hosts]]
addr = "127.0.50.1"
open = "22,8080"
filtered = "80"
latency = { median = "2ms", p99 = "6ms" }

[[hosts]]
addr = "127.0.50.2"
down = true

[[hosts]]
addr = "127.0.50.3"
open = "22,80,443"
latency = { median = "2ms", p99 = "6ms" }
"#;

fn baseline() -> BTreeMap<IpAddr, BTreeSet<u16>> {
    let mut b = BTreeMap::new();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    b.insert(ip("127.0.50.1"), [22, 80, 443].into_iter().collect());
    b.insert(ip("127.0.50.2"), [22, 80].into_iter().collect());
    b.insert(ip("127.0.50.3"), [22, 443].into_iter().collect());
    b
}

/// The re-check as the command runs it: the scan held open until every baseline port has its
/// verdict, the re-probes sent, in lockstep.
async fn recheck(cooldown_us: u64) -> crate::state::ScanState {
    recorded_recheck(cooldown_us).await.0
}

/// `recheck`, and every event it folded.
async fn recorded_recheck(cooldown_us: u64) -> (crate::state::ScanState, Vec<ScanEvent>) {
    let mut events = Vec::new();
    let scenario = parse_scenario(CHANGED, "test").unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let hosts: Vec<IpAddr> = baseline().keys().copied().collect();
    let scan_plan = ScanPlan::for_addrs(hosts, vec![22, 80, 443, 8080], 1).with_first(3);
    let _ = plan;
    let params = ScanParams {
        concurrency: 20,
        max_per_host: 10,
        timeout: Duration::from_secs(1),
        retries: 1,
        rate: None,
        paused: false,
    };
    let mut running = engine::start(
        Simulated::new(&scenario, 1),
        scan_plan,
        params,
        EngineOptions {
            held: true,
            ..EngineOptions::default()
        },
    );
    let mut monitor = Monitor::new().with_recheck(Rechecker::new(baseline(), cooldown_us));
    while let Some(event) = running.events.recv().await {
        events.push(event.clone());
        monitor.apply(&event);
        // As the live loops do: re-probes to the engine, the hold released once decided.
        monitor.forward_requests(&running.control);
        if monitor.state().now_us > 120_000_000 {
            running.control.stop();
        }
    }
    (monitor.into_state(), events)
}

fn verdict(state: &crate::state::ScanState, addr: &str, port: u16) -> Verdict {
    let addr: IpAddr = addr.parse().unwrap();
    state.recheck.as_ref().unwrap().checks()[&(addr, port)].verdict
}

#[tokio::test(start_paused = true)]
async fn each_baseline_port_gets_the_right_verdict() {
    let state = recheck(3_000_000).await;
    let recheck = state.recheck.as_ref().unwrap();
    assert!(recheck.all_decided(), "{:#?}", recheck.checks());
    assert_eq!(verdict(&state, "127.0.50.1", 22), Verdict::StillOpen);
    assert_eq!(verdict(&state, "127.0.50.1", 80), Verdict::SilentPort);
    assert_eq!(verdict(&state, "127.0.50.1", 443), Verdict::NowClosed);
    assert_eq!(verdict(&state, "127.0.50.1", 8080), Verdict::New);
    assert_eq!(verdict(&state, "127.0.50.2", 22), Verdict::SilentHost);
    assert_eq!(verdict(&state, "127.0.50.2", 80), Verdict::SilentHost);
    assert_eq!(verdict(&state, "127.0.50.3", 22), Verdict::StillOpen);
    assert_eq!(verdict(&state, "127.0.50.3", 443), Verdict::StillOpen);
    assert_eq!(verdict(&state, "127.0.50.3", 80), Verdict::New);
    assert!(recheck.changed());

    // One RECHECK alarm per host whose baseline ports changed, saying which and why.
    let rechecks: Vec<&Alarm> = state
        .alarms
        .iter()
        .filter(|a| a.kind == AlarmKind::Recheck)
        .collect();
    let mut scopes: Vec<String> = rechecks.iter().map(|a| a.scope.to_string()).collect();
    scopes.sort();
    assert_eq!(scopes, ["127.0.50.1", "127.0.50.2"], "{rechecks:#?}");
    let one = &rechecks
        .iter()
        .find(|a| a.scope.to_string() == "127.0.50.1")
        .unwrap()
        .evidence;
    assert!(one.contains("443/tcp now closed: RST"), "{one}");
    assert!(one.contains("80/tcp now silent (port blocked)"), "{one}");
    assert!(one.contains("1 still open"), "{one}");
    let two = &rechecks
        .iter()
        .find(|a| a.scope.to_string() == "127.0.50.2")
        .unwrap()
        .evidence;
    assert!(two.contains("host answered on no port"), "{two}");
}

#[tokio::test(start_paused = true)]
async fn a_silent_port_is_called_only_after_its_cool_down() {
    let state = recheck(5_000_000).await;
    let recheck = state.recheck.as_ref().unwrap();
    let addr: IpAddr = "127.0.50.1".parse().unwrap();
    let silent = &recheck.checks()[&(addr, 80)];
    // Its first probe timed out after two attempts (2 s); the re-probe came 5 s later.
    assert!(silent.decided_us.unwrap() >= 7_000_000, "{silent:?}");
    let closed = &recheck.checks()[&(addr, 443)];
    assert!(
        closed.decided_us.unwrap() < 1_000_000,
        "an RST is called at once"
    );
}

#[tokio::test(start_paused = true)]
async fn the_live_view_shows_the_baseline_and_can_show_only_changes() {
    use crate::tui::{Action, App, TuiOptions};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let state = recheck(3_000_000).await;
    let opts = TuiOptions::default();
    let mut app = App::new(&opts, None);
    app.refresh_index(&state, std::time::Instant::now(), true);
    let screen = |app: &App| {
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
        terminal
            .draw(|frame| crate::tui::draw(frame, app, &state))
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    };
    let all = screen(&app);
    assert!(all.contains("BASELINE"), "{all}");
    assert!(all.contains("✗ now closed: RST"), "{all}");
    assert!(all.contains("✗ now silent (port blocked)"), "{all}");
    assert!(all.contains("+ new"), "{all}");
    assert!(
        all.contains("3 changed"),
        "the hosts table counts changes: {all}"
    );
    let ssh_row = |text: &str| text.lines().any(|l| l.contains("   22 open"));
    assert!(ssh_row(&all), "22 is still open and listed: {all}");

    app.dispatch(Action::ChangesOnly, &state);
    assert!(app.changes_only);
    let changes = screen(&app);
    assert!(!ssh_row(&changes), "only changes: {changes}");
    assert!(changes.contains("✗ now closed: RST"), "{changes}");
    assert!(changes.contains("+ new"), "{changes}");
}

#[tokio::test(start_paused = true)]
async fn folding_the_recorded_events_rebuilds_the_live_verdicts_exactly() {
    let (live, events) = recorded_recheck(3_000_000).await;
    let mut replayed = Monitor::for_scan(
        crate::detector::AlarmThresholds::default(),
        Some(Rechecker::new(baseline(), 3_000_000)),
    );
    for event in &events {
        replayed.apply_recorded(event);
    }
    assert_eq!(replayed.into_state(), live);
}
