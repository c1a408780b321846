//! The session log end to end: the live loops write it, replaying it rebuilds the live state
//! and alarms exactly, a log cut anywhere still reads, and the real binary's options, paths,
//! file modes and crash behaviour.
//!
//! Every scan here runs on the simulated network or 127.0.0.1.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use scanwatch::demo::{DemoPlan, run_lockstep, suggested_params};
use scanwatch::detector::AlarmThresholds;
use scanwatch::engine::{self, EngineOptions};
use scanwatch::event::{ScanEvent, ScanParams};
use scanwatch::headless::{self, HeadlessOptions};
use scanwatch::monitor::Monitor;
use scanwatch::session::{
    AlarmChange, EndReason, Entry, SessionHeader, SessionMode, SessionReader, SessionWriter,
    read_session,
};
use scanwatch::sim::{BUILTIN_SCENARIOS, Scenario, Simulated, builtin, parse_scenario};
use scanwatch::state::ScanState;
use scanwatch::tui::{TuiOptions, run_loop};

fn header(scenario: &Scenario, seed: u64, params: &ScanParams) -> SessionHeader {
    let mut header = SessionHeader::new(
        SessionMode::Demo,
        vec!["scanwatch".into(), "demo".into()],
        scenario.targets(),
        params,
        seed,
        AlarmThresholds::default(),
    );
    header.scenario = Some(scenario.name.clone());
    header
}

/// Runs `scenario` through the headless loop with a session log at `path`, as `scanwatch demo
/// --speed max --headless` does; returns the live state.
async fn headless_run(scenario: &Scenario, seed: u64, path: &Path) -> ScanState {
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let params = suggested_params(scenario);
    let mut writer = SessionWriter::create(path, &header(scenario, seed, &params)).unwrap();
    let mut running = engine::start(
        Simulated::new(&plan.scenario, seed),
        plan.scan_plan(seed),
        params,
        EngineOptions::default(),
    );
    let opts = HeadlessOptions {
        json: true,
        ..HeadlessOptions::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let state = headless::run(
        &mut running.events,
        &running.control,
        &opts,
        &mut out,
        &mut err,
        Some(&mut writer),
    )
    .await
    .unwrap();
    writer.finish(EndReason::Completed, None).unwrap();
    state
}

/// What a replay must reproduce: the state, alarms included, and the `alarm` lines in step.
fn assert_replay_matches(live: &ScanState, path: &Path, what: &str) {
    let session = read_session(path).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(session.notes.is_empty(), "{what}: {:?}", session.notes);
    let replayed = session.replay();
    assert_eq!(replayed.state().alarms, live.alarms, "{what}: alarms");
    assert!(
        replayed.state() == live,
        "{what}: the replayed state differs"
    );
    let raised: Vec<_> = session
        .alarms
        .iter()
        .filter(|a| a.change == AlarmChange::Raised)
        .map(|a| (a.alarm.kind, a.alarm.scope, a.alarm.raised_us))
        .collect();
    let live_alarms: Vec<_> = live
        .alarms
        .iter()
        .map(|a| (a.kind, a.scope, a.raised_us))
        .collect();
    assert_eq!(raised, live_alarms, "{what}: the alarm lines");
    let cleared = session
        .alarms
        .iter()
        .filter(|a| a.change == AlarmChange::Cleared)
        .count();
    assert_eq!(
        cleared,
        live.alarms.iter().filter(|a| !a.is_active()).count(),
        "{what}: cleared alarm lines"
    );
    let end = session.end.expect("an end line");
    assert_eq!(end.probes, live.probes_done(), "{what}");
    assert_eq!(end.alarms, live.alarms.len() as u64, "{what}");
}

/// Every built-in scenario, three seeds each: the replay of the log equals the live run.
#[tokio::test(start_paused = true)]
async fn replay_rebuilds_the_live_state_and_alarms_for_every_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let mut alarms_seen = 0;
    for (name, _) in BUILTIN_SCENARIOS {
        let scenario = builtin(name).unwrap();
        for seed in 1..=3 {
            let path = dir.path().join(format!("{name}-{seed}.jsonl"));
            let live = headless_run(&scenario, seed, &path).await;
            alarms_seen += live.alarms.len();
            assert_replay_matches(&live, &path, &format!("{name} seed {seed}"));
        }
    }
    assert!(alarms_seen > 10, "the scenarios raise alarms to compare");
}

/// Random seeds over random scenarios, through `run_lockstep` (the detector tests' driver).
#[test]
fn replay_matches_lockstep_runs_for_random_seeds() {
    use proptest::prelude::*;
    let config = ProptestConfig {
        cases: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let names: Vec<&str> = BUILTIN_SCENARIOS.iter().map(|(n, _)| *n).collect();
    proptest!(config, |(index in 0..names.len(), seed in 4u64..1_000_000)| {
        let scenario = builtin(names[index]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lockstep.jsonl");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let live = runtime.block_on(async {
            let plan = DemoPlan::new(scenario.clone()).unwrap();
            let params = suggested_params(&scenario);
            let mut writer =
                SessionWriter::create(&path, &header(&scenario, seed, &params)).unwrap();
            let mut monitor = Monitor::new();
            run_lockstep(&plan, seed, params, &mut monitor, |e| writer.event(e)).await;
            writer.alarms(&monitor.state().alarms);
            writer.finish(EndReason::Completed, None).unwrap();
            monitor.into_state()
        });
        let replayed = read_session(&path).unwrap().replay().into_state();
        prop_assert_eq!(&replayed.alarms, &live.alarms);
        prop_assert!(replayed == live, "{} seed {}: the replayed state differs", names[index], seed);
    });
}

/// The live view's loop logs every event too, including those drained after an early quit.
#[tokio::test(start_paused = true)]
async fn the_live_view_writes_the_same_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tui.jsonl");
    let scenario = builtin("shun").unwrap();
    let plan = DemoPlan::new(scenario.clone()).unwrap();
    let params = suggested_params(&scenario);
    let mut writer = SessionWriter::create(&path, &header(&scenario, 2, &params)).unwrap();
    let mut running = engine::start(
        Simulated::new(&plan.scenario, 2),
        plan.scan_plan(2),
        params,
        EngineOptions::default(),
    );
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    // Quit after 40 s of scan time, before the scan is done.
    let keys = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_secs(40)).await;
        Ok::<_, io::Error>(crossterm::event::Event::Key(
            crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('q')),
        ))
    })
    .chain(futures_util::stream::pending());
    let opts = TuiOptions {
        session: Some(writer.file_name()),
        ..TuiOptions::default()
    };
    let outcome = run_loop(
        &mut terminal,
        Box::pin(keys),
        &mut running.events,
        &running.control,
        &opts,
        Some(&mut writer),
    )
    .await
    .unwrap();
    assert!(outcome.quit_early);
    assert!(
        terminal
            .backend()
            .to_string()
            .contains("session: tui.jsonl"),
        "the status bar names the log"
    );
    writer.finish(EndReason::Interrupted, None).unwrap();
    assert!(!outcome.state.alarms.is_empty(), "shun raised its alarm");
    let session = read_session(&path).unwrap();
    assert!(matches!(
        session.events.last(),
        Some(ScanEvent::Finished { .. })
    ));
    assert_eq!(session.end.as_ref().unwrap().reason, EndReason::Interrupted);
    assert!(session.replay().state() == &outcome.state);
}

/// The healthy scenario on 11 ports: a log of a few kilobytes.
fn small_scenario() -> Scenario {
    let text = include_str!("../src/sim/scenarios/healthy.toml")
        .replace("ports = \"1-1024\"", "ports = \"20-30\"");
    parse_scenario(&text, "small healthy").unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_log_cut_at_every_byte_reads_up_to_its_last_complete_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.jsonl");
    let live = headless_run(&small_scenario(), 1, &path).await;
    let full = std::fs::read(&path).unwrap();
    let whole = read_session(&path).unwrap();
    assert!(whole.replay().state() == &live);
    let header_end = full.iter().position(|&b| b == b'\n').unwrap();
    let cut_path = dir.path().join("cut.jsonl");
    let mut previous_events = 0;
    for cut in 0..full.len() {
        let prefix = &full[..cut];
        std::fs::write(&cut_path, prefix).unwrap();
        match read_session(&cut_path) {
            Err(e) => {
                assert!(cut < header_end, "cut at {cut}: {e}");
                assert_eq!(e.exit_code(), 2);
                let message = e.to_string();
                assert!(message.contains("cut.jsonl"), "{message}");
                assert!(
                    message.contains("is empty") || message.contains("ends inside its header"),
                    "cut at {cut}: {message}"
                );
            }
            Ok(session) => {
                assert!(
                    cut >= header_end,
                    "cut at {cut}: a header cut short was read"
                );
                let lines = prefix.iter().filter(|&&b| b == b'\n').count();
                let entries = session.events.len()
                    + session.alarms.len()
                    + usize::from(session.end.is_some());
                let partial = !prefix.is_empty() && !prefix.ends_with(b"\n");
                // The complete lines after the header, and a cut last line only when it parses
                // (it was cut right before its newline).
                if partial && cut > header_end {
                    assert!(
                        entries == lines || entries + 1 == lines,
                        "cut at {cut}: {entries} entries from {lines} complete lines"
                    );
                    assert_eq!(
                        session.notes.len(),
                        usize::from(entries + 1 == lines),
                        "cut at {cut}: {:?}",
                        session.notes
                    );
                } else {
                    assert_eq!(entries + 1, lines.max(1), "cut at {cut}");
                }
                assert_eq!(
                    session.events[..],
                    whole.events[..session.events.len()],
                    "cut at {cut}"
                );
                assert!(session.events.len() >= previous_events, "cut at {cut}");
                previous_events = session.events.len();
                // A partial log replays without trouble.
                let _ = session.replay();
            }
        }
    }
    assert_eq!(previous_events, whole.events.len());
}

// ------------------------------------------------------------------------------------------
// The real binary.

fn scanwatch(state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanwatch"));
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-scanwatch-test-config")
        .env("XDG_STATE_HOME", state)
        .env_remove("SCANWATCH_LOG");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn demo(state: &Path, extra: &[&str]) -> Output {
    let out = scanwatch(state)
        .args([
            "demo",
            "--scenario",
            "healthy",
            "--speed",
            "max",
            "--seed",
            "4",
            "--headless",
            "-q",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    out
}

#[test]
fn the_default_log_is_named_by_time_and_scenario_private_and_announced() {
    let state = tempfile::tempdir().unwrap();
    let out = demo(state.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sessions = state.path().join("scanwatch/sessions");
    let files = files_in(&sessions);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    let (stamp, rest) = name.split_once('-').unwrap();
    assert_eq!(rest, "demo-healthy.jsonl", "{name}");
    assert_eq!(stamp.len(), 16, "{name}");
    assert!(
        stamp[..8].bytes().all(|b| b.is_ascii_digit())
            && &stamp[8..9] == "T"
            && stamp[9..15].bytes().all(|b| b.is_ascii_digit())
            && stamp.ends_with('Z'),
        "{name}"
    );
    assert_eq!(mode(&files[0]), 0o600);
    assert_eq!(mode(&sessions), 0o700);
    let shown = files[0].display().to_string();
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains(&shown)).collect();
    assert_eq!(
        said.len(),
        2,
        "said when it starts and when it ends:\n{stderr}"
    );
    assert!(said[1].contains("lines)"), "{stderr}");

    let session = read_session(&files[0]).unwrap();
    assert_eq!(session.header.mode, SessionMode::Demo);
    assert_eq!(session.header.scenario.as_deref(), Some("healthy"));
    assert_eq!(session.header.seed, 4);
    assert!(session.header.args.iter().any(|a| a == "--speed"));
    assert_eq!(session.end.unwrap().reason, EndReason::Completed);

    // A second run in the same second gets a name of its own.
    let again = demo(state.path(), &[]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(files_in(&sessions).len(), 2);
    // No diagnostics file at the default level when nothing went wrong.
    assert!(!state.path().join("scanwatch/logs").exists());
}

#[test]
fn no_session_writes_nothing_and_session_path_writes_there() {
    let state = tempfile::tempdir().unwrap();
    let out = demo(state.path(), &["--no-session"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("session log"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !state.path().join("scanwatch").exists(),
        "nothing in the state directory"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let path = elsewhere.path().join("deep/er/mine.jsonl");
    let out = demo(state.path(), &["--session", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(mode(&path), 0o600);
    assert!(!state.path().join("scanwatch").exists());
    let first = read_session(&path).unwrap();
    // The same path again: the log is replaced, not appended to.
    let out = demo(state.path(), &["--session", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let second = read_session(&path).unwrap();
    assert_eq!(first.events, second.events, "same seed, same scan");

    let out = demo(state.path(), &["--session", "x.jsonl", "--no-session"]);
    assert_eq!(out.status.code(), Some(2), "the two options conflict");
}

#[test]
fn an_unwritable_session_path_stops_before_the_scan() {
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    for (path, needle) in [
        (file.join("s.jsonl"), "cannot create the directory"),
        (state.path().to_path_buf(), "Is a directory"),
    ] {
        let out = demo(state.path(), &["--session", path.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("cannot write the session log"), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert!(stderr.contains("--no-session"), "{stderr}");
        assert!(out.stdout.is_empty(), "no scan ran: {}", text(&out.stdout));
    }
    // The default directory cannot be made: exit 1, the same advice.
    let out = scanwatch(&file)
        .args([
            "demo",
            "--scenario",
            "healthy",
            "--speed",
            "max",
            "--headless",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write a session log in"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A full disk mid-scan (here: a file size limit, which fails writes the same way): the
/// results are still printed, the error is reported and the exit code is 1.
#[test]
fn a_write_failure_mid_scan_is_an_error_at_the_end() {
    let state = tempfile::tempdir().unwrap();
    let path = state.path().join("limited.jsonl");
    let mut cmd = scanwatch(state.path());
    cmd.args([
        "demo",
        "--scenario",
        "healthy",
        "--speed",
        "max",
        "--seed",
        "1",
        "--headless",
        "-q",
        "--session",
        path.to_str().unwrap(),
    ]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 20_000,
                rlim_max: 20_000,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Past the limit, writes fail with EFBIG instead of the signal ending the process.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        text(&out.stdout).contains("Scan report for"),
        "the results come first"
    );
    assert!(
        stderr.contains("scanwatch: error: cannot write the session log"),
        "{stderr}"
    );
    assert!(stderr.contains("File too large"), "{stderr}");
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size <= 20_000, "{size}");
    // What was written reads, up to the failure.
    let session = read_session(&path).unwrap();
    assert!(!session.events.is_empty());
    assert!(session.end.is_none());
}

#[test]
fn sigkill_mid_scan_leaves_a_log_that_reads_and_replays() {
    let state = tempfile::tempdir().unwrap();
    let path = state.path().join("killed.jsonl");
    let mut child = scanwatch(state.path())
        .args([
            "demo",
            "--scenario",
            "shun",
            "--speed",
            "2",
            "--seed",
            "1",
            "--headless",
            "--session",
            path.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    let reader = SessionReader::open(&path).unwrap();
    assert_eq!(reader.header().scenario.as_deref(), Some("shun"));
    let entries: Vec<Entry> = reader.map(|e| e.unwrap()).collect();
    let probes = entries
        .iter()
        .filter(|e| matches!(e, Entry::Event(ScanEvent::Probe(_))))
        .count();
    assert!(probes >= 1, "{} entries", entries.len());
    assert!(
        !entries.iter().any(|e| matches!(e, Entry::End(_))),
        "killed: no end line"
    );
    let session = read_session(&path).unwrap();
    let state = session.replay().into_state();
    assert_eq!(state.probes_done(), probes as u64);
    assert!(state.finished.is_none());
}

#[test]
fn a_loopback_scan_logs_its_target_and_open_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = tempfile::tempdir().unwrap();
    let out = scanwatch(state.path())
        .args([
            "scan",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--banner-wait",
            "0",
            "--headless",
            "-q",
            "--log-level",
            "info",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let files = files_in(&state.path().join("scanwatch/sessions"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].to_str().unwrap().ends_with("Z-127.0.0.1.jsonl"),
        "{files:?}"
    );
    let session = read_session(&files[0]).unwrap();
    assert_eq!(session.header.mode, SessionMode::Scan);
    assert_eq!(session.header.targets, ["127.0.0.1"]);
    assert_eq!(session.header.banner_wait_us, Some(0));
    let state_now = session.replay().into_state();
    assert_eq!(state_now.totals.open, 1);
    assert_eq!(state_now.up_hosts()[0].open_ports[0].port, port);

    // --log-level info: the diagnostics log has the run's story, mode 0700 directory.
    let logs = state.path().join("scanwatch/logs");
    let files = files_in(&logs);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(mode(&logs), 0o700);
    let log = std::fs::read_to_string(&files[0]).unwrap();
    for needle in ["scan started", "session log opened", "scan ended"] {
        assert!(log.contains(needle), "`{needle}` not in:\n{log}");
    }
    assert!(!log.contains('\x1b'), "no colours in the file:\n{log}");
    assert!(!stderr.contains("INFO"), "never on the screen: {stderr}");
}

#[test]
fn log_level_comes_from_the_option_or_the_environment() {
    let state = tempfile::tempdir().unwrap();
    let out = scanwatch(state.path())
        .args(["demo", "--speed", "max", "--log-level", "verbose"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`verbose` is not a level"), "{stderr}");

    let out = scanwatch(state.path())
        .env("SCANWATCH_LOG", "scanwatch=info")
        .args([
            "demo",
            "--scenario",
            "shun",
            "--speed",
            "max",
            "--headless",
            "-q",
            "--no-session",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files = files_in(&state.path().join("scanwatch/logs"));
    assert_eq!(files.len(), 1, "{files:?}");
    let log = std::fs::read_to_string(&files[0]).unwrap();
    assert!(log.contains("demo started"), "{log}");
    assert!(log.contains("alarm raised"), "{log}");

    // A bad variable is a warning, not a failure.
    let out = scanwatch(state.path())
        .env("SCANWATCH_LOG", "chatty")
        .args([
            "demo",
            "--scenario",
            "healthy",
            "--speed",
            "max",
            "--headless",
            "-q",
            "--no-session",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: SCANWATCH_LOG: `chatty` is not a level"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_closes_the_log_with_every_event_and_an_end_line() {
    interrupt_closes_the_log(libc::SIGINT);
}

#[test]
fn sigterm_closes_the_log_like_ctrl_c() {
    interrupt_closes_the_log(libc::SIGTERM);
}

/// A headless demo stopped by `signal` after 1.5 s: exit 130, the partial results printed, and
/// a session log with every event and an `interrupted` end line.
fn interrupt_closes_the_log(signal: libc::c_int) {
    let state = tempfile::tempdir().unwrap();
    let path = state.path().join("interrupted.jsonl");
    let child = scanwatch(state.path())
        .args([
            "demo",
            "--scenario",
            "mixed",
            "--headless",
            "--session",
            path.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("scanwatch: session log: "), "{stderr}");
    let session = read_session(&path).unwrap();
    assert!(session.notes.is_empty(), "{:?}", session.notes);
    assert!(matches!(
        session.events.last(),
        Some(ScanEvent::Finished {
            reason: scanwatch::event::FinishReason::Stopped,
            ..
        })
    ));
    let end = session.end.clone().expect("an end line");
    assert_eq!(end.reason, EndReason::Interrupted);
    let replayed = session.replay().into_state();
    assert_eq!(end.probes, replayed.probes_done());
    assert_eq!(end.events, session.events.len() as u64);
    assert!(
        text(&out.stdout).contains("Scan stopped"),
        "partial results printed"
    );
}

/// A full disk for real: the log on a 32 KiB tmpfs, mounted in a private mount namespace
/// (`unshare -m`, root only). The scan runs to its end, its results are printed and its report
/// written, the error names the log and says how many lines it holds, and the log holds exactly
/// those lines: every record up to the failure, none lost without notice.
#[test]
fn a_full_tmpfs_under_the_log_is_an_error_naming_what_the_log_holds() {
    let require = std::env::var("SCANWATCH_REQUIRE_NETNS").as_deref() == Ok("1");
    let skip = |why: &str| {
        assert!(!require, "SCANWATCH_REQUIRE_NETNS=1 but {why}");
        eprintln!("skipped: {why}");
    };
    if unsafe { libc::geteuid() } != 0 {
        return skip("not root: a tmpfs can only be mounted as root");
    }
    let work = tempfile::tempdir().unwrap();
    let mount = work.path().join("full");
    let out = work.path().join("out");
    std::fs::create_dir_all(&mount).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let script = r#"
        mount -t tmpfs -o size=32k scanwatch-full "$MOUNT" || exit 97
        "$BIN" demo --scenario healthy --speed max --seed 1 --headless -q \
            --session "$MOUNT/s.jsonl" -o "$OUT/report.json" >"$OUT/stdout" 2>"$OUT/stderr"
        code=$?
        cp "$MOUNT/s.jsonl" "$OUT/s.jsonl"
        exit $code
    "#;
    let status = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script])
        .env("MOUNT", &mount)
        .env("OUT", &out)
        .env("BIN", env!("CARGO_BIN_EXE_scanwatch"))
        .env("XDG_CONFIG_HOME", "/nonexistent-scanwatch-test-config")
        .env("XDG_STATE_HOME", work.path())
        .env_remove("SCANWATCH_LOG")
        .status();
    let code = match status {
        Ok(status) if status.code() == Some(97) => return skip("cannot mount a tmpfs here"),
        Ok(status) => status.code(),
        Err(e) => return skip(&format!("cannot run unshare: {e}")),
    };
    let stdout = std::fs::read_to_string(out.join("stdout")).unwrap();
    let stderr = std::fs::read_to_string(out.join("stderr")).unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.contains("Scan report for"), "the results come first");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let held: u64 = stderr
        .split("it holds the first ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line count in: {stderr}"));
    let log = std::fs::read(out.join("s.jsonl")).unwrap();
    let complete_lines = log.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(
        complete_lines, held,
        "the message says {held} lines; the log has {complete_lines}"
    );
    assert!(
        log.len() <= 32 * 1024,
        "{} bytes on a 32 KiB tmpfs",
        log.len()
    );
    // Every complete line reads: the header and the events up to the failure.
    let session = read_session(&out.join("s.jsonl")).unwrap();
    assert!(session.events.len() as u64 + 1 >= held - 1, "{held} lines");
    assert!(session.end.is_none());
    // The report, written elsewhere, has the whole scan: what did not fit in the log is not lost.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
            .expect("a whole JSON report");
    assert_eq!(report["totals"]["probes"], 5 * 1024, "{report:#}");
}
