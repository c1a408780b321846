//! The engine against the simulated network under tokio's paused clock: behaviours show up in the
//! event stream at the right virtual times, and the same seed gives the same events.

use std::net::IpAddr;
use std::time::Duration;

use scanwatch::demo::DemoPlan;
use scanwatch::engine::{self, EngineOptions};
use scanwatch::event::{FilterReason, ProbeOutcome, ProbeRecord, ScanEvent, ScanParams};
use scanwatch::sim::{Scenario, Simulated, builtin, parse_scenario};

/// Runs `scenario` to the end through the engine and returns every event.
async fn run(scenario: &Scenario, seed: u64, params: ScanParams) -> Vec<ScanEvent> {
    let plan = DemoPlan::new(scenario.clone()).unwrap().scan_plan(seed);
    let mut running = engine::start(
        Simulated::new(scenario, seed),
        plan,
        params,
        EngineOptions::default(),
    );
    let mut events = Vec::new();
    while let Some(e) = running.events.recv().await {
        events.push(e);
    }
    events
}

/// The scenario's own suggested pace.
fn hinted(scenario: &Scenario) -> ScanParams {
    ScanParams {
        concurrency: scenario.suggested_concurrency().unwrap_or(100),
        max_per_host: 512,
        timeout: scenario
            .suggested_timeout()
            .unwrap_or(Duration::from_secs(1)),
        retries: 1,
        rate: scenario.suggested_rate(),
        paused: false,
    }
}

fn probes(events: &[ScanEvent]) -> Vec<&ProbeRecord> {
    events
        .iter()
        .filter_map(|e| match e {
            ScanEvent::Probe(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn host(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const TIMEOUT: ProbeOutcome = ProbeOutcome::Filtered(FilterReason::NoResponse);

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_event_stream() {
    for name in ["mixed", "shun", "tarpit"] {
        let scenario = builtin(name).unwrap();
        let a = run(&scenario, 42, hinted(&scenario)).await;
        let b = run(&scenario, 42, hinted(&scenario)).await;
        assert!(a.len() > 1000, "{name}: {} events", a.len());
        assert_eq!(a, b, "{name}: same seed, same events");
        let c = run(&scenario, 43, hinted(&scenario)).await;
        assert_ne!(a, c, "{name}: another seed changes the story");
    }
}

#[tokio::test(start_paused = true)]
async fn shun_silences_the_protected_host_and_only_it() {
    let scenario = builtin("shun").unwrap();
    let events = run(&scenario, 7, hinted(&scenario)).await;
    let all = probes(&events);
    let protected: Vec<_> = all
        .iter()
        .filter(|r| r.addr == host("127.0.3.10"))
        .collect();
    // Answers first: the ban only starts after 50 SYNs within 5 s.
    let first_timeout = protected
        .iter()
        .position(|r| r.outcome == TIMEOUT)
        .expect("the IPS bans the scanner");
    assert!(
        first_timeout >= 40,
        "answers before the ban: {first_timeout}"
    );
    assert!(
        protected[..first_timeout]
            .iter()
            .all(|r| r.outcome.is_answer())
    );
    // The first silent probe is reported after its two attempts time out (2 × 1 s), so the ban
    // began about 2 s before it.
    let ban_start = protected[first_timeout].t_us - 2_000_000;
    // Silence for the ban (30 s); probes sent in it time out.
    let during: Vec<_> = protected
        .iter()
        .filter(|r| r.t_us > ban_start + 3_000_000 && r.t_us < ban_start + 29_000_000)
        .collect();
    assert!(!during.is_empty());
    assert!(during.iter().all(|r| r.outcome == TIMEOUT));
    // Answers again after the ban.
    assert!(
        protected
            .iter()
            .any(|r| r.t_us > ban_start + 30_000_000 && r.outcome.is_answer()),
        "the host answers after the ban"
    );
    // The unprotected neighbours answer all along.
    let neighbours: Vec<_> = all
        .iter()
        .filter(|r| r.addr != host("127.0.3.10"))
        .collect();
    assert!(neighbours.iter().all(|r| r.outcome.is_answer()));
}

#[tokio::test(start_paused = true)]
async fn link_loss_silences_everything_from_its_time() {
    let scenario = builtin("linkloss").unwrap();
    let at = scenario.link_loss_at().unwrap().as_micros() as u64;
    let events = run(&scenario, 3, hinted(&scenario)).await;
    let all = probes(&events);
    // A probe is decided when its SYN leaves; it is reported up to a timeout later.
    let timeout = hinted(&scenario).timeout.as_micros() as u64 * 2;
    assert!(
        all.iter()
            .filter(|r| r.t_us < at)
            .any(|r| r.outcome.is_answer())
    );
    assert!(
        all.iter()
            .filter(|r| r.t_us > at + timeout)
            .all(|r| r.outcome == TIMEOUT),
        "nothing answers after the link is lost"
    );
}

#[tokio::test(start_paused = true)]
async fn a_ten_minute_scenario_runs_under_the_paused_clock() {
    // 6,000 probes at 10 per second: ten minutes of simulated time.
    let scenario = parse_scenario(
        r#"
name = "ten-minutes"
description = "a slow scan of two hosts"
ports = "1-3000"

[[hosts]]
addr = "127.0.5.0/31"
open = "22,80"
latency = { median = "2ms", p99 = "10ms" }
"#,
        "test",
    )
    .unwrap();
    let params = ScanParams {
        rate: Some(10.0),
        ..hinted(&scenario)
    };
    let events = run(&scenario, 1, params).await;
    let last = match events.last().unwrap() {
        ScanEvent::Finished { t_us, .. } => *t_us,
        other => panic!("last event is {other:?}"),
    };
    assert!(last >= 599_000_000, "ran {last} µs of simulated time");
    let all = probes(&events);
    assert_eq!(all.len(), 6000);
    assert_eq!(
        all.iter()
            .filter(|r| r.outcome == ProbeOutcome::Open)
            .count(),
        4
    );
}

#[tokio::test(start_paused = true)]
async fn events_are_well_ordered() {
    let scenario = builtin("mixed").unwrap();
    let events = run(&scenario, 9, hinted(&scenario)).await;
    assert!(matches!(events[0], ScanEvent::Started { .. }));
    assert!(matches!(events.last(), Some(ScanEvent::Finished { .. })));
    let mut started = std::collections::HashSet::new();
    let mut done = std::collections::HashSet::new();
    let mut last_t = 0;
    for e in &events {
        match e {
            ScanEvent::HostStarted { host, .. } => assert!(started.insert(*host)),
            ScanEvent::Probe(r) => {
                assert!(started.contains(&r.host), "probe before its host started");
                assert!(!done.contains(&r.host), "probe after its host was done");
                assert!(r.t_us >= last_t, "probe times never go backwards");
                last_t = r.t_us;
            }
            ScanEvent::HostDone { host, .. } => assert!(done.insert(*host)),
            _ => {}
        }
    }
    assert_eq!(started, done);
}

/// Answers every port with RST after 2 ms, and reads its connect time from the clock when it is
/// polled, as the real `TcpConnect` does.
struct ClockedProber;

impl scanwatch::probe::Prober for ClockedProber {
    async fn probe(
        &self,
        _addr: std::net::SocketAddr,
        _timeout: Duration,
    ) -> scanwatch::event::ProbeResult {
        let start = tokio::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(2)).await;
        scanwatch::event::ProbeResult::new(ProbeOutcome::Closed, start.elapsed())
    }
}

/// A consumer that falls behind makes the engine wait before starting new probes, but the probes
/// already in flight keep being polled: their connect times stay the network's, and a slow
/// consumer never looks like a slow network to the detector.
#[tokio::test(start_paused = true)]
async fn a_stalled_consumer_does_not_inflate_connect_times() {
    let hosts = scanwatch::targets::parse_target_args(&["127.0.40.0/31".to_string()]).unwrap();
    let hosts = scanwatch::targets::resolved_without_lookup(hosts).unwrap();
    let targets = scanwatch::targets::TargetSet::new(hosts, Vec::new());
    let ports: Vec<u16> = (1..=65535).collect();
    let plan =
        scanwatch::engine::ScanPlan::new(Box::new(targets.hosts()), Some(2), ports.into(), 1);
    let params = ScanParams {
        concurrency: 512,
        max_per_host: 512,
        timeout: Duration::from_secs(1),
        retries: 0,
        rate: None,
        paused: false,
    };
    let mut running = engine::start(ClockedProber, plan, params, EngineOptions::default());
    // The consumer stalls for 5 s of scan time: far more events than the channel holds pile up.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut slowest = 0;
    let mut answered = 0;
    while let Some(e) = running.events.recv().await {
        if let ScanEvent::Probe(r) = e
            && r.outcome.is_answer()
        {
            answered += 1;
            slowest = slowest.max(r.connect_us);
        }
    }
    assert_eq!(answered, 2 * 65535);
    assert!(
        slowest < 50_000,
        "a connect time of {slowest} µs: the stall leaked into the measurements"
    );
}

/// `scenario` (seed 1, its own pace) started held (`EngineOptions::held`).
fn start_held(scenario: &Scenario) -> engine::RunningScan {
    let plan = DemoPlan::new(scenario.clone()).unwrap().scan_plan(1);
    engine::start(
        Simulated::new(scenario, 1),
        plan,
        hinted(scenario),
        EngineOptions {
            held: true,
            ..EngineOptions::default()
        },
    )
}

/// A held scan stays open after its plan is done: re-probes asked for then are still sent, and
/// it finishes when released.
#[tokio::test(start_paused = true)]
async fn a_held_scan_waits_for_its_late_re_probes_and_finishes_when_released() {
    let scenario = builtin("healthy").unwrap();
    let mut running = start_held(&scenario);
    let mut done = 0;
    let total = loop {
        match running.events.recv().await.expect("held: not finished") {
            ScanEvent::Started { probes, .. } => done = probes.unwrap_or(0),
            ScanEvent::Probe(_) => {
                done -= 1;
                if done == 0 {
                    break 0;
                }
            }
            _ => {}
        }
    };
    assert_eq!(total, 0);
    // Long after the plan is done, nothing finishes the scan ...
    loop {
        match tokio::time::timeout(Duration::from_secs(30), running.events.recv()).await {
            Err(_) => break,
            Ok(Some(ScanEvent::HostDone { .. })) => {}
            other => panic!("only the last HostDone while held: {other:?}"),
        }
    }
    // ... a late re-probe is still sent ...
    running
        .control
        .sentinel(scanwatch::engine::SentinelRequest {
            host: 0,
            addr: host("127.0.0.1"),
            port: 22,
        });
    let sentinel = running.events.recv().await.unwrap();
    assert!(matches!(sentinel, ScanEvent::Sentinel(_)), "{sentinel:?}");
    // ... and releasing it lets it finish.
    running.control.release();
    let mut finished = false;
    while let Some(e) = running.events.recv().await {
        finished |= matches!(e, ScanEvent::Finished { .. });
    }
    assert!(finished);
}

/// A scan started held stays open however fast its plan ends: on worker threads, a one-probe
/// plan is done long before a consumer that reads late; `hold` after `start` came too late for
/// such a plan (a re-check of a few loopback ports finished before its cool-down re-probes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_started_held_stays_open_after_a_plan_that_ends_at_once() {
    let scenario = parse_scenario(
        "name = \"one\"\ndescription = \"one port\"\nports = \"22\"\n\
         [[hosts]]\naddr = \"127.0.0.1\"\nopen = \"22\"\nlatency = { median = \"50us\", p99 = \"100us\" }\n",
        "one",
    )
    .unwrap();
    let mut running = start_held(&scenario);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen = Vec::new();
    while let Ok(Some(e)) =
        tokio::time::timeout(Duration::from_millis(300), running.events.recv()).await
    {
        seen.push(e);
    }
    assert!(
        seen.iter().any(|e| matches!(e, ScanEvent::Probe(_))),
        "the plan ran: {seen:?}"
    );
    assert!(
        !seen.iter().any(|e| matches!(e, ScanEvent::Finished { .. })),
        "held: not finished: {seen:?}"
    );
    running.control.release();
    let mut finished = false;
    while let Some(e) = running.events.recv().await {
        finished |= matches!(e, ScanEvent::Finished { .. });
    }
    assert!(finished);
}
