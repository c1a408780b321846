//! `scanwatch replay` and `scanwatch report` over session logs the real binary wrote: the replay
//! prints what the live run printed, the report says what the live `--output` said, shards merge
//! into the whole scan, and bad files are clear errors (exit 2) naming the file.
//!
//! Network safety: the demo's network is simulated; the sharded scan targets listeners this
//! test binds on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::scanwatch;

fn run(args: &[&str]) -> Output {
    scanwatch().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// A headless demo run that keeps its session log at `log`: (stdout, stderr).
fn demo(scenario: &str, seed: &str, log: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "demo",
        "--scenario",
        scenario,
        "--seed",
        seed,
        "--speed",
        "max",
        "--session",
        log.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    (text(&out.stdout), text(&out.stderr))
}

#[test]
fn replay_prints_what_the_live_run_printed() {
    let dir = tempfile::tempdir().unwrap();
    for (scenario, seed) in [("mixed", "2"), ("shun", "1"), ("rstlimit", "4")] {
        let log = path(dir.path(), &format!("{scenario}.jsonl"));
        let (live, _) = demo(scenario, seed, &log, &[]);
        let out = run(&["replay", "--headless", log.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            live,
            "{scenario}: the replay's summary differs"
        );
        assert!(live.contains("Interference alarms:"), "{scenario}: {live}");
    }
}

#[test]
fn the_report_of_a_log_says_what_the_live_output_said() {
    let dir = tempfile::tempdir().unwrap();
    let log = path(dir.path(), "mixed.jsonl");
    let live_json = path(dir.path(), "live.json");
    demo("mixed", "1", &log, &["-o", live_json.to_str().unwrap()]);
    let from_log = path(dir.path(), "from-log.json");
    let out = run(&[
        "report",
        log.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        from_log.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let (live, report) = (read(&live_json), read(&from_log));
    for key in ["hosts", "alarms", "totals", "latency_us", "params"] {
        assert_eq!(live[key], report[key], "`{key}` differs");
    }
    assert_eq!(live["scan"]["args"], report["scan"]["args"]);
    assert!(report["alarms"].as_array().unwrap().len() >= 4);

    // Every format, on stdout.
    for format in ["text", "json", "csv", "nmap-xml"] {
        let out = run(&["report", log.to_str().unwrap(), "--format", format]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{format}");
    }
    let out = run(&["report", log.to_str().unwrap(), "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_session_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = path(dir.path(), "good.jsonl");
    demo("healthy", "1", &good, &[]);
    let content = std::fs::read_to_string(&good).unwrap();
    let (header, rest) = content.split_once('\n').unwrap();

    let empty = path(dir.path(), "empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let garbage = path(dir.path(), "garbage.jsonl");
    std::fs::write(&garbage, format!("{header}\n{{not json\n{rest}")).unwrap();
    let version = path(dir.path(), "version.jsonl");
    std::fs::write(
        &version,
        format!(
            "{}\n{rest}",
            header.replacen("\"version\":1", "\"version\":99", 1)
        ),
    )
    .unwrap();
    let binary = path(dir.path(), "binary.jsonl");
    std::fs::write(&binary, [0u8, 159, 146, 150, 255, 0, 1, 2]).unwrap();
    let other = path(dir.path(), "other.json");
    std::fs::write(&other, "{\"format\":\"something-else\",\"version\":1}\n").unwrap();
    let missing = path(dir.path(), "missing.jsonl");

    for (file, needle) in [
        (&empty, "empty"),
        (&garbage, ":2"),
        (&version, "99"),
        (&binary, "binary.jsonl"),
        (&other, "other.json"),
        (&missing, "missing.jsonl"),
    ] {
        for command in ["replay", "report"] {
            let mut args = vec![command, file.to_str().unwrap()];
            if command == "replay" {
                args.push("--headless");
            }
            let out = run(&args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {file:?}: {stderr}");
            assert!(
                stderr.contains(file.file_name().unwrap().to_str().unwrap()),
                "{stderr}"
            );
            assert!(stderr.contains(needle), "{command} {file:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
    // A good file among bad ones still fails, naming the bad one.
    let out = run(&["report", good.to_str().unwrap(), empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_log_cut_in_its_last_line_still_replays() {
    let dir = tempfile::tempdir().unwrap();
    let log = path(dir.path(), "shun.jsonl");
    demo("shun", "1", &log, &[]);
    let bytes = std::fs::read(&log).unwrap();
    let cut = path(dir.path(), "cut.jsonl");
    // Somewhere in the middle of a line, two thirds in.
    let mut at = bytes.len() * 2 / 3;
    while bytes[at - 1] == b'\n' {
        at += 1;
    }
    std::fs::write(&cut, &bytes[..at]).unwrap();
    let out = run(&["replay", "--headless", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Scan report for 127.0.3.10"));
    assert!(text(&out.stderr).contains("note"), "{}", text(&out.stderr));
}

#[test]
fn replay_options_are_checked() {
    for bad in ["100", "0.1", "fast", "NaN"] {
        let out = run(&["replay", "--speed", bad, "x.jsonl"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(text(&out.stderr).contains("speed"), "{}", text(&out.stderr));
    }
    let out = run(&["replay"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_shards_of_a_loopback_scan_report_as_one_scan() {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let open: BTreeSet<u64> = listeners
        .iter()
        .map(|l| u64::from(l.local_addr().unwrap().port()))
        .collect();
    // The open ports and some closed ones next to them.
    let mut ports: BTreeSet<u16> = BTreeSet::new();
    for &p in &open {
        let p = p as u16;
        for q in p.saturating_sub(5)..=p.saturating_add(5) {
            ports.insert(q.max(1));
        }
    }
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    let list = list.join(",");
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    for shard in ["1/2", "2/2"] {
        let log = path(dir.path(), &format!("shard-{}.jsonl", &shard[..1]));
        let out = run(&[
            "scan",
            "127.0.0.1",
            "-p",
            &list,
            "--shard",
            shard,
            "--headless",
            "--banner-wait",
            "0",
            "--session",
            log.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        logs.push(log);
    }
    let out = run(&[
        "report",
        logs[0].to_str().unwrap(),
        logs[1].to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "one host, from both shards: {hosts:?}");
    let found: BTreeSet<u64> = hosts[0]["open"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", hosts[0]))
        .iter()
        .map(|p| {
            p["port"]
                .as_u64()
                .or(p.as_u64())
                .unwrap_or_else(|| panic!("{p}"))
        })
        .collect();
    assert_eq!(found, open);
    assert_eq!(
        report["totals"]["probes"].as_u64(),
        Some(ports.len() as u64),
        "every port once across the shards"
    );
    drop(listeners);
}

#[test]
fn a_recheck_session_replays_and_reports_with_its_verdicts() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let baseline = path(dir.path(), "baseline.txt");
    std::fs::write(&baseline, format!("127.0.0.1:{open}\n127.0.0.1:{closed}\n")).unwrap();
    let log = path(dir.path(), "recheck.jsonl");
    let out = run(&[
        "recheck",
        "--baseline",
        baseline.to_str().unwrap(),
        "--headless",
        "--banner-wait",
        "0",
        "--session",
        log.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let live = text(&out.stdout);
    assert!(
        live.contains(&format!("127.0.0.1 {closed}/tcp now closed")),
        "{live}"
    );
    let replayed = run(&["replay", "--headless", log.to_str().unwrap()]);
    assert_eq!(
        text(&replayed.stdout),
        live,
        "the replay rebuilds the verdicts too"
    );
    let report = run(&["report", log.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["recheck"]["changed"], true, "{report}");
    drop(listener);
}
