//! The detector on the simulated network, under the paused clock: the right alarm fires soon
//! after the onset, on the right host, and clean networks raise nothing.

use scanwatch::demo::{DemoPlan, run_lockstep, suggested_params};
use scanwatch::detector::{Alarm, AlarmKind, Scope};
use scanwatch::event::{AfterConnect, FilterReason, ProbeOutcome, ScanEvent};
use scanwatch::monitor::Monitor;
use scanwatch::sim::{Scenario, builtin};
use scanwatch::state::ScanState;

/// Runs a scenario as the live product does: events into the Monitor (and its Detector), the
/// Detector's sentinel requests back to the engine. Returns the final state and every event.
async fn run(scenario: &Scenario, seed: u64) -> (ScanState, Vec<ScanEvent>) {
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let mut monitor = Monitor::new();
    let mut events = Vec::new();
    run_lockstep(&plan, seed, suggested_params(scenario), &mut monitor, |e| {
        events.push(e.clone())
    })
    .await;
    (monitor.into_state(), events)
}

fn host_scope(addr: &str) -> Scope {
    Scope::Host {
        addr: addr.parse().unwrap(),
    }
}

fn alarms_of(state: &ScanState, kind: AlarmKind) -> Vec<&Alarm> {
    state.alarms.iter().filter(|a| a.kind == kind).collect()
}

/// Send time of the first probe to `addr` that got no answer: the onset of the interference.
fn onset_us(events: &[ScanEvent], addr: &str) -> u64 {
    let addr: std::net::IpAddr = addr.parse().unwrap();
    events
        .iter()
        .find_map(|e| match e {
            ScanEvent::Probe(r)
                if r.addr == addr
                    && r.outcome == ProbeOutcome::Filtered(FilterReason::NoResponse) =>
            {
                Some(r.t_us - r.connect_us * u64::from(r.attempt))
            }
            _ => None,
        })
        .expect("the host went silent")
}

#[tokio::test(start_paused = true)]
async fn shun_fires_on_the_protected_host_within_seconds_of_the_onset() {
    let scenario = builtin("shun").unwrap();
    for seed in 1..=3 {
        let (state, events) = run(&scenario, seed).await;
        let shuns = alarms_of(&state, AlarmKind::Shun);
        assert!(!shuns.is_empty(), "seed {seed}: no SHUN");
        assert!(
            state
                .alarms
                .iter()
                .all(|a| a.kind == AlarmKind::Shun && a.scope == host_scope("127.0.3.10")),
            "seed {seed}: only SHUN on the protected host: {:#?}",
            state.alarms
        );
        let onset = onset_us(&events, "127.0.3.10");
        let first = shuns[0];
        // Detection delay: two timeouts of a probe (1 s each, one retry), a few more probes for
        // the CUSUM, two sentinel timeouts, then the 3 s grace period in which other hosts could
        // turn out to be silent too (RANGE, LOST): within 9 s of the onset.
        let delay = first.raised_us - onset;
        assert!(
            delay <= 9_000_000,
            "seed {seed}: raised {delay} µs after the onset"
        );
        assert!(
            first.since_us.abs_diff(onset) <= 1_500_000,
            "seed {seed}: since {} vs onset {onset}",
            first.since_us
        );
        // Probes after the change point are suspect, not plainly filtered.
        let host = state
            .up_hosts()
            .into_iter()
            .find(|h| h.addr.to_string() == "127.0.3.10")
            .unwrap();
        assert!(host.suspect > 500, "seed {seed}: suspect {}", host.suspect);
        assert!(host.sentinels >= 2);
    }
}

#[tokio::test(start_paused = true)]
async fn deception_fires_on_every_tarpit_host_and_nothing_else() {
    let scenario = builtin("tarpit").unwrap();
    let (state, _) = run(&scenario, 4).await;
    let deceptions = alarms_of(&state, AlarmKind::Deception);
    let mut scopes: Vec<String> = deceptions.iter().map(|a| a.scope.to_string()).collect();
    scopes.sort();
    assert_eq!(scopes, ["127.0.6.10", "127.0.6.11", "127.0.6.12"]);
    assert_eq!(state.alarms.len(), 3, "{:#?}", state.alarms);
    for alarm in deceptions {
        // Raised once 50 ports of the host were probed, all of them open.
        assert!(alarm.evidence.starts_with("50 of 50"), "{}", alarm.evidence);
    }
}

#[tokio::test(start_paused = true)]
async fn deception_evidence_says_what_the_open_ports_did_after_connect() {
    let scenario = builtin("tarpit").unwrap();
    let (state, _) = run(&scenario, 5).await;
    let evidence = |addr: &str| -> String {
        alarms_of(&state, AlarmKind::Deception)
            .into_iter()
            .find(|a| a.scope == host_scope(addr))
            .unwrap_or_else(|| panic!("no DECEPTION on {addr}"))
            .evidence
            .clone()
    };
    let syn_proxy = evidence("127.0.6.10");
    assert!(
        syn_proxy.contains("after connect: 50 closed at once, 0 sent a banner"),
        "{syn_proxy}"
    );
    assert!(
        syn_proxy.contains("no service behind most of them, strong evidence"),
        "{syn_proxy}"
    );
    let tarpit = evidence("127.0.6.11");
    assert!(
        tarpit.contains("after connect: 50 stayed silent, 0 sent a banner"),
        "{tarpit}"
    );
    assert!(tarpit.contains("strong evidence"), "{tarpit}");
    let honeypot = evidence("127.0.6.12");
    assert!(
        honeypot.contains("after connect: all 50 sent the same 33-byte banner"),
        "{honeypot}"
    );
    assert!(
        honeypot.contains("one banner on most ports, strong evidence"),
        "{honeypot}"
    );
    // The ordinary servers' banners are kept and raise nothing.
    let ordinary = state
        .up_hosts()
        .into_iter()
        .find(|h| h.addr.to_string() == "127.0.6.20")
        .unwrap();
    let ssh = ordinary.open_ports.iter().find(|p| p.port == 22).unwrap();
    assert_eq!(
        ssh.after_connect,
        AfterConnect::Banner(std::sync::Arc::from(&b"SSH-2.0-OpenSSH_9.6\r\n"[..]))
    );
}

/// Healthy networks, down hosts, ports filtered from the start, slow but steady hosts and light
/// random loss raise nothing.
#[tokio::test(start_paused = true)]
async fn clean_networks_raise_nothing() {
    let clean = builtin("awkward").unwrap();
    for seed in 1..=10 {
        let (state, _) = run(&clean, seed).await;
        assert!(state.alarms.is_empty(), "seed {seed}: {:#?}", state.alarms);
        assert_eq!(state.suspect, 0, "seed {seed}");
    }
    let (state, _) = run(&builtin("healthy").unwrap(), 1).await;
    assert!(state.alarms.is_empty(), "{:#?}", state.alarms);
}

#[tokio::test(start_paused = true)]
async fn rate_fires_when_answers_come_only_on_syn_retry() {
    let scenario = builtin("ratelimit").unwrap();
    for seed in 1..=3 {
        let (state, _) = run(&scenario, seed).await;
        let rates = alarms_of(&state, AlarmKind::Rate);
        assert_eq!(
            state.alarms.len(),
            1,
            "seed {seed}: only one RATE alarm: {:#?}",
            state.alarms
        );
        let alarm = rates[0];
        assert_eq!(alarm.scope, host_scope("127.0.4.10"));
        // The WAF starts dropping at 10 s; the answers that came on retry were sent within a
        // second of it. Four retry answers, then three sentinels to an open port (to tell a SYN
        // limit from an RST limit; dropped ones take the 2 s timeout): raised within 5 s.
        assert!(
            (10_000_000..11_500_000).contains(&alarm.since_us),
            "seed {seed}: since {}",
            alarm.since_us
        );
        assert!(
            alarm.raised_us - 10_000_000 <= 5_000_000,
            "seed {seed}: raised at {}",
            alarm.raised_us
        );
    }
}

#[tokio::test(start_paused = true)]
async fn qos_fires_when_many_hosts_slow_down_together() {
    let scenario = builtin("qos").unwrap();
    for seed in 1..=3 {
        let (state, _) = run(&scenario, seed).await;
        let qos = alarms_of(&state, AlarmKind::Qos);
        assert_eq!(qos.len(), 1, "seed {seed}: {:#?}", state.alarms);
        assert_eq!(state.alarms.len(), 1, "seed {seed}: {:#?}", state.alarms);
        // Inflation starts at 20 s on the /28; raised within 2 s.
        let alarm = qos[0];
        assert!(
            (20_000_000..22_000_000).contains(&alarm.raised_us),
            "seed {seed}: raised at {}",
            alarm.raised_us
        );
        match alarm.scope {
            Scope::Range { first, last } => {
                let inside = |a: std::net::IpAddr| a.to_string().starts_with("127.0.7.");
                assert!(inside(first) && inside(last));
                assert_ne!(
                    last.to_string(),
                    "127.0.7.100",
                    "the unthrottled host is not in it"
                );
            }
            other => panic!("seed {seed}: scope {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn lost_fires_when_every_host_goes_silent_and_nothing_else() {
    let scenario = builtin("linkloss").unwrap();
    let at = scenario.link_loss_at().unwrap().as_micros() as u64;
    for seed in 1..=3 {
        let (state, _) = run(&scenario, seed).await;
        assert_eq!(state.alarms.len(), 1, "seed {seed}: {:#?}", state.alarms);
        let alarm = &state.alarms[0];
        assert_eq!(alarm.kind, AlarmKind::Lost);
        assert_eq!(alarm.scope, Scope::Scan);
        assert!(
            alarm.since_us.abs_diff(at) <= 1_000_000,
            "seed {seed}: since {}",
            alarm.since_us
        );
        assert!(
            alarm.raised_us - at <= 6_000_000,
            "seed {seed}: raised {}",
            alarm.raised_us
        );
    }
}

#[tokio::test(start_paused = true)]
async fn range_fires_when_a_block_of_hosts_goes_silent_together() {
    // A firewall bans the scanner for a whole /29 after 300 SYNs to it within 5 s; one more host
    // outside the block keeps answering.
    let scenario = builtin("range").unwrap();
    for seed in 1..=3 {
        let (state, _) = run(&scenario, seed).await;
        let ranges = alarms_of(&state, AlarmKind::Range);
        assert_eq!(ranges.len(), 1, "seed {seed}: {:#?}", state.alarms);
        assert_eq!(state.alarms.len(), 1, "seed {seed}: {:#?}", state.alarms);
        match ranges[0].scope {
            Scope::Range { first, last } => {
                assert!(first.to_string().starts_with("127.0.30."), "{first}");
                assert!(last.to_string().starts_with("127.0.30."), "{last}");
            }
            other => panic!("seed {seed}: scope {other:?}"),
        }
    }
}

/// An RST limit in force from the start: closed ports go silent under load while open ports
/// answer at once. RSTLIMIT on the limited host, within 6 s of its first silent port, and nothing
/// else.
#[tokio::test(start_paused = true)]
async fn rstlimit_fires_on_the_rst_limited_host_and_nothing_else() {
    let scenario = builtin("rstlimit").unwrap();
    for seed in 1..=8 {
        let (state, events) = run(&scenario, seed).await;
        assert_eq!(state.alarms.len(), 1, "seed {seed}: {:#?}", state.alarms);
        let alarm = &state.alarms[0];
        assert_eq!(alarm.kind, AlarmKind::RstLimit, "seed {seed}: {alarm:#?}");
        assert_eq!(alarm.scope, host_scope("127.0.5.10"), "seed {seed}");
        let onset = onset_us(&events, "127.0.5.10");
        assert!(
            alarm.raised_us <= onset + 6_000_000,
            "seed {seed}: raised {} µs after the onset",
            alarm.raised_us - onset
        );
        assert!(alarm.evidence.contains("open port"), "{}", alarm.evidence);
    }
}

/// Many clean hosts whose connect times have a heavy tail (p99 ten times the median), scanned
/// fast: single long answers, and the few hosts left at the end of the scan, are not a QOS.
#[tokio::test(start_paused = true)]
async fn heavy_tailed_latency_on_many_hosts_is_not_qos() {
    let scenario = scanwatch::sim::parse_scenario(
        r#"
name = "heavy-tail"
description = "512 clean hosts with a heavy latency tail"
ports = "1-60"
timeout = "1s"
concurrency = 2048

[[hosts]]
addr = "127.2.0.0/23"
open = "22,80"
latency = { median = "2ms", p99 = "20ms" }
"#,
        "test",
    )
    .unwrap();
    for seed in 1..=3 {
        let (state, _) = run(&scenario, seed).await;
        assert!(state.alarms.is_empty(), "seed {seed}: {:#?}", state.alarms);
    }
}
