//! A scan under a tiny open-file limit (set in a child process) completes, counts its local
//! errors, and reports every port correctly.
//!
//! The parent test binds, on all loopback addresses: an open port, a "black hole" port (a listener
//! whose accept queue is full, so the kernel drops further SYNs and connects hang until the
//! timeout, holding their descriptors), and a closed port. The child re-runs this test binary
//! with a low RLIMIT_NOFILE and scans 100 loopback hosts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use scanwatch::engine::{self, EngineOptions, ScanPlan};
use scanwatch::event::ScanParams;
use scanwatch::monitor::Monitor;
use scanwatch::probe::TcpConnect;
use socket2::{Domain, Socket, Type};

const CHILD_ENV: &str = "SCANWATCH_FD_LIMIT_CHILD";
const FD_LIMIT: u64 = 48;
const HOSTS: u32 = 100;

/// A listener with a full accept queue: SYNs to it are dropped.
fn black_hole() -> (Socket, TcpStream, u16) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).into())
        .unwrap();
    socket.listen(0).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    let filler = TcpStream::connect(("127.0.0.1", port)).unwrap();
    (socket, filler, port)
}

#[test]
fn scan_completes_under_a_low_fd_limit() {
    let open = TcpListener::bind("0.0.0.0:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    let (_hole, _filler, hole_port) = black_hole();
    let closed_port = TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let output = Command::new(std::env::current_exe().unwrap())
        .args(["child_scan_under_low_fd_limit", "--exact", "--nocapture"])
        .env(CHILD_ENV, format!("{open_port},{hole_port},{closed_port}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT"))
        .unwrap_or_else(|| panic!("no RESULT line:\n{stdout}\n{stderr}"));
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(field("open"), u64::from(HOSTS), "{line}");
    assert_eq!(field("closed"), u64::from(HOSTS), "{line}");
    assert_eq!(field("filtered"), u64::from(HOSTS), "{line}");
    assert_eq!(field("not_scanned"), 0, "{line}");
    assert!(field("local_errors") > 0, "the limit was hit: {line}");
}

/// Runs only as the child of the test above.
#[test]
fn child_scan_under_low_fd_limit() {
    let Ok(ports) = std::env::var(CHILD_ENV) else {
        return;
    };
    let ports: Vec<u16> = ports.split(',').map(|p| p.parse().unwrap()).collect();
    let limit = libc::rlimit {
        rlim_cur: FD_LIMIT,
        rlim_max: FD_LIMIT,
    };
    // SAFETY: setrlimit with a valid, initialised struct; this process is the test's own child.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = runtime.block_on(async {
        let hosts = (1..=HOSTS)
            .map(|i| IpAddr::V4(Ipv4Addr::from(0x7f00_0000 + i)))
            .collect();
        let plan = ScanPlan::for_addrs(hosts, ports, 5);
        let params = ScanParams {
            concurrency: 200,
            max_per_host: 4,
            timeout: Duration::from_millis(300),
            retries: 0,
            rate: None,
            paused: false,
        };
        let mut run = engine::start(TcpConnect::new(), plan, params, EngineOptions::default());
        let mut monitor = Monitor::new();
        while let Some(e) = run.events.recv().await {
            monitor.apply(&e);
        }
        monitor.into_state()
    });
    let t = state.totals;
    println!(
        "RESULT open={} closed={} filtered={} not_scanned={} local_errors={}",
        t.open,
        t.closed,
        t.filtered(),
        t.not_scanned,
        state.local_errors
    );
}
