//! The detector, measured on the simulated network under the paused clock (exact and
//! reproducible: the Monitor runs in lockstep with the simulated world).
//!
//! 1. Detection delay: for each interference scenario and seed, whether the right alarm fired on
//!    the right scope, what else fired, and how long after the onset (simulated seconds, and
//!    probes answered or timed out between the onset and the alarm).
//! 2. False alarms over many seeded clean scans (`awkward` and `healthy`): target 0.
//! 3. Detector cost: the same recorded events folded by a Monitor with and without the
//!    detector, alternating, in one run; events per second and their ratio.
//!
//! Run: `cargo bench --bench detector`
//! Knobs: `BENCH_SEEDS` (seeds per interference scenario, default 20), `BENCH_CLEAN_SEEDS`
//! (clean scans, default 1000), `BENCH_COST_HOSTS` (hosts in the cost scan, default 16384).

use std::net::IpAddr;
use std::time::Instant;

use scanwatch::demo::{DemoPlan, run_lockstep, suggested_params};
use scanwatch::detector::{Alarm, AlarmKind, Scope};
use scanwatch::event::{FilterReason, ProbeOutcome, ScanEvent};
use scanwatch::monitor::Monitor;
use scanwatch::sim::{builtin, parse_scenario};
use scanwatch::state::ScanState;

/// When the interference starts, for a scenario.
#[derive(Clone, Copy)]
enum Onset {
    /// Fixed, in simulated seconds.
    At(f64),
    /// The send time of the first probe to an affected host that got no answer.
    FirstSilence,
    /// The first probe to an affected host (interference in force from the start).
    FirstProbe,
}

struct Case {
    scenario: &'static str,
    kind: AlarmKind,
    /// The hosts the alarm must name (a host scope or a range inside these).
    affected: &'static [&'static str],
    onset: Onset,
}

const CASES: &[Case] = &[
    Case {
        scenario: "shun",
        kind: AlarmKind::Shun,
        affected: &["127.0.3.10"],
        onset: Onset::FirstSilence,
    },
    Case {
        scenario: "range",
        kind: AlarmKind::Range,
        affected: &[
            "127.0.30.0",
            "127.0.30.1",
            "127.0.30.2",
            "127.0.30.3",
            "127.0.30.4",
            "127.0.30.5",
            "127.0.30.6",
            "127.0.30.7",
        ],
        onset: Onset::FirstSilence,
    },
    Case {
        scenario: "ratelimit",
        kind: AlarmKind::Rate,
        affected: &["127.0.4.10"],
        onset: Onset::At(10.0),
    },
    Case {
        scenario: "rstlimit",
        kind: AlarmKind::RstLimit,
        affected: &["127.0.5.10"],
        onset: Onset::FirstSilence,
    },
    Case {
        scenario: "tarpit",
        kind: AlarmKind::Deception,
        affected: &["127.0.6.10", "127.0.6.11", "127.0.6.12"],
        onset: Onset::FirstProbe,
    },
    Case {
        scenario: "qos",
        kind: AlarmKind::Qos,
        affected: &[
            "127.0.7.0",
            "127.0.7.1",
            "127.0.7.2",
            "127.0.7.3",
            "127.0.7.4",
            "127.0.7.5",
            "127.0.7.6",
            "127.0.7.7",
            "127.0.7.8",
            "127.0.7.9",
            "127.0.7.10",
            "127.0.7.11",
            "127.0.7.12",
            "127.0.7.13",
            "127.0.7.14",
            "127.0.7.15",
        ],
        onset: Onset::At(20.0),
    },
    Case {
        scenario: "linkloss",
        kind: AlarmKind::Lost,
        affected: &[],
        onset: Onset::At(30.0),
    },
];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

/// One simulated scan in lockstep: the final state and every event.
fn scan(name: &str, seed: u64) -> (ScanState, Vec<ScanEvent>) {
    let scenario = builtin(name).expect("built-in scenario");
    let plan = DemoPlan::new(scenario.clone()).expect("plan");
    let mut monitor = Monitor::new();
    let mut events = Vec::new();
    runtime().block_on(run_lockstep(
        &plan,
        seed,
        suggested_params(&scenario),
        &mut monitor,
        |e| events.push(e.clone()),
    ));
    (monitor.into_state(), events)
}

/// Whether an alarm names (only) affected hosts; a scan-wide alarm matches a case with none.
fn on_target(alarm: &Alarm, affected: &[IpAddr]) -> bool {
    match alarm.scope {
        Scope::Host { addr } => affected.contains(&addr),
        Scope::Range { first, last } => affected.contains(&first) && affected.contains(&last),
        Scope::Scan => affected.is_empty(),
    }
}

fn onset_us(case: &Case, affected: &[IpAddr], events: &[ScanEvent]) -> Option<u64> {
    let mine = |addr: &IpAddr| affected.is_empty() || affected.contains(addr);
    match case.onset {
        Onset::At(s) => Some((s * 1e6) as u64),
        Onset::FirstSilence => events.iter().find_map(|e| match e {
            ScanEvent::Probe(r)
                if mine(&r.addr)
                    && r.outcome == ProbeOutcome::Filtered(FilterReason::NoResponse) =>
            {
                Some(r.t_us - r.connect_us * u64::from(r.attempt))
            }
            _ => None,
        }),
        Onset::FirstProbe => events.iter().find_map(|e| match e {
            ScanEvent::Probe(r) if mine(&r.addr) => Some(r.t_us - r.connect_us),
            _ => None,
        }),
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn detection_delays(seeds: u64) {
    println!("## Detection delay ({seeds} seeds per scenario)");
    println!(
        "{:<10} {:<10} {:>6} {:>7} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "scenario",
        "alarm",
        "hit",
        "other",
        "med s",
        "max s",
        "med probes",
        "max probes",
        "max seed"
    );
    for case in CASES {
        let affected: Vec<IpAddr> = case.affected.iter().map(|a| a.parse().unwrap()).collect();
        let (mut hits, mut other) = (0, 0);
        let (mut secs, mut probes) = (Vec::new(), Vec::new());
        let mut slowest = 0;
        for seed in 1..=seeds {
            let (state, events) = scan(case.scenario, seed);
            let hit = state
                .alarms
                .iter()
                .find(|a| a.kind == case.kind && on_target(a, &affected));
            other += state
                .alarms
                .iter()
                .filter(|a| !(a.kind == case.kind && on_target(a, &affected)))
                .count();
            let (Some(alarm), Some(onset)) = (hit, onset_us(case, &affected, &events)) else {
                if seeds - hits <= 3 || std::env::var_os("BENCH_VERBOSE").is_some() {
                    let fired: Vec<String> = state.alarms.iter().map(|a| a.line()).collect();
                    println!("  miss: {} seed {seed}: {fired:?}", case.scenario);
                }
                continue;
            };
            hits += 1;
            let delay = alarm.raised_us.saturating_sub(onset) as f64 / 1e6;
            if secs.iter().all(|&s| s < delay) {
                slowest = seed;
            }
            secs.push(delay);
            let between = events
                .iter()
                .filter(|e| match e {
                    ScanEvent::Probe(r) => {
                        r.t_us >= onset
                            && r.t_us <= alarm.raised_us
                            && (affected.is_empty() || affected.contains(&r.addr))
                    }
                    _ => false,
                })
                .count();
            probes.push(between as f64);
        }
        let max = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
        println!(
            "{:<10} {:<10} {:>3}/{:<2} {:>7} {:>10.2} {:>10.2} {:>10.0} {:>10.0} {:>8}",
            case.scenario,
            case.kind.as_str(),
            hits,
            seeds,
            other,
            median(&mut secs.clone()),
            max(&secs),
            median(&mut probes.clone()),
            max(&probes),
            slowest,
        );
    }
    println!("(probes: results for the affected hosts between the onset and the alarm)");
}

fn false_alarms(seeds: u64) {
    println!("\n## False alarms over {seeds} seeded clean scans");
    let started = Instant::now();
    let mut by_scenario = Vec::new();
    for name in ["awkward", "healthy"] {
        let runs = if name == "awkward" {
            seeds - seeds / 4
        } else {
            seeds / 4
        };
        let (mut alarms, mut suspect, mut scans_with_alarms) = (0usize, 0u64, 0u64);
        for seed in 1..=runs {
            let (state, _) = scan(name, seed);
            if !state.alarms.is_empty() {
                scans_with_alarms += 1;
                if scans_with_alarms <= 3 {
                    println!("  {name} seed {seed}: {}", state.alarms[0].line());
                }
            }
            alarms += state.alarms.len();
            suspect += state.suspect;
        }
        by_scenario.push((name, runs, scans_with_alarms, alarms, suspect));
    }
    for (name, runs, with, alarms, suspect) in by_scenario {
        println!(
            "{name:<10} {runs:>5} scans: {with} with alarms, {alarms} alarms, {suspect} probes marked suspect"
        );
    }
    println!("({:.1} s)", started.elapsed().as_secs_f64());
}

fn cost_scenario(hosts: u64) -> String {
    // A block of `hosts` addresses from 127.1.0.0, as a list of CIDRs.
    let prefix = 32 - hosts.max(1).next_power_of_two().trailing_zeros();
    format!(
        r#"
name = "cost"
description = "many hosts with three open ports each; one in 64 is filtered from the start"
ports = "1-100"
timeout = "1s"

[[hosts]]
addr = "127.1.0.0/{prefix}"
open = "22,80,443"
latency = {{ median = "2ms", p99 = "20ms" }}
"#
    )
}

fn detector_cost(hosts: u64) {
    println!("\n## Detector cost");
    let scenario = parse_scenario(&cost_scenario(hosts), "bench").expect("scenario");
    let plan = DemoPlan::new(scenario.clone()).expect("plan");
    let mut params = suggested_params(&scenario);
    params.concurrency = 4096;
    params.max_per_host = 100;
    let mut events = Vec::new();
    let mut monitor = Monitor::new();
    runtime().block_on(run_lockstep(&plan, 1, params, &mut monitor, |e| {
        events.push(e.clone())
    }));
    println!(
        "the clean {hosts}-host scan (lockstep) raised {} alarm(s)",
        monitor.state().alarms.len()
    );
    let mixed = scan("mixed", 1).1;
    for (label, events) in [
        ("clean /18-style scan", &events),
        ("mixed scenario", &mixed),
    ] {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for round in 0..6 {
            let with = round % 2 == 0;
            let mut monitor = if with {
                Monitor::new()
            } else {
                Monitor::without_detector()
            };
            let started = Instant::now();
            for e in events.iter() {
                monitor.apply(e);
                let _ = monitor.take_sentinel_requests();
            }
            let rate = events.len() as f64 / started.elapsed().as_secs_f64();
            std::hint::black_box(monitor.state().alarms.len());
            if with { on.push(rate) } else { off.push(rate) }
        }
        let (on, off) = (median(&mut on), median(&mut off));
        println!(
            "{label:<22} {} events: detector on {:.2} M events/s, off {:.2} M events/s, on/off {:.2}",
            events.len(),
            on / 1e6,
            off / 1e6,
            on / off
        );
    }
}

fn main() {
    let seeds = env_or("BENCH_SEEDS", 20);
    let clean = env_or("BENCH_CLEAN_SEEDS", 1000);
    let hosts = env_or("BENCH_COST_HOSTS", 16384);
    detection_delays(seeds);
    false_alarms(clean);
    detector_cost(hosts);
}
