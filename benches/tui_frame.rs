//! One frame of the live view for a big scan: 65,536 hosts (127.1.0.0/16, synthetic events,
//! nothing is probed) and 1,000 open ports with banners on the selected host, folded through the
//! `Monitor` (detector included) so the state is the real thing. Draws into a `TestBackend` and
//! prints the median frame time (target: 2 ms or less), and what rebuilding the hosts index
//! (sort and filter, done at most every 250 ms) costs.
//!
//! Run: `cargo bench --bench tui_frame`
//! Knobs: `BENCH_FRAMES` (frames measured, default 200), `BENCH_HOSTS` (default 65536).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use scanwatch::event::{
    AfterConnect, FilterReason, FinishReason, ProbeOutcome, ProbeRecord, ScanEvent, ScanParams,
};
use scanwatch::monitor::Monitor;
use scanwatch::state::ScanState;
use scanwatch::tui::{Action, App, TuiOptions, draw};

/// Open ports on the selected host.
const OPEN_PORTS: u16 = 1_000;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn addr(host: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x7f01_0000 + host))
}

fn probe(host: u32, port: u16, outcome: ProbeOutcome, t_us: u64, seq: u64) -> ScanEvent {
    let after_connect = if outcome == ProbeOutcome::Open && host == 0 {
        AfterConnect::Banner(Arc::from(
            format!("SSH-2.0-OpenSSH_9.6 port {port}\r\n").as_bytes(),
        ))
    } else {
        AfterConnect::NotRead
    };
    ScanEvent::Probe(ProbeRecord {
        host,
        addr: addr(host),
        port,
        outcome,
        connect_us: 300 + u64::from(host % 97) * 20 + u64::from(port % 13) * 50,
        attempt: 1,
        seq,
        t_us,
        after_connect,
    })
}

/// A scan of `hosts` hosts: each answered on a few ports (one open); host 0 has `OPEN_PORTS`
/// open ports with banners. Spread over 120 s of scan time.
fn build_state(hosts: u32) -> ScanState {
    let mut monitor = Monitor::new();
    let per_host = 5u64;
    let probes = u64::from(hosts) * per_host + u64::from(OPEN_PORTS);
    monitor.apply(&ScanEvent::Started {
        hosts: Some(u64::from(hosts)),
        ports_per_host: 5,
        probes: Some(probes),
        params: ScanParams {
            concurrency: 1024,
            max_per_host: 512,
            timeout: Duration::from_millis(1500),
            retries: 1,
            rate: None,
            paused: false,
        },
        seed: 1,
    });
    let span_us = 120_000_000u64;
    let mut seq = 0;
    for host in 0..hosts {
        let t = u64::from(host) * span_us / u64::from(hosts.max(1));
        monitor.apply(&ScanEvent::HostStarted {
            host,
            addr: addr(host),
            name: None,
            t_us: t,
        });
        let outcomes = [
            ProbeOutcome::Open,
            ProbeOutcome::Closed,
            ProbeOutcome::Closed,
            ProbeOutcome::Closed,
            ProbeOutcome::Filtered(FilterReason::NoResponse),
        ];
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let port = [22u16, 23, 25, 80, 443][i];
            monitor.apply(&probe(host, port, outcome, t + i as u64 * 10, seq));
            seq += 1;
        }
        if host == 0 {
            for port in 0..OPEN_PORTS {
                monitor.apply(&probe(0, 1000 + port, ProbeOutcome::Open, t + 100, seq));
                seq += 1;
            }
        }
        monitor.apply(&ScanEvent::HostDone {
            host,
            t_us: t + 200,
        });
    }
    monitor.apply(&ScanEvent::Finished {
        reason: FinishReason::Completed,
        t_us: span_us,
    });
    monitor.into_state()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let hosts = env_or("BENCH_HOSTS", 65_536) as u32;
    let frames = env_or("BENCH_FRAMES", 200).max(1) as usize;
    let built = Instant::now();
    let state = build_state(hosts);
    println!(
        "state: {} hosts, {} open ports on the selected host, {} alarm(s); folded in {:.2?}",
        state.hosts.len(),
        state.hosts.get(&0).map_or(0, |h| h.open_ports.len()),
        state.alarms.len(),
        built.elapsed()
    );

    let mut app = App::new(&TuiOptions::default(), None);
    let t = Instant::now();
    app.refresh_index(&state, Instant::now(), true);
    println!("hosts index (sort by address): {:.2?}", t.elapsed());
    // Sort by open ports: the host with 1,000 open ports comes first and is selected.
    app.dispatch(Action::Sort, &state);
    app.dispatch(Action::Sort, &state);
    let t = Instant::now();
    app.refresh_index(&state, Instant::now(), true);
    println!("hosts index (sort by open ports): {:.2?}", t.elapsed());
    assert_eq!(app.selected(), Some(0), "the busiest host is selected");
    app.dispatch(Action::FocusNext, &state);

    for (width, height) in [(160u16, 48u16), (80, 24), (250, 70)] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
        // One frame to warm up, then alternate the ports pane's scroll so frames differ.
        terminal.draw(|f| draw(f, &app, &state)).expect("draws");
        let mut times = Vec::with_capacity(frames);
        for i in 0..frames {
            app.dispatch(
                if i % 2 == 0 {
                    Action::PageDown
                } else {
                    Action::PageUp
                },
                &state,
            );
            let t = Instant::now();
            terminal.draw(|f| draw(f, &app, &state)).expect("draws");
            times.push(t.elapsed());
        }
        let max = times.iter().max().copied().unwrap_or_default();
        let med = median(times);
        println!(
            "frame {width}x{height}: median {:.3} ms, max {:.3} ms over {frames} frames (target ≤ 2 ms)",
            med.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
}
