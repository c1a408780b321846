//! A /16 (65,536 hosts) × 100 ports simulated scan through Engine + Monitor, under tokio's paused
//! clock: events folded per second of real (wall) time, and the process's peak RSS.
//! Targets (issue "Simulated network and `scanwatch demo`"): ≥ 1,000,000 events/s, ≤ 200 MB.
//!
//! Run: `cargo bench --bench sim_scale`

use std::time::Instant;

use scanwatch::demo::DemoPlan;
use scanwatch::engine::{self, EngineOptions};
use scanwatch::event::ScanParams;
use scanwatch::monitor::Monitor;
use scanwatch::sim::{Simulated, parse_scenario};

const SCENARIO: &str = r#"
name = "bench-16"
description = "a /16 of hosts with three open ports each"
ports = "1-100"
timeout = "1s"

[[hosts]]
addr = "127.1.0.0/16"
open = "22,80,443"
latency = { median = "2ms", p99 = "20ms" }
"#;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let concurrency: u32 = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096);
    // As in `scanwatch demo`: the simulated world (engine + simulated network) runs on its own
    // thread under a paused clock; the monitor folds its events on another.
    let (tx, rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    let world = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let scenario = parse_scenario(SCENARIO, "bench").unwrap();
            let plan = DemoPlan::new(scenario.clone()).unwrap().scan_plan(1);
            let params = ScanParams {
                concurrency,
                max_per_host: 100,
                timeout: scenario.suggested_timeout().unwrap(),
                retries: 1,
                rate: None,
                paused: false,
            };
            let run = engine::start(
                Simulated::new(&scenario, 1),
                plan,
                params,
                EngineOptions::default(),
            );
            tx.send(run.events).unwrap();
            run.task.await.unwrap();
        });
    });
    let mut events_rx = rx.recv().unwrap();
    let mut monitor = Monitor::new();
    let mut batch = Vec::with_capacity(4096);
    let mut events = 0u64;
    while events_rx.blocking_recv_many(&mut batch, 4096) > 0 {
        for e in batch.drain(..) {
            monitor.apply(&e);
            events += 1;
        }
    }
    let wall = started.elapsed();
    world.join().unwrap();
    let state = monitor.into_state();
    let rate = events as f64 / wall.as_secs_f64();
    println!("sim_scale: /16 x 100 ports, concurrency {concurrency}, paused clock");
    println!(
        "  probes {}  events {}  hosts up {}  open {}  filtered {}  alarms {}  virtual time {:.1} s",
        state.probes_done(),
        events,
        state.up_hosts().len(),
        state.totals.open,
        state.totals.filtered(),
        state.alarms.len(),
        state.now_us as f64 / 1e6
    );
    println!(
        "  wall {:.2} s  events folded/s {:.0}  (target >= 1,000,000: {})",
        wall.as_secs_f64(),
        rate,
        if rate >= 1e6 { "PASS" } else { "FAIL" }
    );
    for alarm in &state.alarms {
        println!("  alarm: {}", alarm.line());
    }
    let rss = peak_rss_mb();
    println!(
        "  peak RSS {rss:.1} MB  (target <= 200 MB: {})",
        if rss <= 200.0 { "PASS" } else { "FAIL" }
    );
}
