use super::*;
use crate::demo::{DemoPlan, run_lockstep, suggested_params};
use crate::detector::{AlarmKind, AlarmThresholds};
use crate::engine::{self, EngineOptions, Shard};
use crate::sim::{Simulated, builtin};

/// A whole simulated scan in lockstep: its events and the live final state.
async fn record(name: &str, seed: u64) -> (Vec<ScanEvent>, ScanState) {
    let scenario = builtin(name).unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let mut monitor = Monitor::new();
    let mut events = Vec::new();
    run_lockstep(
        &plan,
        seed,
        suggested_params(&scenario),
        &mut monitor,
        |e| events.push(e.clone()),
    )
    .await;
    (events, monitor.into_state())
}

/// The same scan, one shard of it, in lockstep.
async fn record_shard(name: &str, seed: u64, shard: Shard) -> Vec<ScanEvent> {
    let scenario = builtin(name).unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let mut running = engine::start(
        Simulated::new(&scenario, seed),
        plan.scan_plan(seed).with_shard(shard),
        suggested_params(&scenario),
        EngineOptions::default(),
    );
    let mut monitor = Monitor::new();
    let mut events = Vec::new();
    while let Some(event) = running.events.recv().await {
        monitor.apply(&event);
        for request in monitor.take_sentinel_requests() {
            running.control.sentinel(request);
        }
        events.push(event);
    }
    events
}

fn same(a: &ScanState, b: &ScanState) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

#[tokio::test(start_paused = true)]
async fn playing_to_the_end_rebuilds_the_live_state() {
    for name in ["shun", "mixed", "tarpit"] {
        let (events, live) = record(name, 3).await;
        let mut replay = Replay::new(events, AlarmThresholds::default());
        replay.faster();
        while !replay.at_end() {
            replay.advance(0.5);
        }
        assert!(
            same(replay.state(), &live),
            "{name}: the replayed state differs"
        );
        assert!(replay.is_paused(), "it stops at the end");
    }
}

#[tokio::test(start_paused = true)]
async fn jumps_to_alarms_and_back_show_the_state_of_that_moment() {
    let (events, live) = record("mixed", 1).await;
    let mut replay = Replay::new(events.clone(), AlarmThresholds::default());
    assert_eq!(replay.alarm_times().len(), live.alarms.len());
    assert!(replay.alarm_times().len() >= 4);

    assert!(replay.next_alarm());
    let first = replay.position_us();
    assert_eq!(first, replay.alarm_times()[0]);
    assert!(replay.is_paused());
    assert_eq!(
        replay.state().alarms.len(),
        1,
        "the first alarm is up, no other"
    );
    assert!(replay.next_alarm());
    let second = replay.position_us();
    assert!(second > first);
    assert!(replay.state().alarms.len() >= 2);

    // Back to the first: the state is folded again from the start.
    assert!(replay.previous_alarm());
    assert_eq!(replay.position_us(), first);
    let mut direct = Replay::new(events, AlarmThresholds::default());
    direct.seek(first);
    assert!(same(replay.state(), direct.state()));
    assert!(!replay.previous_alarm(), "no alarm before the first");

    replay.jump_to_end();
    assert!(replay.at_end());
    assert!(same(replay.state(), &live));
    assert!(!replay.next_alarm());
}

#[tokio::test(start_paused = true)]
async fn speed_doubles_and_halves_within_its_bounds() {
    let (events, _) = record("healthy", 1).await;
    let mut replay = Replay::new(events, AlarmThresholds::default());
    for _ in 0..10 {
        replay.faster();
    }
    assert_eq!(replay.speed(), MAX_SPEED);
    for _ in 0..20 {
        replay.slower();
    }
    assert_eq!(replay.speed(), MIN_SPEED);
    // A quarter of a scan second per real second: 2 real seconds move the playhead 0.5 s.
    replay.advance(2.0);
    assert_eq!(replay.position_us(), 500_000);
    replay.toggle_pause();
    replay.advance(10.0);
    assert_eq!(replay.position_us(), 500_000, "paused: the playhead stays");
    for bad in [f64::NAN, -1.0, f64::INFINITY] {
        replay.toggle_pause();
        replay.advance(bad);
        replay.toggle_pause();
    }
    assert_eq!(replay.position_us(), 500_000);
}

#[tokio::test(start_paused = true)]
async fn shards_merge_into_the_whole_scan() {
    let (_, whole) = record("healthy", 5).await;
    let shards = vec![
        SessionEvents {
            start_offset_us: 0,
            events: record_shard("healthy", 5, Shard { index: 0, count: 2 }).await,
        },
        SessionEvents {
            start_offset_us: 250_000,
            events: record_shard("healthy", 5, Shard { index: 1, count: 2 }).await,
        },
    ];
    let merged = merge(shards);
    let mut replay = Replay::new(merged, AlarmThresholds::default());
    replay.jump_to_end();
    let state = replay.state();
    assert_eq!(
        state.hosts.len(),
        whole.hosts.len(),
        "one entry per address"
    );
    assert_eq!(state.totals, whole.totals, "every probe of both shards");
    assert_eq!(state.hosts_done, whole.hosts_done);
    assert!(
        state.finished.is_some(),
        "finished once both shards finished"
    );
    let open = |s: &ScanState| {
        let mut v: Vec<(std::net::IpAddr, Vec<u16>)> = s
            .hosts
            .values()
            .map(|h| {
                let mut ports: Vec<u16> = h.open_ports.iter().map(|p| p.port).collect();
                ports.sort_unstable();
                (h.addr, ports)
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(open(state), open(&whole));
    let times: Vec<u64> = replay
        .events
        .iter()
        .filter_map(ScanEvent::time_us)
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
    assert!(state.alarms.iter().all(|a| a.kind != AlarmKind::Shun));
}

#[test]
fn one_log_passes_through_unchanged_and_nothing_merges_to_nothing() {
    let events = vec![ScanEvent::HostDone { host: 7, t_us: 5 }];
    let merged = merge(vec![SessionEvents {
        start_offset_us: 0,
        events: events.clone(),
    }]);
    assert_eq!(merged, events);
    assert!(merge(Vec::new()).is_empty());
    let mut replay = Replay::new(Vec::new(), AlarmThresholds::default());
    assert!(replay.at_end());
    replay.advance(1.0);
    replay.jump_to_end();
    assert!(!replay.next_alarm() && !replay.previous_alarm());
}

#[test]
fn a_lazy_merge_reads_one_event_ahead_and_stops_at_the_first_error() {
    use std::cell::Cell;
    // Two logs of a thousand events each, read lazily: never more than a few events taken
    // from a log before the merge gives them out.
    let taken = [Cell::new(0usize), Cell::new(0usize)];
    let given = Cell::new(0usize);
    let log = |li: usize| {
        let taken = &taken[li];
        (0..1000u64).map(move |i| {
            taken.set(taken.get() + 1);
            Ok::<_, String>(if i == 0 {
                ScanEvent::Started {
                    hosts: Some(1),
                    ports_per_host: 1000,
                    probes: Some(1000),
                    params: crate::demo::suggested_params(&builtin("healthy").unwrap()),
                    seed: 1,
                }
            } else {
                ScanEvent::HostDone {
                    host: 0,
                    t_us: i * 10 + li as u64,
                }
            })
        })
    };
    let stream = MergeStream::new(vec![(0, log(0)), (5, log(1))]);
    for event in stream {
        event.unwrap();
        given.set(given.get() + 1);
        let ahead = taken[0].get() + taken[1].get() - given.get();
        assert!(ahead <= 4, "{ahead} events read ahead");
    }
    // An error ends the stream: nothing after it.
    let failing = (0..5u64).map(|i| {
        if i == 2 {
            Err("line 3: not a session log line".to_string())
        } else {
            Ok(ScanEvent::HostDone { host: 0, t_us: i })
        }
    });
    let out: Vec<_> = MergeStream::new(vec![(0, failing)]).collect();
    assert_eq!(out.len(), 3);
    assert!(out[2].is_err());
}
