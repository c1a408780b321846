//! Engine tests against real listeners on 127.0.0.1 (and ::1 where available), bound by the test.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use scanwatch::engine::{self, EngineOptions, ScanPlan};
use scanwatch::event::{ProbeResult, ScanEvent, ScanParams};
use scanwatch::monitor::Monitor;
use scanwatch::probe::{Prober, TcpConnect};
use scanwatch::state::ScanState;

fn params(concurrency: u32) -> ScanParams {
    ScanParams {
        concurrency,
        max_per_host: concurrency,
        timeout: Duration::from_secs(2),
        retries: 1,
        rate: None,
        paused: false,
    }
}

/// Listeners on `n` free ports of `ip`, and `n` more ports that were free a moment ago (closed).
fn open_and_closed(ip: IpAddr, n: usize) -> Option<(Vec<TcpListener>, Vec<u16>, Vec<u16>)> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind(SocketAddr::new(ip, 0)))
        .collect::<Result<_, _>>()
        .ok()?;
    let open: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let closed: Vec<u16> = (0..n)
        .map(|_| {
            TcpListener::bind(SocketAddr::new(ip, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    Some((listeners, open, closed))
}

async fn drain(mut events: tokio::sync::mpsc::Receiver<ScanEvent>) -> ScanState {
    let mut monitor = Monitor::new();
    while let Some(e) = events.recv().await {
        monitor.apply(&e);
    }
    monitor.into_state()
}

async fn exact_sets_on(ip: IpAddr) {
    let Some((_listeners, open, closed)) = open_and_closed(ip, 20) else {
        eprintln!("skipped: cannot bind on {ip}");
        return;
    };
    let mut ports: Vec<u16> = open.iter().chain(closed.iter()).copied().collect();
    ports.sort_unstable();
    ports.dedup();
    let plan = ScanPlan::for_addrs(vec![ip], ports.clone(), 3);
    let run = engine::start(
        TcpConnect::new(),
        plan,
        params(16),
        EngineOptions::default(),
    );
    let state = drain(run.events).await;
    let host = state.up_hosts()[0];
    let found: BTreeSet<u16> = host.open_ports.iter().map(|p| p.port).collect();
    assert_eq!(found, open.iter().copied().collect::<BTreeSet<_>>());
    assert_eq!(host.counts.closed as usize, ports.len() - open.len());
    assert_eq!(host.counts.filtered(), 0);
    assert_eq!(state.probes_done() as usize, ports.len());
    assert_eq!(state.totals.not_scanned, 0);
}

#[tokio::test]
async fn finds_exactly_the_open_and_closed_ports_on_ipv4_loopback() {
    exact_sets_on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
}

#[tokio::test]
async fn finds_exactly_the_open_and_closed_ports_on_ipv6_loopback() {
    exact_sets_on(IpAddr::V6(Ipv6Addr::LOCALHOST)).await;
}

/// Per host: (probes in flight now, most in flight ever).
type PerHostInFlight = HashMap<IpAddr, (u32, u32)>;

/// Wraps the real prober: delays each probe a little (so probes overlap) and records what the
/// engine asked for.
struct Instrumented {
    inner: TcpConnect,
    delay: Duration,
    in_flight: AtomicU32,
    started: AtomicU64,
    /// Once set, any probe start above `strict_limit` in flight is a violation.
    strict: AtomicBool,
    strict_limit: AtomicU32,
    violations: AtomicU32,
    timeouts: Mutex<Vec<Duration>>,
    /// Per host: (in flight now, most in flight ever); and the most hosts probed at once.
    per_host: Mutex<(PerHostInFlight, usize)>,
}

impl Instrumented {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Instrumented {
            inner: TcpConnect::new(),
            delay,
            in_flight: AtomicU32::new(0),
            started: AtomicU64::new(0),
            strict: AtomicBool::new(false),
            strict_limit: AtomicU32::new(u32::MAX),
            violations: AtomicU32::new(0),
            timeouts: Mutex::new(Vec::new()),
            per_host: Mutex::new((HashMap::new(), 0)),
        })
    }
}

impl Prober for Instrumented {
    async fn probe(&self, addr: SocketAddr, timeout: Duration) -> ProbeResult {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.started.fetch_add(1, Ordering::SeqCst);
        if self.strict.load(Ordering::SeqCst) && now > self.strict_limit.load(Ordering::SeqCst) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        self.timeouts.lock().unwrap().push(timeout);
        {
            let mut guard = self.per_host.lock().unwrap();
            let (hosts, most_hosts) = &mut *guard;
            let entry = hosts.entry(addr.ip()).or_insert((0, 0));
            entry.0 += 1;
            entry.1 = entry.1.max(entry.0);
            let active = hosts.values().filter(|(now, _)| *now > 0).count();
            *most_hosts = (*most_hosts).max(active);
        }
        tokio::time::sleep(self.delay).await;
        let result = self.inner.probe(addr, timeout).await;
        self.per_host
            .lock()
            .unwrap()
            .0
            .get_mut(&addr.ip())
            .unwrap()
            .0 -= 1;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition not reached in 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowered_concurrency_is_honoured_once_in_flight_drains() {
    let prober = Instrumented::new(Duration::from_millis(10));
    let ports: Vec<u16> = (20_000..23_000).collect();
    let plan = ScanPlan::for_addrs(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)], ports, 1);
    let run = engine::start(
        Arc::clone(&prober),
        plan,
        params(64),
        EngineOptions::default(),
    );
    let collector = tokio::spawn(drain(run.events));

    wait_until(|| prober.started.load(Ordering::SeqCst) > 300).await;
    assert!(
        prober.in_flight.load(Ordering::SeqCst) > 8,
        "probes overlap before the change"
    );
    run.control.set_concurrency(8);
    prober.strict_limit.store(8, Ordering::SeqCst);
    wait_until(|| prober.in_flight.load(Ordering::SeqCst) <= 8).await;
    prober.strict.store(true, Ordering::SeqCst);
    let state = collector.await.unwrap();

    assert_eq!(prober.violations.load(Ordering::SeqCst), 0);
    assert_eq!(state.probes_done(), 3000);
    assert_eq!(state.param_changes.len(), 1);
    assert_eq!(state.param_changes[0].1.concurrency, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raised_timeout_applies_to_new_probes() {
    let prober = Instrumented::new(Duration::from_millis(2));
    let ports: Vec<u16> = (23_000..25_000).collect();
    let plan = ScanPlan::for_addrs(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)], ports, 1);
    let run = engine::start(
        Arc::clone(&prober),
        plan,
        params(32),
        EngineOptions::default(),
    );
    let collector = tokio::spawn(drain(run.events));
    wait_until(|| prober.started.load(Ordering::SeqCst) > 200).await;
    run.control.set_timeout(Duration::from_secs(7));
    let state = collector.await.unwrap();

    let seen = prober.timeouts.lock().unwrap().clone();
    let first_new = seen
        .iter()
        .position(|t| *t == Duration::from_secs(7))
        .expect("the new timeout was used");
    assert!(first_new >= 200);
    assert!(
        seen[first_new..]
            .iter()
            .all(|t| *t == Duration::from_secs(7)),
        "every probe after the change uses the new timeout"
    );
    assert!(
        seen[..first_new]
            .iter()
            .all(|t| *t == Duration::from_secs(2))
    );
    assert_eq!(state.params.unwrap().timeout, Duration::from_secs(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_new_probes_and_resume_finishes_the_scan() {
    let prober = Instrumented::new(Duration::from_millis(5));
    let ports: Vec<u16> = (25_000..27_000).collect();
    let plan = ScanPlan::for_addrs(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)], ports, 1);
    let run = engine::start(
        Arc::clone(&prober),
        plan,
        params(16),
        EngineOptions::default(),
    );
    let collector = tokio::spawn(drain(run.events));
    wait_until(|| prober.started.load(Ordering::SeqCst) > 100).await;
    run.control.pause();
    wait_until(|| prober.in_flight.load(Ordering::SeqCst) == 0).await;
    let frozen = prober.started.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        prober.started.load(Ordering::SeqCst),
        frozen,
        "no probe while paused"
    );
    assert!(frozen < 2000);
    run.control.resume();
    let state = collector.await.unwrap();
    assert_eq!(state.probes_done(), 2000);
    assert_eq!(prober.started.load(Ordering::SeqCst), 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_scan_promptly() {
    let prober = Instrumented::new(Duration::from_millis(5));
    let ports: Vec<u16> = (27_000..37_000).collect();
    let plan = ScanPlan::for_addrs(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)], ports, 1);
    let run = engine::start(
        Arc::clone(&prober),
        plan,
        params(16),
        EngineOptions::default(),
    );
    let collector = tokio::spawn(drain(run.events));
    wait_until(|| prober.started.load(Ordering::SeqCst) > 50).await;
    run.control.stop();
    let state = collector.await.unwrap();
    assert_eq!(
        state.finished.map(|f| f.0),
        Some(scanwatch::event::FinishReason::Stopped)
    );
    assert!(state.probes_done() < 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_cap_spreads_probes_across_hosts() {
    // Four loopback addresses, eight in flight per host at most, 32 overall.
    let prober = Instrumented::new(Duration::from_millis(5));
    let hosts: Vec<IpAddr> = (1..=4)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
        .collect();
    let plan = ScanPlan::for_addrs(hosts, (40_000..40_200).collect(), 1);
    let p = ScanParams {
        max_per_host: 8,
        ..params(32)
    };
    prober.strict_limit.store(32, Ordering::SeqCst);
    prober.strict.store(true, Ordering::SeqCst);
    let run = engine::start(Arc::clone(&prober), plan, p, EngineOptions::default());
    let state = drain(run.events).await;
    assert_eq!(state.probes_done(), 800);
    assert_eq!(prober.violations.load(Ordering::SeqCst), 0);
    assert_eq!(state.hosts_done, 4);
    let (hosts, most_hosts) = &*prober.per_host.lock().unwrap();
    assert!(hosts.values().all(|(_, most)| *most <= 8), "{hosts:?}");
    assert!(
        hosts.values().all(|(_, most)| *most == 8),
        "the cap is reached: {hosts:?}"
    );
    assert_eq!(*most_hosts, 4, "all four hosts are probed at once");
}
