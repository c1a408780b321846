//! The read after a connect, against listeners this test binds on 127.0.0.1: a port that sends a
//! banner (with escape sequences in it), one that stays silent, ones that close at once (FIN or
//! RST), through the real `TcpConnect` and the real binary.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use scanwatch::event::{AfterConnect, ProbeOutcome};
use scanwatch::probe::{Prober, TcpConnect};

mod common;
use common::scanwatch;

/// What a listener does with each connection it accepts.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Writes these bytes at once, then holds the connection until the scanner closes it.
    Banner(&'static [u8]),
    /// Holds the connection and says nothing.
    Silent,
    /// Closes at once (FIN).
    Close,
    /// Resets it (RST, SO_LINGER 0) a moment after accepting.
    Reset,
}

/// The banner the hostile listener sends: a terminal title, a screen clear, a colour, an 8-bit
/// CSI and the greeting itself.
const HOSTILE: &[u8] = b"\x1b]0;pwned\x07\x1b[2JSSH-2.0-Test_1.0 \x1b[31mred\x9b0m\r\n";
const HOSTILE_SHOWN: &str = "SSH-2.0-Test_1.0 red";

/// A listener on 127.0.0.1 that treats every connection as `behaviour`, for as long as the
/// test process runs; returns its port.
fn serve(behaviour: Behaviour) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || handle(stream, behaviour));
        }
    });
    port
}

fn handle(mut stream: TcpStream, behaviour: Behaviour) {
    match behaviour {
        Behaviour::Banner(bytes) => {
            let _ = stream.write_all(bytes);
            hold(stream);
        }
        Behaviour::Silent => hold(stream),
        Behaviour::Close => drop(stream),
        Behaviour::Reset => {
            // A moment's pause so the scanner has seen the handshake complete first.
            thread::sleep(Duration::from_millis(30));
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            drop(stream);
        }
    }
}

/// Keeps the connection open until the scanner closes it (or 30 s pass).
fn hold(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = [0u8; 64];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// A port that was free a moment ago: closed.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

const WAIT: Duration = Duration::from_millis(800);
const TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_banner_is_read_raw_and_shown_safe() {
    let port = serve(Behaviour::Banner(HOSTILE));
    let result = TcpConnect::with_banner_wait(WAIT)
        .probe(loopback(port), TIMEOUT)
        .await;
    assert_eq!(result.outcome, ProbeOutcome::Open);
    let AfterConnect::Banner(raw) = &result.after_connect else {
        panic!("expected a banner, got {:?}", result.after_connect);
    };
    assert_eq!(&raw[..], HOSTILE);
    assert_eq!(scanwatch::banner::display(raw, 80), HOSTILE_SHOWN);
}

#[tokio::test]
async fn a_long_banner_is_kept_up_to_the_cap() {
    static LONG: [u8; 4096] = [b'A'; 4096];
    let port = serve(Behaviour::Banner(&LONG));
    let result = TcpConnect::with_banner_wait(WAIT)
        .probe(loopback(port), TIMEOUT)
        .await;
    let AfterConnect::Banner(raw) = &result.after_connect else {
        panic!("expected a banner, got {:?}", result.after_connect);
    };
    assert!(!raw.is_empty() && raw.len() <= scanwatch::banner::BANNER_MAX);
    assert!(raw.iter().all(|&b| b == b'A'));
}

#[tokio::test]
async fn a_silent_port_waits_out_the_window_without_counting_it_as_connect_time() {
    let port = serve(Behaviour::Silent);
    let started = Instant::now();
    let result = TcpConnect::with_banner_wait(WAIT)
        .probe(loopback(port), TIMEOUT)
        .await;
    let took = started.elapsed();
    assert_eq!(result.outcome, ProbeOutcome::Open);
    assert_eq!(result.after_connect, AfterConnect::Silent);
    assert!(took >= WAIT, "the read lasted the window: {took:?}");
    assert!(
        result.connect_time < WAIT / 2,
        "connect time {:?} must not include the read window",
        result.connect_time
    );
}

#[tokio::test]
async fn a_port_that_closes_at_once_is_told_apart() {
    for behaviour in [Behaviour::Close, Behaviour::Reset] {
        let port = serve(behaviour);
        let started = Instant::now();
        let result = TcpConnect::with_banner_wait(WAIT)
            .probe(loopback(port), TIMEOUT)
            .await;
        assert_eq!(result.outcome, ProbeOutcome::Open, "{behaviour:?}");
        assert_eq!(
            result.after_connect,
            AfterConnect::ClosedAtOnce,
            "{behaviour:?}"
        );
        assert!(
            started.elapsed() < WAIT,
            "{behaviour:?}: a close ends the read at once"
        );
    }
}

#[tokio::test]
async fn no_banner_wait_reads_nothing() {
    let port = serve(Behaviour::Banner(HOSTILE));
    for prober in [
        TcpConnect::new(),
        TcpConnect::with_banner_wait(Duration::ZERO),
    ] {
        let result = prober.probe(loopback(port), TIMEOUT).await;
        assert_eq!(result.outcome, ProbeOutcome::Open);
        assert_eq!(result.after_connect, AfterConnect::NotRead);
    }
}

#[tokio::test]
async fn closed_ports_are_not_read() {
    let result = TcpConnect::with_banner_wait(WAIT)
        .probe(loopback(closed_port()), TIMEOUT)
        .await;
    assert_eq!(result.outcome, ProbeOutcome::Closed);
    assert_eq!(result.after_connect, AfterConnect::NotRead);
}

#[tokio::test]
async fn many_open_ports_are_read_at_once() {
    let prober = Arc::new(TcpConnect::with_banner_wait(WAIT));
    let ports: Vec<u16> = (0..20).map(|_| serve(Behaviour::Silent)).collect();
    let started = Instant::now();
    let probes: Vec<_> = ports
        .iter()
        .map(|&port| {
            let prober = Arc::clone(&prober);
            tokio::spawn(async move { prober.probe(loopback(port), TIMEOUT).await })
        })
        .collect();
    for probe in probes {
        assert_eq!(probe.await.unwrap().after_connect, AfterConnect::Silent);
    }
    assert!(
        started.elapsed() < WAIT * 5,
        "reads overlap: {:?}",
        started.elapsed()
    );
}

// ------------------------------------------------------------------------------------------
// The real binary.

struct Ports {
    banner: u16,
    silent: u16,
    close: u16,
    closed: u16,
}

impl Ports {
    fn start() -> Self {
        Ports {
            banner: serve(Behaviour::Banner(HOSTILE)),
            silent: serve(Behaviour::Silent),
            close: serve(Behaviour::Close),
            closed: closed_port(),
        }
    }

    fn list(&self) -> String {
        format!(
            "{},{},{},{}",
            self.banner, self.silent, self.close, self.closed
        )
    }
}

fn scan_json(ports: &Ports, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = scanwatch()
        .args(["scan", "127.0.0.1", "-p", &ports.list(), "--json", "-q"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema: serde_json::Value =
        serde_json::from_str(scanwatch::headless::jsonl::SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    stdout
        .lines()
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("bad line {line}: {e}"));
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{line}: {errors:?}");
            value
        })
        .collect()
}

fn probe_line(lines: &[serde_json::Value], port: u16) -> &serde_json::Value {
    lines
        .iter()
        .find(|l| l["type"] == "probe" && l["port"] == port)
        .unwrap_or_else(|| panic!("no probe line for {port}"))
}

#[test]
fn json_lines_carry_the_after_connect_class_and_the_banner() {
    let ports = Ports::start();
    let lines = scan_json(&ports, &["--banner-wait", "400ms"]);
    assert_eq!(lines[0]["banner_wait_ms"], 400);

    let banner = probe_line(&lines, ports.banner);
    assert_eq!(banner["after_connect"], "banner");
    assert_eq!(banner["banner"], HOSTILE_SHOWN);
    let hex: String = HOSTILE.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(banner["banner_hex"], hex.as_str());

    let silent = probe_line(&lines, ports.silent);
    assert_eq!(silent["after_connect"], "silent");
    assert!(silent.get("banner").is_none());
    assert!(
        silent["connect_us"].as_u64().unwrap() < 200_000,
        "{silent}: the read window is not connect time"
    );
    assert_eq!(
        probe_line(&lines, ports.close)["after_connect"],
        "closed-at-once"
    );
    let closed = probe_line(&lines, ports.closed);
    assert_eq!(closed["state"], "closed");
    assert!(closed.get("after_connect").is_none());

    let summary = lines.last().unwrap();
    let open = summary["hosts"][0]["open"].as_array().unwrap();
    let with_banner = open.iter().find(|p| p["port"] == ports.banner).unwrap();
    assert_eq!(with_banner["after_connect"], "banner");
    assert_eq!(with_banner["banner"], HOSTILE_SHOWN);
}

#[test]
fn banner_wait_0_reads_nothing() {
    let ports = Ports::start();
    let lines = scan_json(&ports, &["--banner-wait", "0"]);
    assert_eq!(lines[0]["banner_wait_ms"], 0);
    for port in [ports.banner, ports.silent, ports.close] {
        let line = probe_line(&lines, port);
        assert_eq!(line["state"], "open", "{line}");
        assert!(line.get("after_connect").is_none(), "{line}");
        assert!(line.get("banner").is_none(), "{line}");
    }
}

#[test]
fn the_config_file_sets_the_banner_wait() {
    let ports = Ports::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[scan]\nbanner_wait = \"0ms\"\n").unwrap();
    let lines = scan_json(&ports, &["--config", path.to_str().unwrap()]);
    assert_eq!(lines[0]["banner_wait_ms"], 0);
    assert!(
        probe_line(&lines, ports.banner)
            .get("after_connect")
            .is_none()
    );
    // The command line wins over the file.
    let lines = scan_json(
        &ports,
        &["--config", path.to_str().unwrap(), "--banner-wait", "300ms"],
    );
    assert_eq!(probe_line(&lines, ports.banner)["after_connect"], "banner");
}

#[test]
fn the_text_summary_shows_the_banner_made_safe() {
    let ports = Ports::start();
    let out = scanwatch()
        .args(["scan", "127.0.0.1", "-p", &ports.list(), "--headless", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x9b) && !out.stdout.contains(&0x07),
        "no control characters reach the terminal"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("pwned"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{}/tcp", ports.banner)))
        .unwrap_or_else(|| panic!("no line for the banner port in {stdout}"));
    assert!(line.ends_with(HOSTILE_SHOWN), "{line}");
    assert!(stdout.contains("BANNER"), "{stdout}");
}

/// A megabyte of hostile garbage: pseudo-random bytes salted with every kind of terminal escape
/// (OSC title, screen clear, DCS, 8-bit CSI, bidi override, NUL, BEL, backspaces).
fn garbage_megabyte() -> &'static [u8] {
    const SALT: &[&[u8]] = &[
        b"\x1b]0;pwned\x07",
        b"\x1b[2J\x1b[H",
        b"\x1bP+q544e\x1b\\",
        b"\x9b31m",
        "\u{202e}".as_bytes(),
        b"\x00\x07\x08\x08\x08",
        b"\x1b[?1049h",
        b"\r\n",
    ];
    let mut out = Vec::with_capacity(1 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while out.len() < 1 << 20 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (x >> 33) as usize;
        if r.is_multiple_of(5) {
            out.extend_from_slice(SALT[r % SALT.len()]);
        } else {
            out.push((r >> 8) as u8);
        }
    }
    out.truncate(1 << 20);
    Box::leak(out.into_boxed_slice())
}

/// Whether `s` holds a control character other than a line feed.
fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n')
}

/// 1 MB of garbage full of escape sequences is shown safely everywhere it reaches: the text
/// summary, the JSON lines, the session log's reports (text, CSV, nmap XML, JSON) and the live
/// view's ports pane. The scanner reads at most 512 bytes of it and does not wait for the rest.
#[test]
fn a_megabyte_of_escape_laden_garbage_is_shown_safely_everywhere() {
    let garbage = garbage_megabyte();
    let port = serve(Behaviour::Banner(garbage));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("garbage.jsonl");
    let started = Instant::now();
    let out = scanwatch()
        .args([
            "scan",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--headless",
            "-q",
        ])
        .args(["--session", log.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the scan hung on the garbage"
    );
    let stdout = String::from_utf8(out.stdout).expect("the summary is UTF-8");
    assert!(!has_control(&stdout), "{stdout:?}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{port}/tcp")))
        .unwrap_or_else(|| panic!("no line for the port in {stdout}"));
    assert!(line.chars().count() < 200, "one bounded line: {line}");

    // JSON lines: the shown banner has no control character; the raw bytes are capped.
    let out = scanwatch()
        .args(["scan", "127.0.0.1", "-p", &port.to_string(), "--json", "-q"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let probe: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "probe")
        .unwrap();
    let shown = probe["banner"].as_str().unwrap();
    assert!(!has_control(shown) && !shown.contains('\n'), "{shown:?}");
    let hex = probe["banner_hex"].as_str().unwrap();
    let raw: String = garbage[..512].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, raw, "the first 512 bytes, raw");

    // Reports made from the session log.
    for format in ["text", "csv", "nmap-xml", "json"] {
        let out = scanwatch()
            .args(["report", log.to_str().unwrap(), "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        let report = String::from_utf8(out.stdout).unwrap_or_else(|_| panic!("{format}: UTF-8"));
        assert!(
            !report
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r'),
            "{format}: {report:?}"
        );
        assert!(!report.contains("pwned\u{7}"), "{format}");
    }

    // The live view's ports pane, drawn from the log.
    let state = scanwatch::session::read_session(&log)
        .unwrap()
        .replay()
        .into_state();
    let opts = scanwatch::tui::TuiOptions::default();
    let mut app = scanwatch::tui::App::new(&opts, None);
    app.refresh_index(&state, Instant::now(), true);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).unwrap();
    terminal
        .draw(|frame| scanwatch::tui::draw(frame, &app, &state))
        .unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|cell| cell.symbol())
        .collect();
    assert!(!has_control(&screen), "a control character on screen");
    assert!(
        screen.contains(&format!("{port}")),
        "the port is on screen: {screen}"
    );
}
