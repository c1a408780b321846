//! Long-run stability: an hour of simulated scan time, in lockstep under tokio's paused clock,
//! through the engine, the simulated network, the monitor (detector included) and the session
//! log writer, with every byte of heap counted by this test's allocator. Once every host has
//! been seen, the live heap must stay flat: a leak of even a few bytes per probe (360,000
//! probes) would add megabytes.
//!
//! The figure for the real binary (resident memory over 68 simulated minutes) comes from
//! `bash benches/long_run.sh`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use scanwatch::demo::{DemoPlan, run_lockstep, suggested_params};
use scanwatch::event::ScanEvent;
use scanwatch::session::{SessionHeader, SessionMode, SessionWriter};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// 16 hosts x 24,000 ports at 100 probes/s: 384,000 probes, and 96,000 retries to the four
/// silent hosts, over about an hour. The hosts are few enough that all of them are in the scan
/// from its first minute, so anything that grows after that grows with time, not results.
const SCENARIO: &str = r#"
name = "memory"
description = "an hour of scan time over 16 hosts"
ports = "1-24000"
timeout = "500ms"
concurrency = 100
rate = 100
targets = ["127.33.0.0/28"]

[[hosts]]
addr = "127.33.0.0/29"
open = "22,80,443,8080"
latency = { median = "1ms", p99 = "8ms" }
loss = 0.01
banners = { 22 = "SSH-2.0-OpenSSH_9.2p1\r\n" }

[[hosts]]
addr = "127.33.0.8/30"
open = "22"
latency = { median = "20ms", p99 = "80ms" }
"#;

const MINUTE_US: u64 = 60_000_000;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_hour_of_scanning_keeps_the_heap_flat() {
    let scenario = scanwatch::sim::parse_scenario(SCENARIO, "memory").unwrap();
    let plan = DemoPlan::new(scenario).unwrap();
    let params = suggested_params(&plan.scenario);
    let header = SessionHeader::new(
        SessionMode::Demo,
        Vec::new(),
        plan.scenario.targets(),
        &params,
        1,
        Default::default(),
    );
    let mut monitor = header.monitor();
    let mut log = SessionWriter::from_writer("memory.jsonl".into(), std::io::sink(), &header)
        .expect("a log to a sink");
    // Live heap bytes at the end of each minute of scan time, and hosts seen by then.
    let mut per_minute: Vec<(usize, usize)> = Vec::new();
    let mut hosts_seen = 0;
    run_lockstep(&plan, 1, params, &mut monitor, |event| {
        log.event(event);
        if matches!(event, ScanEvent::HostStarted { .. }) {
            hosts_seen += 1;
        }
        let Some(t_us) = event.time_us() else { return };
        let minute = (t_us / MINUTE_US) as usize;
        while per_minute.len() < minute {
            per_minute.push((LIVE.load(Ordering::Relaxed), hosts_seen));
        }
    })
    .await;
    log.finish(scanwatch::session::EndReason::Completed, None)
        .expect("the log closes");

    let minutes = per_minute.len();
    assert!(
        minutes >= 60,
        "the scan took {minutes} minutes of scan time"
    );
    assert_eq!(per_minute[1].1, 16, "every host is in the scan by minute 2");
    let level = |minute: usize| per_minute[minute].0;
    let (at_10, at_end) = (level(10), level(minutes - 1));
    let peak_after = per_minute[10..]
        .iter()
        .map(|(live, _)| *live)
        .max()
        .unwrap();
    let table: Vec<String> = per_minute
        .iter()
        .enumerate()
        .filter(|(m, _)| m % 5 == 0 || *m + 1 == minutes)
        .map(|(m, (live, _))| format!("minute {m}: {} KiB", live / 1024))
        .collect();
    eprintln!("live heap: {}", table.join(", "));
    // What does grow with time, by design: the activity pane's per-second history (16 bytes a
    // second, kept for the latest day so the pane can scroll back), about 56 KiB an hour, held
    // in a buffer that doubles. 128 KiB covers it; a leak of one byte per probe is 480 KB.
    assert!(
        at_end <= at_10 + 128 * 1024,
        "the heap grew from {} KiB at minute 10 to {} KiB at the end: {table:?}",
        at_10 / 1024,
        at_end / 1024
    );
    // Batches in flight to the log writer come and go; they must stay small.
    assert!(
        peak_after <= at_10 + 1024 * 1024,
        "the heap peaked at {} KiB after minute 10 ({} KiB then): {table:?}",
        peak_after / 1024,
        at_10 / 1024
    );
}
