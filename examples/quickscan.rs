use scanwatch::engine::{self, EngineOptions, ScanPlan};
use scanwatch::event::{ScanEvent, ScanParams};
use scanwatch::monitor::Monitor;
use scanwatch::probe::TcpConnect;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let conc: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1000);
    let mut listeners = Vec::new();
    for p in [22u16, 80, 443, 8080, 31337] {
        if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", p)) {
            listeners.push(l);
        }
    }
    let plan = ScanPlan::for_addrs(
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        (1..=65535).collect(),
        1,
    );
    let params = ScanParams {
        concurrency: conc,
        max_per_host: conc,
        timeout: Duration::from_secs(1),
        retries: 1,
        rate: None,
        paused: false,
    };
    let t = Instant::now();
    let mut run = engine::start(TcpConnect::new(), plan, params, EngineOptions::default());
    let mut m = Monitor::new();
    let mut buf = Vec::new();
    while run.events.recv_many(&mut buf, 1024).await > 0 {
        for e in buf.drain(..) {
            m.apply(&e);
            if matches!(e, ScanEvent::Finished { .. }) {}
        }
    }
    let s = m.state();
    println!(
        "{:?} done={} open={} closed={} filt={} local={} ",
        t.elapsed(),
        s.probes_done(),
        s.totals.open,
        s.totals.closed,
        s.totals.timed_out,
        s.local_errors
    );
    for h in s.up_hosts() {
        println!(
            "{:?}",
            h.open_ports_sorted()
                .iter()
                .map(|p| p.port)
                .collect::<Vec<_>>()
        );
    }
}
