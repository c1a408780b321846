//! The real binary: help, exit codes, bad input, headless text and JSON output on loopback.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::Output;

mod common;
use common::scanwatch;

fn run(args: &[&str]) -> Output {
    scanwatch().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit code 2, a message naming `needle`, and never a panic.
fn assert_usage_error(args: &[&str], needle: &str) {
    let out = run(args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: `{needle}` not in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
}

struct Listeners {
    _held: Vec<TcpListener>,
    open: Vec<u16>,
    closed: Vec<u16>,
}

fn listeners(n: usize) -> Listeners {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let open = held
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let closed = (0..n)
        .map(|_| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    Listeners {
        _held: held,
        open,
        closed,
    }
}

fn port_list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn help_teaches_usage_and_exit_codes() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(help.contains("Exit codes"), "{help}");
    let out = run(&["scan", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "Examples",
        "--max-per-host",
        "--timeout",
        "--shard",
        "-p-",
        "nmap-services",
        "Exit codes",
        "130",
        "--auto-throttle",
        "--no-auto-throttle",
        "--fail-on",
        "alarm:   any interference alarm was raised: exit 3",
        "3    with --fail-on alarm",
        "[alarm]",
    ] {
        assert!(help.contains(needle), "`{needle}` missing from scan --help");
    }
    let out = run(&["demo", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in ["--auto-throttle", "--fail-on", "3    with --fail-on alarm"] {
        assert!(help.contains(needle), "`{needle}` missing from demo --help");
    }
}

#[test]
fn bad_input_exits_2_and_names_the_problem() {
    assert_usage_error(&["scan", "127.0.0.300"], "127.0.0.300");
    assert_usage_error(&["scan", "127.0.0.0/33"], "/33");
    assert_usage_error(&["scan", "-p", "70000", "127.0.0.1"], "70000");
    assert_usage_error(&["scan", "-p", "100-50", "127.0.0.1"], "100-50");
    assert_usage_error(&["scan", "-p", "U:53", "127.0.0.1"], "UDP");
    assert_usage_error(&["scan", "--timeout", "5x", "127.0.0.1"], "5x");
    assert_usage_error(&["scan", "--rate", "0", "127.0.0.1"], "0");
    assert_usage_error(&["scan", "-c", "0", "127.0.0.1"], "concurrency");
    assert_usage_error(&["scan", "--shard", "3/2", "127.0.0.1"], "3/2");
    assert_usage_error(&["scan", "--top-ports", "0", "127.0.0.1"], "top-ports");
    assert_usage_error(&["scan"], "no targets");
    assert_usage_error(
        &["scan", "-iL", "/nonexistent/targets.txt"],
        "/nonexistent/targets.txt",
    );
    assert_usage_error(
        &["scan", "--config", "/nonexistent/config.toml", "127.0.0.1"],
        "/nonexistent/config.toml",
    );
    assert_usage_error(&["scan", "--bogus-option", "127.0.0.1"], "--bogus-option");
    assert_usage_error(&["frobnicate"], "frobnicate");
}

#[test]
fn absurd_scopes_are_refused_unless_forced() {
    // Loopback only, and refused before a single probe is sent.
    assert_usage_error(&["scan", "-p-", "127.0.0.0/8"], "--force");
}

#[test]
fn config_errors_name_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[scan]\nconcurrency = 0\n").unwrap();
    let p = path.to_str().unwrap();
    assert_usage_error(&["scan", "--config", p, "127.0.0.1"], "concurrency");
    assert_usage_error(&["scan", "--config", p, "127.0.0.1"], "config.toml:2");
    std::fs::write(&path, "[scan]\nconcurency = 10\n").unwrap();
    assert_usage_error(&["scan", "--config", p, "127.0.0.1"], "concurency");

    std::fs::write(
        &path,
        "[scan]\nretries = 1\n\n[alarm]\ngrace_s = 2\nqos_factr = 3\n",
    )
    .unwrap();
    for args in [
        &["scan", "--config", p, "127.0.0.1"][..],
        &["demo", "--config", p, "--speed", "max"],
        &["config", "--check", "--config", p],
    ] {
        assert_usage_error(args, "config.toml:6: unknown key `qos_factr` in [alarm]");
        assert_usage_error(args, "did you mean `qos_factor`?");
    }
    std::fs::write(&path, "[alarm]\n\nrate_retry_answers = 65\n").unwrap();
    assert_usage_error(
        &["config", "--check", "--config", p],
        "config.toml:3: [alarm] rate_retry_answers = 65 is out of range; allowed 1 to 64",
    );
    std::fs::write(&path, "[alarm]\ncusum_target = nan\n").unwrap();
    assert_usage_error(&["demo", "--config", p], "[alarm] cusum_target = nan");
    std::fs::write(&path, "[scan]\nauto_throttle = 1\n").unwrap();
    assert_usage_error(
        &["config", "--check", "--config", p],
        "[scan] auto_throttle = 1",
    );
}

#[test]
fn config_check_accepts_alarm_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[scan]\nauto_throttle = true\n\n[alarm]\ngrace_s = 1.5\nrange_min_hosts = 2\n\
         qos_host_fraction = 0.5\ndeception_open_ports = 20\n",
    )
    .unwrap();
    let out = run(&["config", "--check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid"));
}

#[test]
fn config_print_default_is_a_valid_config() {
    let out = run(&["config", "--print-default"]);
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let check = run(&["config", "--check", "--config", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("valid"));
}

#[test]
fn headless_text_summary_lists_the_open_ports() {
    let l = listeners(3);
    let all: Vec<u16> = l.open.iter().chain(&l.closed).copied().collect();
    let out = run(&["scan", "127.0.0.1", "-p", &port_list(&all), "--headless"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("Scan report for 127.0.0.1"), "{stdout}");
    for port in &l.open {
        assert!(
            stdout.contains(&format!("{port}/tcp")),
            "{port} in {stdout}"
        );
    }
    for port in &l.closed {
        assert!(
            !stdout.contains(&format!("{port}/tcp")),
            "{port} in {stdout}"
        );
    }
    assert!(
        stdout.contains("Not shown: 3 closed tcp ports (conn-refused)"),
        "{stdout}"
    );
    assert!(stdout.contains("Scan done"), "{stdout}");
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
        .collect()
}

#[test]
fn json_output_follows_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(scanwatch::headless::jsonl::SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let l = listeners(4);
    let all: Vec<u16> = l.open.iter().chain(&l.closed).copied().collect();
    let out = run(&[
        "scan",
        "127.0.0.1",
        "localhost",
        "-p",
        &port_list(&all),
        "--json",
        "--seed",
        "11",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&text(&out.stdout));
    for line in &lines {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{line}: {errors:?}");
    }
    assert_eq!(lines[0]["type"], "start");
    assert_eq!(lines[0]["version"], 1);
    assert_eq!(lines[0]["seed"], 11);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["finish"], "completed");
    let probes: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "probe").collect();
    assert_eq!(probes.len(), 2 * all.len(), "every pair reported once");
    let hosts = summary["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "127.0.0.1 and localhost are both listed");
    for host in hosts {
        let open: BTreeSet<u64> = host["open"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["port"].as_u64().unwrap())
            .collect();
        assert_eq!(open, l.open.iter().map(|&p| u64::from(p)).collect());
    }
    assert!(hosts.iter().any(|h| h["name"] == "localhost"));
}

#[test]
fn shards_cover_the_plan_exactly_once() {
    let l = listeners(2);
    let ports = format!("{},20000-20099", port_list(&l.open));
    let mut seen = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let out = run(&[
            "scan",
            "127.0.0.1",
            "127.0.0.2",
            "-p",
            &ports,
            "--json",
            "--shard",
            shard,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        for line in json_lines(&text(&out.stdout)) {
            if line["type"] == "probe" {
                seen.push((line["host"].to_string(), line["port"].as_u64().unwrap()));
            }
        }
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 2 * 102);
    assert_eq!(unique.len(), seen.len());
}

#[test]
fn unresolvable_names_are_reported_and_skipped() {
    let l = listeners(1);
    let port = l.open[0].to_string();
    let out = run(&[
        "scan",
        "no-such-host.invalid",
        "127.0.0.1",
        "-p",
        &port,
        "--headless",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no-such-host.invalid"));
    assert!(text(&out.stdout).contains(&format!("{port}/tcp")));
    assert_usage_error(
        &["scan", "no-such-host.invalid", "-p", &port],
        "no-such-host.invalid",
    );
}

#[test]
fn targets_from_a_file_and_exclusions() {
    let l = listeners(1);
    let port = l.open[0].to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.txt");
    std::fs::write(
        &file,
        "# loopback hosts\n127.0.0.1 127.0.0.2  # two\n127.0.0.3\n",
    )
    .unwrap();
    let out = run(&[
        "scan",
        "-iL",
        file.to_str().unwrap(),
        "--exclude",
        "127.0.0.2",
        "-p",
        &port,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hosts: BTreeSet<String> = json_lines(&text(&out.stdout))
        .iter()
        .filter(|l| l["type"] == "probe")
        .map(|l| l["host"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        hosts,
        ["127.0.0.1", "127.0.0.3"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

#[test]
fn a_low_open_file_limit_clamps_concurrency_with_a_warning() {
    let l = listeners(2);
    let ports = format!("{},30000-30200", port_list(&l.open));
    let mut cmd = scanwatch();
    cmd.args([
        "scan",
        "127.0.0.1",
        "-p",
        &ports,
        "-c",
        "5000",
        "--headless",
    ]);
    // SAFETY: only async-signal-safe setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 100,
                rlim_max: 100,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("does not fit the open-file limit"),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    for port in &l.open {
        assert!(stdout.contains(&format!("{port}/tcp")), "{stdout}");
    }
}

#[test]
fn demo_runs_the_simulated_network_with_the_same_outputs() {
    let schema: serde_json::Value =
        serde_json::from_str(scanwatch::headless::jsonl::SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let out = run(&[
        "demo",
        "--scenario",
        "tarpit",
        "--speed",
        "max",
        "--json",
        "--seed",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&text(&out.stdout));
    for line in &lines {
        assert!(validator.is_valid(line), "{line}");
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["finish"], "completed");
    let most_open = summary["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["open"].as_array().unwrap().len())
        .max()
        .unwrap();
    assert!(
        most_open >= 100,
        "a tarpit host answers on every port: {most_open}"
    );

    let out = run(&[
        "demo",
        "--scenario",
        "healthy",
        "--speed",
        "max",
        "--headless",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Scan done"));
    assert!(text(&out.stderr).contains("simulated network"));
}

#[test]
fn demo_lists_scenarios_and_rejects_bad_ones() {
    let out = run(&["demo", "--list"]);
    assert_eq!(out.status.code(), Some(0));
    let list = text(&out.stdout);
    for name in [
        "healthy",
        "shun",
        "ratelimit",
        "rstlimit",
        "tarpit",
        "qos",
        "linkloss",
        "mixed",
    ] {
        assert!(list.contains(name), "{name} missing from {list}");
    }
    assert_usage_error(&["demo", "--scenario", "nope"], "healthy");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "name = \"x\"\ndescription = \"y\"\nbogus = 1\n").unwrap();
    assert_usage_error(
        &["demo", "--scenario-file", file.to_str().unwrap()],
        "bogus",
    );
    assert_usage_error(&["demo", "--scenario-file", file.to_str().unwrap()], ":3");
    assert_usage_error(
        &["demo", "--scenario-file", "/nonexistent/scenario.toml"],
        "/nonexistent/scenario.toml",
    );
}

#[test]
fn ctrl_c_stops_cleanly_with_partial_results_and_exit_130() {
    let child = scanwatch()
        .args(["demo", "--scenario", "mixed", "--headless"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(stdout.contains("Scan stopped"), "{stdout}");
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn a_slash_8_with_1000_ports_starts_at_once_in_constant_memory() {
    use std::io::{BufRead, BufReader};
    // 16,777,216 loopback hosts × 1,000 ports: read the first 20,000 results, then stop.
    let mut child = scanwatch()
        .args(["scan", "127.0.0.0/8", "--top-ports", "1000", "--json", "-q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let start: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(start["hosts"], 16_777_216u64);
    assert_eq!(start["probes"], 16_777_216_000u64);
    let mut probes = 0;
    for line in lines.by_ref() {
        if line.unwrap().contains("\"type\":\"probe\"") {
            probes += 1;
            if probes == 20_000 {
                break;
            }
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(probes, 20_000);
    assert!(peak_kb < 64 * 1024, "peak RSS {peak_kb} kB");
}

/// Runs `scanwatch demo -q` at `speed` with `args`; returns (exit code, stdout, stderr).
fn demo_at(speed: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["demo", "--speed", speed, "-q"];
    all.extend_from_slice(args);
    let out = run(&all);
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    (out.status.code(), text(&out.stdout), stderr)
}

/// `demo_at` as fast as possible, which headless is in lockstep: the same seed, the same run.
fn demo(args: &[&str]) -> (Option<i32>, String, String) {
    demo_at("max", args)
}

/// The `ratelimit` story, in lockstep (`--speed max`, headless): RATE comes from sentinel
/// re-probes, exactly as in the detector's own tests.
fn ratelimit(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--scenario", "ratelimit", "--seed", "1"];
    all.extend_from_slice(args);
    demo_at("max", &all)
}

fn alarm_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("ALARM ")).collect()
}

#[test]
fn alarm_thresholds_from_the_config_file_decide_which_alarms_fire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let config = path.to_str().unwrap();

    // The healthy network raises nothing at the built-in thresholds ...
    let (code, _, stderr) = demo(&["--scenario", "healthy", "--seed", "3"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(alarm_lines(&stderr).is_empty(), "{stderr}");
    // ... but with 4 open ports counted as a deception, its two hosts with 4 open ports are.
    std::fs::write(&path, "[alarm]\ndeception_open_ports = 4\n").unwrap();
    let (code, _, stderr) = demo(&["--scenario", "healthy", "--seed", "3", "--config", config]);
    assert_eq!(code, Some(0), "{stderr}");
    let mut alarms: Vec<String> = alarm_lines(&stderr)
        .iter()
        .map(|l| l.split(" since ").next().unwrap_or_default().to_string())
        .collect();
    alarms.sort();
    assert_eq!(
        alarms,
        ["ALARM DECEPTION 127.0.1.20", "ALARM DECEPTION 127.0.1.30"],
        "{stderr}"
    );

    // The tarpit raises DECEPTION on each of its three hosts at the built-in thresholds, and
    // nothing when the thresholds are out of its reach.
    let (_, _, stderr) = demo(&["--scenario", "tarpit", "--seed", "5"]);
    assert_eq!(alarm_lines(&stderr).len(), 3, "{stderr}");
    std::fs::write(
        &path,
        "[alarm]\ndeception_open_ports = 65536\ndeception_open_fraction = 1\n",
    )
    .unwrap();
    let (code, stdout, stderr) = demo(&[
        "--scenario",
        "tarpit",
        "--seed",
        "5",
        "--config",
        config,
        "--json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(alarm_lines(&stderr).is_empty(), "{stderr}");
    let summary = json_lines(&stdout).pop().unwrap();
    assert_eq!(summary["alarms"], serde_json::json!([]));
}

#[test]
fn auto_throttle_halves_the_pace_when_a_rate_alarm_is_raised() {
    let schema: serde_json::Value =
        serde_json::from_str(scanwatch::headless::jsonl::SCHEMA_V1).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[scan]\nauto_throttle = true\n").unwrap();
    let config = path.to_str().unwrap();

    for extra in [&["--auto-throttle"][..], &["--config", config]] {
        let args: Vec<&str> = ["--json"].iter().chain(extra).copied().collect();
        let (code, stdout, stderr) = ratelimit(&args);
        assert_eq!(code, Some(0), "{extra:?}: {stderr}");
        let lines = json_lines(&stdout);
        for line in &lines {
            let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{line}: {errors:?}");
        }
        let alarms: Vec<&serde_json::Value> =
            lines.iter().filter(|l| l["type"] == "alarm").collect();
        let throttles: Vec<&serde_json::Value> =
            lines.iter().filter(|l| l["type"] == "throttle").collect();
        assert!(!alarms.is_empty(), "{extra:?}: no alarm: {stderr}");
        assert!(alarms.iter().all(|a| a["kind"] == "RATE"), "{stderr}");
        assert_eq!(throttles.len(), alarms.len(), "{extra:?}: one per alarm");
        // The scenario suggests concurrency 100 and 100 probes/s; each alarm halves both.
        let (mut concurrency, mut rate) = (100, 100.0);
        for (alarm, throttle) in alarms.iter().zip(&throttles) {
            assert_eq!(throttle["alarm"], "RATE");
            assert_eq!(throttle["scope"], alarm["scope"]);
            assert_eq!(throttle["t_us"], alarm["raised_us"]);
            assert_eq!(throttle["from"]["concurrency"], concurrency);
            assert_eq!(throttle["from"]["rate"], rate);
            (concurrency, rate) = (concurrency / 2, rate / 2.0);
            assert_eq!(throttle["to"]["concurrency"], concurrency);
            assert_eq!(throttle["to"]["rate"], rate);
        }
        // The engine records the new pace once it dispatches again (unless every probe was
        // already sent): the params lines are the throttles' results, after them.
        let first_throttle = lines.iter().position(|l| l["type"] == "throttle").unwrap();
        for (i, params) in lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l["type"] == "params")
        {
            assert!(i > first_throttle, "{params}");
            assert!(
                throttles.iter().any(|t| t["to"] == params["params"]),
                "{params}"
            );
        }
        assert!(
            stderr
                .contains("THROTTLE concurrency 100 → 50, rate 100/s → 50/s (RATE on 127.0.4.10)"),
            "{stderr}"
        );
    }

    // Off by default, and --no-auto-throttle wins over the file.
    for extra in [&[][..], &["--config", config, "--no-auto-throttle"]] {
        let args: Vec<&str> = ["--json"].iter().chain(extra).copied().collect();
        let (code, stdout, stderr) = ratelimit(&args);
        assert_eq!(code, Some(0), "{extra:?}: {stderr}");
        assert!(!alarm_lines(&stderr).is_empty(), "{extra:?}: {stderr}");
        assert!(!stderr.contains("THROTTLE"), "{extra:?}: {stderr}");
        let lines = json_lines(&stdout);
        assert!(
            lines
                .iter()
                .all(|l| l["type"] != "throttle" && l["type"] != "params"),
            "{extra:?}: nothing changes the pace"
        );
    }

    // The pace in force is what is halved, here a concurrency given on the command line.
    let (code, _, stderr) = ratelimit(&["--auto-throttle", "-c", "64"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("THROTTLE concurrency 64 → 32, rate 100/s → 50/s (RATE on 127.0.4.10)"),
        "{stderr}"
    );
}

#[test]
fn fail_on_alarm_exits_3_when_an_alarm_was_raised() {
    let (code, stdout, stderr) = demo(&[
        "--scenario",
        "tarpit",
        "--seed",
        "5",
        "--fail-on=alarm",
        "--json",
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    let summary = json_lines(&stdout).pop().unwrap();
    assert_eq!(
        summary["finish"], "completed",
        "the results are printed first"
    );
    assert!(!summary["alarms"].as_array().unwrap().is_empty());
    let (code, _, stderr) = ratelimit(&["--fail-on", "alarm"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(!alarm_lines(&stderr).is_empty(), "{stderr}");

    let (code, _, stderr) = demo(&["--scenario", "healthy", "--seed", "1", "--fail-on", "alarm"]);
    assert_eq!(code, Some(0), "a clean scan: {stderr}");
    let (code, _, stderr) = demo(&["--scenario", "tarpit", "--seed", "5"]);
    assert_eq!(
        code,
        Some(0),
        "without --fail-on an alarm is not a failure: {stderr}"
    );
    assert!(!alarm_lines(&stderr).is_empty(), "{stderr}");

    let l = listeners(1);
    let out = run(&[
        "scan",
        "127.0.0.1",
        "-p",
        &port_list(&l.open),
        "--fail-on",
        "alarm",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    assert_usage_error(
        &["demo", "--fail-on", "changed"],
        "--fail-on changed applies to `scanwatch recheck`",
    );
    assert_usage_error(
        &["scan", "127.0.0.1", "--fail-on", "changed"],
        "not to `scanwatch scan`",
    );
    assert_usage_error(
        &["scan", "127.0.0.1", "--fail-on", "alarm,bogus"],
        "possible values: alarm, changed",
    );
    assert_usage_error(&["scan", "127.0.0.1", "--fail-on"], "--fail-on");
}

#[test]
fn demo_at_max_speed_is_reproducible_from_its_seed() {
    let args = [
        "demo",
        "--scenario",
        "mixed",
        "--speed",
        "max",
        "--seed",
        "7",
        "--json",
    ];
    let (a, b) = (run(&args), run(&args));
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    let alarms = |o: &Output| -> Vec<String> {
        text(&o.stdout)
            .lines()
            .filter(|l| l.contains(r#""type":"alarm""#) || l.contains(r#""type":"sentinel""#))
            .map(str::to_string)
            .collect()
    };
    assert!(
        alarms(&a).iter().filter(|l| l.contains("alarm")).count() >= 5,
        "mixed raises its alarms: {}",
        text(&a.stderr)
    );
    assert_eq!(
        alarms(&a),
        alarms(&b),
        "same seed, same alarms and sentinels"
    );
    assert_eq!(text(&a.stdout), text(&b.stdout), "same seed, same output");
}

/// A configuration directory for `XDG_CONFIG_HOME`, with `themes` (file name, text) as user
/// themes and `config` as the config file when given.
fn config_home(themes: &[(&str, &str)], config: Option<&str>) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("scanwatch");
    std::fs::create_dir_all(dir.join("themes")).unwrap();
    for (name, text) in themes {
        std::fs::write(dir.join("themes").join(name), text).unwrap();
    }
    if let Some(config) = config {
        std::fs::write(dir.join("config.toml"), config).unwrap();
    }
    home
}

/// Runs scanwatch with `XDG_CONFIG_HOME` at `home` and `NO_COLOR` as given.
fn run_in(home: &std::path::Path, no_color: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = scanwatch();
    cmd.env("XDG_CONFIG_HOME", home).env_remove("NO_COLOR");
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    let out = cmd.args(args).output().unwrap();
    assert!(!text(&out.stderr).contains("panicked"), "{args:?}");
    out
}

/// Exit code 2, nothing on stdout, and every one of `needles` on stderr.
fn assert_usage(out: &Output, needles: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
}

#[test]
fn an_unknown_theme_exits_2_listing_the_themes() {
    for args in [
        &[
            "demo",
            "--theme",
            "nosuch",
            "--speed",
            "max",
            "--scenario",
            "healthy",
        ][..],
        &[
            "demo",
            "--theme",
            "nosuch",
            "--headless",
            "--json",
            "--speed",
            "max",
        ],
        &["scan", "--theme", "nosuch", "-p", "1", "127.0.0.1"],
    ] {
        assert_usage_error(args, "unknown theme `nosuch` (from --theme)");
        assert_usage_error(args, "available themes: dark, light, high-contrast, mono;");
    }
    assert_usage_error(
        &["demo", "--theme", "ligth", "--speed", "max"],
        "(did you mean `light`?)",
    );
    assert_usage_error(
        &[
            "demo",
            "--theme",
            "/nonexistent/theme.toml",
            "--speed",
            "max",
        ],
        "theme file /nonexistent/theme.toml does not exist",
    );
}

#[test]
fn a_known_theme_is_accepted_while_the_output_is_headless() {
    let home = config_home(&[("mine.toml", "extends = \"light\"\n")], None);
    for theme in ["dark", "light", "high-contrast", "mono", "mine"] {
        let out = run_in(
            home.path(),
            None,
            &[
                "demo",
                "-q",
                "--theme",
                theme,
                "--speed",
                "max",
                "--scenario",
                "healthy",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{theme}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("open"),
            "{theme}: results printed"
        );
    }
}

#[test]
fn a_user_theme_with_a_bad_colour_exits_2_naming_the_file_and_the_style() {
    let bad = "name = \"mine\"\nextends = \"dark\"\n\nborder = { fg = \"cyna\" }\n";
    let home = config_home(&[("mine.toml", bad)], None);
    let file = home.path().join("scanwatch/themes/mine.toml");
    let expected = format!(
        "theme file {}: line 4: unknown color `cyna` for `border` fg (allowed: black, red",
        file.display()
    );
    let out = run_in(
        home.path(),
        None,
        &[
            "demo",
            "--theme",
            "mine",
            "--speed",
            "max",
            "--scenario",
            "healthy",
        ],
    );
    assert_usage(&out, &[&expected, "did you mean `cyan`?"]);
    let by_path = run_in(
        home.path(),
        None,
        &["demo", "--theme", file.to_str().unwrap(), "--speed", "max"],
    );
    assert_usage(&by_path, &[&expected]);
    // Not chosen, it does not stop a run; `config --check` reports it.
    let other = run_in(
        home.path(),
        None,
        &[
            "demo",
            "-q",
            "--theme",
            "light",
            "--speed",
            "max",
            "--scenario",
            "healthy",
        ],
    );
    assert_eq!(other.status.code(), Some(0), "{}", text(&other.stderr));
    let check = run_in(home.path(), None, &["config", "--check"]);
    assert_usage(&check, &[&expected]);
}

#[test]
fn the_config_file_chooses_the_theme_and_no_color_chooses_mono() {
    let theme_of = |out: &Output| {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("theme: "))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no theme line in {stdout}"))
    };
    let plain = config_home(&[("mine.toml", "extends = \"mono\"\n")], None);
    let check = ["config", "--check"];
    assert_eq!(theme_of(&run_in(plain.path(), None, &check)), "dark");
    assert_eq!(theme_of(&run_in(plain.path(), Some("1"), &check)), "mono");
    assert_eq!(
        theme_of(&run_in(plain.path(), Some(""), &check)),
        "dark",
        "an empty NO_COLOR is not set"
    );
    let out = run_in(plain.path(), None, &check);
    assert!(
        text(&out.stdout).contains("(themes: dark, light, high-contrast, mono, mine)"),
        "{}",
        text(&out.stdout)
    );

    let configured = config_home(
        &[("mine.toml", "extends = \"mono\"\n")],
        Some("[ui]\nfps = 60\ntheme = \"mine\"\n"),
    );
    assert_eq!(
        theme_of(&run_in(configured.path(), Some("1"), &check)),
        "mine"
    );

    let unknown = config_home(&[], Some("[ui]\ntheme = \"nosuch\"\n"));
    let out = run_in(
        unknown.path(),
        None,
        &["demo", "--speed", "max", "--scenario", "healthy"],
    );
    assert_usage(
        &out,
        &["unknown theme `nosuch` (from [ui] theme in the config file)"],
    );
    let out = run_in(
        unknown.path(),
        None,
        &[
            "demo",
            "-q",
            "--theme",
            "dark",
            "--speed",
            "max",
            "--scenario",
            "healthy",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "--theme wins: {}",
        text(&out.stderr)
    );
}

#[test]
fn bad_keys_and_ui_sections_exit_2_naming_the_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let p = path.to_str().unwrap();
    let cases = [
        (
            "[keys]\nquit = \"q\"\nquitt = \"x\"\n",
            "config.toml:3: unknown key `quitt` in [keys]; allowed keys: quit, help,",
        ),
        ("[keys]\nquitt = \"x\"\n", "(did you mean `quit`?)"),
        (
            "[keys]\n\nquit = [\"q\", \"ctlr-c\"]\n",
            "config.toml:3: [keys] quit = [\"q\", \"ctlr-c\"]: `ctlr-c`: unknown modifier `ctlr-`",
        ),
        (
            "[keys]\nconcurrency_down = \"c\"\n",
            "config.toml:2: [keys] concurrency_down = \"c\": `c` is already a default key of \
             cycle_theme; to use it for concurrency_down, rebind cycle_theme too",
        ),
        (
            "[keys]\nhelp = \"x\"\nsort = \"x\"\n",
            "config.toml:3: [keys] sort = \"x\": `x` is bound to both help and sort",
        ),
        (
            "[ui]\nfps = 500\n",
            "config.toml:2: [ui] fps = 500 is out of range; allowed 1 to 120",
        ),
    ];
    for (config, needle) in cases {
        std::fs::write(&path, config).unwrap();
        assert_usage_error(&["config", "--check", "--config", p], needle);
        assert_usage_error(&["demo", "--config", p, "--speed", "max"], needle);
    }
    std::fs::write(
        &path,
        "[keys]\nconcurrency_down = \"c\"\ncycle_theme = \"T\"\nquit = [\"q\", \"esc\"]\n\n[ui]\nfps = 10\n",
    )
    .unwrap();
    let out = run(&["config", "--check", "--config", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn the_default_config_documents_keys_and_ui() {
    let out = run(&["config", "--print-default"]);
    let config = text(&out.stdout);
    for needle in [
        "\n[keys]\n",
        "# quit = [\"q\", \"ctrl-c\"]",
        "# concurrency_down = \"-\"",
        "\n[ui]\n",
        "\nfps = 30\n",
        "# theme = \"light\"",
        "NO_COLOR",
    ] {
        assert!(config.contains(needle), "{needle:?} missing");
    }
}

/// A ban that starts in the last probes of the plan: the sentinels that confirm it are asked
/// for after the plan's last probe, and the scan waits for them (`EngineControl::caught_up`)
/// instead of finishing first, which left the change point unconfirmed and the ban unreported.
/// Through the real headless loop, which folds events in batches, and in real time too.
#[test]
fn a_ban_in_the_last_probes_of_the_plan_is_still_reported() {
    let dir = tempfile::tempdir().unwrap();
    for after in [990, 1000] {
        let path = dir.path().join(format!("late-{after}.toml"));
        std::fs::write(
            &path,
            format!(
                r#"
name = "late"
description = "a ban in the last probes of the plan"
ports = "1-1024"
timeout = "1s"
concurrency = 20
rate = 100

[[hosts]]
addr = "127.0.3.10"
open = "22,80,443"
latency = {{ median = "1ms", p99 = "5ms" }}

[[hosts.behaviours]]
kind = "shun"
syns = 1
window = "1s"
ban = "300s"
after_probes = {after}
"#
            ),
        )
        .unwrap();
        let file = path.to_str().unwrap();
        for seed in ["1", "2"] {
            let (code, stdout, stderr) = demo(&["--scenario-file", file, "--seed", seed]);
            assert_eq!(code, Some(0), "{stderr}");
            let alarms = alarm_lines(&stderr);
            assert_eq!(alarms.len(), 1, "after {after}, seed {seed}: {stderr}");
            assert!(alarms[0].starts_with("ALARM SHUN 127.0.3.10"), "{stderr}");
            assert!(stdout.contains("SHUN 127.0.3.10"), "{stdout}");
        }
    }
    // In real time at 8x: the last events reach the headless loop in batches.
    let file = dir.path().join("late-1000.toml");
    let (code, _, stderr) = demo_at("8", &["--scenario-file", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(alarm_lines(&stderr).len(), 1, "{stderr}");
}

/// Results that cannot be printed (stdout on a full device) are an error, exit 1, but the
/// `--output` report and the session log still get the scan as far as it went.
#[test]
fn when_the_results_cannot_be_printed_the_report_and_log_still_have_them() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let log = dir.path().join("session.jsonl");
    let out = scanwatch()
        .args(["demo", "--speed", "max", "--headless", "--seed", "1"])
        .args(["-o", report.to_str().unwrap()])
        .args(["--session", log.to_str().unwrap()])
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the results"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).expect("a whole report");
    assert!(
        report["totals"]["probes"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    let session = std::fs::read_to_string(&log).unwrap();
    let end = session.lines().last().unwrap();
    assert!(end.contains(r#""reason":"error""#), "{end}");
}
