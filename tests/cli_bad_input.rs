//! Bad input over the whole command line, as one table: every command (scan, demo, recheck,
//! replay, report, config) given wrong targets, ports, durations, numbers, files, config and
//! theme files, and options that contradict each other. Each row must end with exit code 2, a
//! message on stderr naming the problem (the value, the file, the line or the option), nothing on
//! stdout, no panic, no session log or other file left behind (and no file given changed), in
//! little time and memory. Every row runs; the failures are reported together.
//!
//! Network safety: every target here is on 127.0.0.0/8 (or the name `no-such-host.invalid`,
//! which is looked up, never scanned), and rows that would scan if their input were accepted
//! name a single port.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A row that takes longer than this failed (it read a huge file, or hung); it is killed after
/// twice as long.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// A row whose process grew larger than this failed (it read a huge file into memory).
const MEMORY_LIMIT_KIB: i64 = 256 * 1024;
/// The apparent size of the "huge" files: sparse, so they take no disk.
const HUGE_BYTES: u64 = 8 << 30;
/// The user the rows with unreadable files run as when the tests run as root.
const NOBODY: u32 = 65534;

fn scanwatch(state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanwatch"));
    // Never pick up the developer's own configuration.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-scanwatch-test-config")
        .env("XDG_STATE_HOME", state)
        .env_remove("SCANWATCH_LOG")
        .env_remove("NO_COLOR");
    cmd
}

/// Where this test's rows keep their files and state (emptied once per test run), so that tests
/// never write into the real home.
fn state_home() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(concat!(module_path!(), "-state"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// A file (or directory) a row sets up in its own directory, `{d}` in its arguments.
enum Fixture {
    /// A text file (`{d}` in it is replaced too).
    Text(&'static str, String),
    /// A file of these bytes.
    Bytes(&'static str, Vec<u8>),
    /// 4 KiB of pseudo-random bytes holding NULs.
    Binary(&'static str),
    /// An empty file.
    Empty(&'static str),
    /// A sparse file of [`HUGE_BYTES`] zeros.
    Huge(&'static str),
    /// A directory.
    Dir(&'static str),
    /// A file only root may read: the row runs as [`NOBODY`] when the test runs as root.
    Unreadable(&'static str),
    /// A directory only root may write into: the row runs as [`NOBODY`] when the test runs as
    /// root.
    ReadOnlyDir(&'static str),
}

impl Fixture {
    fn needs_other_user(&self) -> bool {
        matches!(self, Fixture::Unreadable(_) | Fixture::ReadOnlyDir(_))
    }

    /// Creates the fixture in `dir`; `Err` says why the row cannot run here.
    fn create(&self, dir: &Path) -> Result<(), String> {
        let path_of = |name: &str| {
            let path = dir.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            path
        };
        match self {
            Fixture::Text(name, content) => {
                fs::write(path_of(name), content.replace("{d}", dir.to_str().unwrap())).unwrap();
            }
            Fixture::Bytes(name, bytes) => fs::write(path_of(name), bytes).unwrap(),
            Fixture::Binary(name) => fs::write(path_of(name), binary_bytes()).unwrap(),
            Fixture::Empty(name) => fs::write(path_of(name), "").unwrap(),
            Fixture::Huge(name) => {
                let file = fs::File::create(path_of(name)).unwrap();
                file.set_len(HUGE_BYTES).unwrap();
                // Only where the file system keeps it sparse: it must not take 8 GiB of disk.
                use std::os::unix::fs::MetadataExt;
                if file.metadata().unwrap().blocks() > 2048 {
                    file.set_len(0).unwrap();
                    return Err("this file system does not keep sparse files".to_string());
                }
            }
            Fixture::Dir(name) => fs::create_dir_all(dir.join(name)).unwrap(),
            Fixture::Unreadable(name) => {
                let path = path_of(name);
                fs::write(&path, "127.0.0.1\n").unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
            }
            Fixture::ReadOnlyDir(name) => {
                let path = dir.join(name);
                fs::create_dir_all(&path).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(0o555)).unwrap();
            }
        }
        Ok(())
    }
}

/// Bytes no text reader accepts: pseudo-random, with NULs, a little UTF-8 and a newline.
fn binary_bytes() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    bytes[1] = 0;
    bytes[100] = b'\n';
    bytes
}

/// One bad command line: `args` (with `{d}` for the row's directory), what it sets up, and what
/// stderr must say (each needle, or one of its `||` alternatives, ignoring case).
struct Row {
    /// The section of the table.
    kind: &'static str,
    what: String,
    args: Vec<String>,
    fixtures: Vec<Fixture>,
    needles: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(&'static str, String)>,
}

fn row(what: impl Into<String>, args: &[&str], needle: &str) -> Row {
    Row {
        kind: "",
        what: what.into(),
        args: args.iter().map(ToString::to_string).collect(),
        fixtures: Vec::new(),
        needles: vec![needle.to_string()],
        stdin: None,
        env: Vec::new(),
    }
}

impl Row {
    fn file(mut self, fixture: Fixture) -> Self {
        self.fixtures.push(fixture);
        self
    }

    fn text(self, name: &'static str, content: &str) -> Self {
        self.file(Fixture::Text(name, content.to_string()))
    }

    fn needle(mut self, needle: &str) -> Self {
        self.needles.push(needle.to_string());
        self
    }

    fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = Some(bytes.to_vec());
        self
    }

    fn env(mut self, key: &'static str, value: &str) -> Self {
        self.env.push((key, value.to_string()));
        self
    }

    fn needs_other_user(&self) -> bool {
        self.fixtures.iter().any(Fixture::needs_other_user)
    }
}

/// How a file that is read can be wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bad {
    Missing,
    Directory,
    NoPermission,
    Binary,
    Huge,
    Empty,
}

impl Bad {
    const ALL: [Bad; 6] = [
        Bad::Missing,
        Bad::Directory,
        Bad::NoPermission,
        Bad::Binary,
        Bad::Huge,
        Bad::Empty,
    ];

    fn fixture(self, name: &'static str) -> Option<Fixture> {
        match self {
            Bad::Missing => None,
            Bad::Directory => Some(Fixture::Dir(name)),
            Bad::NoPermission => Some(Fixture::Unreadable(name)),
            Bad::Binary => Some(Fixture::Binary(name)),
            Bad::Huge => Some(Fixture::Huge(name)),
            Bad::Empty => Some(Fixture::Empty(name)),
        }
    }

    /// What the message must say besides the file's path.
    fn needle(self) -> &'static str {
        match self {
            Bad::Missing => "does not exist||no such file",
            Bad::Directory => "directory",
            Bad::NoPermission => "permission denied",
            Bad::Binary => "binary",
            Bad::Huge => "larger than||too large||binary",
            Bad::Empty => "empty||no targets||no host||missing styles||scan nothing",
        }
    }
}

/// A row for each way in `bads` that the file at `{f}` in `args` can be wrong.
fn bad_files(rows: &mut Vec<Row>, what: &str, args: &[&str], bads: &[Bad]) {
    for &bad in bads {
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "{f}" { "{d}/input" } else { *a })
            .collect();
        let mut r = row(format!("{what}: {bad:?} file"), &args, "{d}/input").needle(bad.needle());
        if let Some(fixture) = bad.fixture("input") {
            r = r.file(fixture);
        }
        rows.push(r);
    }
}

/// `scan -p 1` and `args`: one port, so that a row whose input were accepted would scan little.
fn scan<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["scan", "-p", "1"];
    all.extend_from_slice(args);
    all
}

/// A baseline for the re-check rows: two loopback ports.
const BASELINE: &str = "127.0.0.1:22\n127.0.0.2:80\n";

/// The command and what it needs besides the bad input: `scan -p 1 127.0.0.1`, `demo --speed
/// max`, `recheck --baseline {d}/baseline.txt` (see [`with_inputs`]).
fn command_args(command: &str) -> Vec<&str> {
    match command {
        "scan" => vec!["scan", "-p", "1", "127.0.0.1"],
        "demo" => vec!["demo", "--speed", "max"],
        "recheck" => vec!["recheck", "--baseline", "{d}/baseline.txt"],
        other => vec![other],
    }
}

/// Gives a row the good inputs its arguments name and it does not set up itself:
/// `{d}/baseline.txt` ([`BASELINE`]) and `{d}/good.jsonl` ([`good_session_log`]).
fn with_inputs(mut row: Row) -> Row {
    for name in ["baseline.txt", "good.jsonl"] {
        let named = row.args.iter().any(|a| *a == format!("{{d}}/{name}"));
        let given = row
            .fixtures
            .iter()
            .any(|f| matches!(f, Fixture::Text(n, _) if *n == name));
        if named && !given {
            let content = match name {
                "good.jsonl" => good_session_log(),
                _ => BASELINE,
            };
            row = row.text(name, content);
        }
    }
    row
}

/// A session log the real binary wrote (the built-in `healthy` story), for the replay, report
/// and baseline rows that damage one.
fn good_session_log() -> &'static str {
    static LOG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let dir = state_home().join("good-log");
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("good.jsonl");
        let out = scanwatch(&dir)
            .args([
                "demo",
                "--scenario",
                "healthy",
                "--seed",
                "1",
                "--speed",
                "max",
            ])
            .args(["-q", "--session", log.to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        fs::read_to_string(&log).unwrap()
    })
}

/// Whether `no-such-host.invalid` fails to resolve, and quickly (it is looked up, never
/// scanned).
fn invalid_name_fails_fast() -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::net::ToSocketAddrs;
        let _ = tx.send(("no-such-host.invalid", 0).to_socket_addrs().is_err());
    });
    rx.recv_timeout(Duration::from_secs(3)).unwrap_or(false)
}

fn rows() -> Vec<Row> {
    let mut rows = Vec::new();

    // --- Targets -------------------------------------------------------------------------
    for (target, needle) in [
        ("127.0.0.300", "127.0.0.300"),
        ("127.0.0.1.1", "127.0.0.1.1"),
        ("127.0.0", "127.0.0"),
        ("127.0.0.0/33", "/33"),
        ("127.0.0.1/", "127.0.0.1/"),
        ("127.0.0.1/-1", "127.0.0.1/-1"),
        ("127.0.0.1/x", "127.0.0.1/x"),
        ("::1/129", "/129"),
        ("127.0.0.250-300", "300"),
        ("127.0.0.5-1", "5-1"),
        ("", "empty target"),
        ("   ", "empty target"),
        ("!!!", "!!!"),
        ("127.0.0.1:80", "127.0.0.1:80"),
        ("bad..host", "bad..host"),
        // Taken for an option, as any argument starting with `-`.
        ("-127.0.0.1", "'-1'"),
    ] {
        rows.push(row(format!("target `{target}`"), &scan(&[target]), needle));
    }
    rows.push(
        row(
            "target after good ones",
            &scan(&["127.0.0.1", "127.0.0.2", "127.0.0.999"]),
            "127.0.0.999",
        )
        .needle("argument 3"),
    );
    rows.push(row("no targets at all", &["scan", "-p", "1"], "no targets"));
    rows.push(row(
        "all ports of a /8 without --force",
        &["scan", "-p-", "127.0.0.0/8"],
        "--force",
    ));
    rows.push(row(
        "1100 ports of a /8 without --force",
        &["scan", "--top-ports", "1100", "127.0.0.0/8"],
        "--force",
    ));
    rows.push(row(
        "--exclude removes the only target",
        &scan(&["127.0.0.1", "--exclude", "127.0.0.1"]),
        "--exclude",
    ));
    rows.push(row(
        "--exclude removes a whole block",
        &scan(&["127.0.0.0/30", "--exclude", "127.0.0.0/29"]),
        "--exclude",
    ));
    rows.push(
        row(
            "--exclude-file removes every target",
            &scan(&["127.0.0.1-2", "--exclude-file", "{d}/exclude.txt"]),
            "--exclude-file",
        )
        .text("exclude.txt", "127.0.0.2\n127.0.0.1 # both\n"),
    );
    for (exclude, needle) in [
        ("127.0.0.999", "127.0.0.999"),
        ("127.0.0.1,,", "--exclude"),
        ("127.0.0.0/40", "/40"),
    ] {
        rows.push(row(
            format!("--exclude `{exclude}`"),
            &scan(&["127.0.0.1", "--exclude", exclude]),
            needle,
        ));
    }
    rows.push(
        row(
            "-iL file with a bad line",
            &scan(&["-iL", "{d}/targets.txt"]),
            "{d}/targets.txt:3",
        )
        .needle("bad..host")
        .text(
            "targets.txt",
            "127.0.0.1\n# comment\n127.0.0.2 bad..host 127.0.0.3\n",
        ),
    );
    rows.push(
        row(
            "--input-file with a bad CIDR on line 2",
            &scan(&["--input-file", "{d}/targets.txt"]),
            "{d}/targets.txt:2",
        )
        .needle("/99")
        .text("targets.txt", "127.0.0.1\n127.0.0.0/99\n"),
    );
    rows.push(
        row(
            "--exclude-file with a bad line",
            &scan(&["127.0.0.1", "--exclude-file", "{d}/exclude.txt"]),
            "{d}/exclude.txt:2",
        )
        .text("exclude.txt", "127.0.0.5\n127.0.0.300\n"),
    );
    rows.push(
        row(
            "-iL file holding only comments",
            &scan(&["-iL", "{d}/targets.txt"]),
            "{d}/targets.txt",
        )
        .text("targets.txt", "# nothing here\n\n   # nor here\n"),
    );
    rows.push(
        row(
            "-iL - with a bad line on stdin",
            &scan(&["-iL", "-"]),
            "<stdin>:2",
        )
        .stdin(b"127.0.0.1\n127.0.0.256\n"),
    );
    rows.push(
        row("-iL - with binary stdin", &scan(&["-iL", "-"]), "<stdin>").stdin(&binary_bytes()),
    );
    rows.push(row("-iL ''", &scan(&["-iL", ""]), "--input-file"));
    rows.push(row(
        "--exclude-file ''",
        &scan(&["127.0.0.1", "--exclude-file", ""]),
        "--exclude-file",
    ));
    if invalid_name_fails_fast() {
        rows.push(row(
            "a name that does not resolve, and no other target",
            &scan(&["no-such-host.invalid"]),
            "no-such-host.invalid",
        ));
    } else {
        eprintln!(
            "note: `no-such-host.invalid` does not fail to resolve quickly here; its row is skipped"
        );
    }
    for (target, needle) in [
        ("127.0.0.300", "127.0.0.300"),
        ("localhost", "localhost"),
        ("127.0.0.9", "{d}/baseline.txt"),
        ("", "empty target"),
    ] {
        rows.push(row(
            format!("recheck target `{target}`"),
            &["recheck", "--baseline", "{d}/baseline.txt", target],
            needle,
        ));
    }

    kind(&mut rows, "targets");

    // --- Ports ---------------------------------------------------------------------------
    for (spec, needle) in [
        ("70000", "70000"),
        ("65536-", "65536"),
        ("100-50", "100-50"),
        ("", "-p/--ports"),
        (",", "-p/--ports"),
        ("22,,80", "22,,80"),
        ("abc", "abc"),
        ("1-2-3", "1-2-3"),
        ("U:53", "UDP"),
        ("T:", "T:"),
        ("80-http", "80-http"),
    ] {
        rows.push(row(
            format!("-p `{spec}`"),
            &["scan", "-p", spec, "127.0.0.1"],
            needle,
        ));
    }
    for (n, needle) in [
        ("0", "--top-ports"),
        ("999999", "--top-ports"),
        ("99999999999999999999999", "--top-ports"),
        ("-1", "--top-ports"),
        ("ten", "--top-ports"),
    ] {
        rows.push(row(
            format!("--top-ports {n}"),
            &["scan", "--top-ports", n, "127.0.0.1"],
            needle,
        ));
    }
    rows.push(row(
        "--exclude-ports garbage",
        &scan(&["127.0.0.1", "--exclude-ports", "xyz"]),
        "xyz",
    ));
    rows.push(row(
        "--exclude-ports removes every port",
        &scan(&["127.0.0.1", "--exclude-ports", "1-65535"]),
        "--exclude-ports",
    ));

    kind(&mut rows, "ports");

    // --- Durations -----------------------------------------------------------------------
    for (command, flag) in [
        ("scan", "--timeout"),
        ("scan", "--banner-wait"),
        ("demo", "--timeout"),
        ("recheck", "--timeout"),
        ("recheck", "--banner-wait"),
        ("recheck", "--cooldown"),
    ] {
        let mut values = vec![
            "soon",
            "-5s",
            "-1",
            "5x",
            "",
            "1.2.3s",
            "99999999999999999999s",
        ];
        match flag {
            "--timeout" => values.extend(["0", "0ms", "11m"]),
            "--banner-wait" => values.push("11s"),
            _ => values.push("11m"),
        }
        for value in values {
            let mut args = command_args(command);
            args.extend([flag, value]);
            let needle = if value.is_empty() { flag } else { value };
            rows.push(row(format!("{command} {flag} `{value}`"), &args, needle).needle(flag));
        }
    }
    for (speed, needle) in [
        ("0", "0"),
        ("-1", "-1"),
        ("1e9", "1e9"),
        ("fast", "fast"),
        ("nan", "nan"),
    ] {
        rows.push(
            row(
                format!("demo --speed {speed}"),
                &["demo", "--speed", speed],
                needle,
            )
            .needle("--speed"),
        );
    }
    for (speed, needle) in [("0", "0"), ("100", "100"), ("-1", "-1"), ("abc", "abc")] {
        rows.push(
            row(
                format!("replay --speed {speed}"),
                &["replay", "--speed", speed, "{d}/good.jsonl"],
                needle,
            )
            .needle("--speed"),
        );
    }

    kind(&mut rows, "durations");

    // --- Numbers: the message names the option and the value -----------------------------
    let number_row = |command: &str, flag: &str, value: &str| {
        let mut args = command_args(command);
        args.extend([flag, value]);
        let long = if flag == "-c" { "--concurrency" } else { flag };
        let r = row(format!("{command} {flag} `{value}`"), &args, long);
        if value.is_empty() { r } else { r.needle(value) }
    };
    for (flag, value) in [
        ("-c", "0"),
        ("-c", "100001"),
        ("-c", "4294967295"),
        ("-c", "99999999999"),
        ("-c", "-1"),
        ("-c", "many"),
        ("--concurrency", "1.5"),
        ("--max-per-host", "0"),
        ("--max-per-host", "100001"),
        ("--max-per-host", "-3"),
        ("--retries", "11"),
        ("--retries", "-1"),
        ("--rate", "0"),
        ("--rate", "-1"),
        ("--rate", "-0.5"),
        ("--rate", "nan"),
        ("--rate", "inf"),
        ("--rate", "1e300"),
        ("--rate", "fast"),
        ("--seed", "-1"),
        ("--seed", "abc"),
        ("--seed", "18446744073709551616"),
        ("--shard", "3/2"),
        ("--shard", "0/2"),
        ("--shard", "a/b"),
        ("--shard", "1/0"),
        ("--shard", "1"),
        ("--shard", ""),
        ("--shard", "-1/2"),
        ("--shard", "1/2/3"),
    ] {
        rows.push(number_row("scan", flag, value));
    }
    for command in ["demo", "recheck"] {
        for (flag, value) in [
            ("-c", "0"),
            ("-c", "-1"),
            ("--max-per-host", "0"),
            ("--retries", "11"),
            ("--rate", "0"),
            ("--rate", "-1"),
            ("--seed", "-1"),
        ] {
            rows.push(number_row(command, flag, value));
        }
    }
    for (command, value, needle) in [
        ("scan", "bogus", "bogus"),
        ("scan", "", "--fail-on"),
        ("scan", "changed", "--fail-on changed"),
        ("demo", "changed", "--fail-on changed"),
        ("recheck", "ALARMS", "ALARMS"),
    ] {
        let mut args = command_args(command);
        args.extend(["--fail-on", value]);
        rows.push(row(format!("{command} --fail-on `{value}`"), &args, needle));
    }
    for (level, needle) in [("verbose", "verbose"), ("", "--log-level")] {
        rows.push(row(
            format!("--log-level `{level}`"),
            &scan(&["127.0.0.1", "--log-level", level]),
            needle,
        ));
    }
    rows.push(row(
        "report --format bogus",
        &["report", "--format", "bogus", "{d}/x.jsonl"],
        "bogus",
    ));

    kind(&mut rows, "numbers and choices");

    // --- Files that are read -------------------------------------------------------------
    bad_files(&mut rows, "-iL", &scan(&["-iL", "{f}"]), &Bad::ALL);
    // An empty exclude file excludes nothing (as in nmap): not an error.
    bad_files(
        &mut rows,
        "--exclude-file",
        &scan(&["127.0.0.1", "--exclude-file", "{f}"]),
        &Bad::ALL[..5],
    );
    // An empty config file leaves every default: not an error.
    let some = &Bad::ALL[..5];
    bad_files(
        &mut rows,
        "scan --config",
        &scan(&["127.0.0.1", "--config", "{f}"]),
        some,
    );
    bad_files(
        &mut rows,
        "config --check --config",
        &["config", "--check", "--config", "{f}"],
        some,
    );
    bad_files(
        &mut rows,
        "demo --config",
        &["demo", "--speed", "max", "--config", "{f}"],
        &[Bad::Missing, Bad::Binary],
    );
    bad_files(
        &mut rows,
        "replay --config",
        &["replay", "--config", "{f}", "{d}/missing.jsonl"],
        &[Bad::Missing, Bad::Directory],
    );
    bad_files(
        &mut rows,
        "scan --theme PATH",
        &scan(&["127.0.0.1", "--theme", "{f}"]),
        &Bad::ALL,
    );
    bad_files(
        &mut rows,
        "demo --theme PATH",
        &["demo", "--speed", "max", "--theme", "{f}"],
        &[Bad::Missing, Bad::Huge],
    );
    bad_files(
        &mut rows,
        "demo --scenario-file",
        &["demo", "--speed", "max", "--scenario-file", "{f}"],
        &Bad::ALL,
    );
    bad_files(
        &mut rows,
        "recheck --baseline",
        &["recheck", "--baseline", "{f}"],
        &Bad::ALL,
    );
    bad_files(
        &mut rows,
        "replay",
        &["replay", "--headless", "{f}"],
        &Bad::ALL,
    );
    bad_files(&mut rows, "report", &["report", "{f}"], &Bad::ALL);
    // Devices: endless zeros (refused from the first bytes or at the size limit, never read to
    // the end) and nothing at all.
    for (what, args) in [
        ("-iL", scan(&["-iL", "{f}"])),
        (
            "--exclude-file",
            scan(&["127.0.0.1", "--exclude-file", "{f}"]),
        ),
        ("--config", scan(&["127.0.0.1", "--config", "{f}"])),
        ("--theme", scan(&["127.0.0.1", "--theme", "{f}"])),
        (
            "--scenario-file",
            vec!["demo", "--speed", "max", "--scenario-file", "{f}"],
        ),
        ("--baseline", vec!["recheck", "--baseline", "{f}"]),
        ("replay", vec!["replay", "--headless", "{f}"]),
        ("report", vec!["report", "{f}"]),
    ] {
        let with = |device: &'static str| -> Vec<&str> {
            args.iter()
                .map(|a| if *a == "{f}" { device } else { *a })
                .collect()
        };
        rows.push(
            row(format!("{what} /dev/zero"), &with("/dev/zero"), "/dev/zero")
                .needle("binary||larger than||too large"),
        );
        if !matches!(what, "--exclude-file" | "--config") {
            rows.push(
                row(format!("{what} /dev/null"), &with("/dev/null"), "/dev/null")
                    .needle(Bad::Empty.needle()),
            );
        }
    }
    rows.push(row(
        "report: the second of two logs is missing",
        &["report", "{d}/good.jsonl", "{d}/gone.jsonl"],
        "{d}/gone.jsonl",
    ));

    kind(&mut rows, "files that are read");

    // --- Damaged contents ----------------------------------------------------------------
    let log = good_session_log();
    let (header, rest) = log.split_once('\n').unwrap();
    let (line2, rest) = rest.split_once('\n').unwrap();
    let damaged = [
        (
            "a line that is not JSON",
            format!("{header}\n{line2}\n{{not json\n{rest}"),
            ":3",
        ),
        (
            "a line of an unknown type",
            format!("{header}\n{line2}\n{{\"type\":\"bogus\"}}\n{rest}"),
            ":3",
        ),
        (
            "an unknown format version",
            format!(
                "{}\n{line2}\n{rest}",
                header.replacen("\"version\":1", "\"version\":99", 1)
            ),
            "99",
        ),
        (
            "another format",
            "{\"format\":\"something-else\",\"version\":1}\n".to_string(),
            "something-else",
        ),
        (
            "a cut header",
            header[..header.len() / 2].to_string(),
            "header",
        ),
        (
            "a header that is not JSON",
            format!("hello\n{rest}"),
            "session",
        ),
        (
            "binary after the header",
            format!("{header}\n{line2}\n\u{0}\u{1}\u{2}\n{rest}"),
            ":3",
        ),
    ];
    for (what, content, needle) in &damaged {
        for command in [&["replay", "--headless"][..], &["report"]] {
            let mut args = command.to_vec();
            args.push("{d}/log.jsonl");
            rows.push(
                row(
                    format!("{}: session log with {what}", command[0]),
                    &args,
                    "{d}/log.jsonl",
                )
                .needle(needle)
                .text("log.jsonl", content),
            );
        }
    }
    for (what, content, needle) in [
        (
            "a bad port on line 2",
            "127.0.0.1:22\n127.0.0.1:99999\n",
            ":2",
        ),
        (
            "a line of three words",
            "127.0.0.1:22\nbogus line here\n",
            ":2",
        ),
        ("a bad address", "127.0.0.300:22\n", "line 1"),
        (
            "XML with a wrong end tag",
            "<?xml version=\"1.0\"?>\n<nmaprun>\n<host><address addr=\"127.0.0.1\" addrtype=\"ipv4\"/>\n<ports><port protocol=\"tcp\" portid=\"22\"><state state=\"open\"/></port>\n</ports></hst></nmaprun>\n",
            ":5",
        ),
        (
            "nmap XML with no host",
            "<?xml version=\"1.0\"?>\n<nmaprun>\n</nmaprun>\n",
            "no host",
        ),
        (
            "no open port",
            "<?xml version=\"1.0\"?>\n<nmaprun>\n<host><address addr=\"127.0.0.1\" addrtype=\"ipv4\"/></host>\n</nmaprun>\n",
            "no open port",
        ),
        ("a session log with a bad line", &damaged[0].1, ":3"),
        ("only whitespace", "  \n\n\t\n", "empty"),
    ] {
        rows.push(
            row(
                format!("recheck: baseline with {what}"),
                &["recheck", "--baseline", "{d}/baseline"],
                "{d}/baseline",
            )
            .needle(needle)
            .text("baseline", content),
        );
    }
    for (what, content, needle) in [
        ("bad TOML syntax", "name = \"x\"\nbogus = [\n", ":2"),
        (
            "an unknown key",
            "name = \"x\"\n\n[[host]]\naddr = \"127.0.0.1\"\n",
            "`host`",
        ),
        ("a wrong type", "name = 5\n", "`name`"),
        (
            "a port out of range",
            "[[hosts]]\naddr = \"127.0.0.1\"\nopen = \"99999\"\n",
            ":3",
        ),
        (
            "a zero timeout",
            "timeout = \"0s\"\n\n[[hosts]]\naddr = \"127.0.0.1\"\n",
            ":1",
        ),
        (
            "a routed address",
            "[[hosts]]\naddr = \"10.1.2.3\"\n",
            "10.1.2.3",
        ),
        (
            "no host and no target",
            "name = \"nothing\"\n",
            "{d}/scenario.toml",
        ),
        (
            "an empty target list",
            "targets = []\n\n[[hosts]]\naddr = \"127.0.0.1\"\n",
            "targets",
        ),
        (
            "a bad duration",
            "duration = \"soon\"\n\n[[hosts]]\naddr = \"127.0.0.1\"\n",
            "soon",
        ),
        (
            "a negative duration",
            "duration = \"-5s\"\n\n[[hosts]]\naddr = \"127.0.0.1\"\n",
            "-5s",
        ),
        ("a NUL in a string", "name = \"a\u{0}b\"\n", "binary"),
    ] {
        rows.push(
            row(
                format!("demo: scenario file with {what}"),
                &[
                    "demo",
                    "--speed",
                    "max",
                    "--scenario-file",
                    "{d}/scenario.toml",
                ],
                "scenario.toml",
            )
            .needle(needle)
            .text("scenario.toml", content),
        );
    }
    for (name, needle) in [("nope", "nope"), ("", "unknown scenario")] {
        rows.push(row(
            format!("demo --scenario `{name}`"),
            &["demo", "--speed", "max", "--scenario", name],
            needle,
        ));
    }

    kind(&mut rows, "damaged session logs, baselines, scenarios");

    // --- Config files --------------------------------------------------------------------
    for (what, content, needles) in [
        (
            "bad TOML syntax",
            "[scan\nconcurrency = 1\n",
            &["{d}/config.toml:1"][..],
        ),
        (
            "an unknown key",
            "[scan]\nbogus = 1\n",
            &["{d}/config.toml:2", "bogus"],
        ),
        (
            "a misspelt key",
            "[alarm]\nqos_factr = 3\n",
            &["{d}/config.toml:2", "qos_factor"],
        ),
        (
            "an unknown section",
            "[nosection]\nx = 1\n",
            &["{d}/config.toml:1", "nosection"],
        ),
        (
            "a key outside any section",
            "concurrency = 5\n",
            &["{d}/config.toml:1", "concurrency"],
        ),
        (
            "a wrong type",
            "[scan]\n\nconcurrency = \"many\"\n",
            &["{d}/config.toml:3", "concurrency"],
        ),
        (
            "a negative number",
            "[scan]\nretries = -1\n",
            &["{d}/config.toml:2", "retries"],
        ),
        (
            "an out-of-range number",
            "[scan]\nconcurrency = 0\n",
            &["{d}/config.toml:2", "concurrency"],
        ),
        (
            "an out-of-range duration",
            "[scan]\ntimeout = \"0ms\"\n",
            &["{d}/config.toml:2", "timeout"],
        ),
        (
            "a bad duration",
            "[scan]\nbanner_wait = \"soon\"\n",
            &["{d}/config.toml:2", "banner_wait"],
        ),
        (
            "a negative duration",
            "[scan]\nbanner_wait = \"-1s\"\n",
            &["{d}/config.toml:2", "negative"],
        ),
        (
            "an overflowing duration",
            "[scan]\ntimeout = \"99999999999999999999s\"\n",
            &["{d}/config.toml:2", "timeout"],
        ),
        (
            "a bad port spec",
            "[scan]\nports = \"70000\"\n",
            &["{d}/config.toml:2", "ports"],
        ),
        (
            "a zero rate",
            "[scan]\nrate = 0\n",
            &["{d}/config.toml:2", "rate"],
        ),
        (
            "an alarm threshold out of range",
            "[alarm]\n\nrate_retry_answers = 65\n",
            &["{d}/config.toml:3", "rate_retry_answers"],
        ),
        (
            "a bad key binding",
            "[keys]\nquit = \"ctrl+zz\"\n",
            &["{d}/config.toml:2", "quit"],
        ),
        (
            "fps out of range",
            "[ui]\nfps = 500\n",
            &["{d}/config.toml:2", "fps"],
        ),
        (
            "an unknown theme",
            "[ui]\n\ntheme = \"nosuch\"\n",
            &["{d}/config.toml:3", "nosuch"],
        ),
        (
            "a duplicate key",
            "[scan]\nretries = 1\nretries = 2\n",
            &["{d}/config.toml:3", "retries"],
        ),
    ] {
        for args in [
            &["config", "--check", "--config", "{d}/config.toml"][..],
            &[
                "scan",
                "-p",
                "1",
                "127.0.0.1",
                "--config",
                "{d}/config.toml",
            ],
        ] {
            let mut r = row(
                format!("{}: config file with {what}", args[0]),
                args,
                needles[0],
            );
            for needle in &needles[1..] {
                r = r.needle(needle);
            }
            rows.push(r.text("config.toml", content));
        }
    }
    for args in [
        &["config", "--check", "--config", "{d}/config.toml"][..],
        &["demo", "--speed", "max", "--config", "{d}/config.toml"],
    ] {
        rows.push(
            row(
                format!("{}: config file not in UTF-8", args[0]),
                args,
                "{d}/config.toml:2",
            )
            .needle("UTF-8")
            .file(Fixture::Bytes(
                "config.toml",
                b"[scan]\nretries = \"\xff\"\n".to_vec(),
            )),
        );
    }
    // The config file found in $XDG_CONFIG_HOME, with no --config.
    for command in [
        &["config", "--check"][..],
        &["scan", "-p", "1", "127.0.0.1"],
        &["replay", "--headless", "{d}/good.jsonl"],
    ] {
        rows.push(
            row(
                format!("{}: the default config file with a wrong type", command[0]),
                command,
                "{d}/cfg/scanwatch/config.toml:3",
            )
            .needle("retries")
            .text("cfg/scanwatch/config.toml", "[scan]\n\nretries = \"two\"\n")
            .env("XDG_CONFIG_HOME", "{d}/cfg"),
        );
    }
    for command in [
        &["recheck", "--baseline", "{d}/baseline.txt"][..],
        &["replay", "--headless", "{d}/good.jsonl"],
        &["demo", "--speed", "max"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--config", "{d}/config.toml"]);
        rows.push(
            row(
                format!("{}: config file with an unknown key", command[0]),
                &args,
                "{d}/config.toml:2",
            )
            .needle("concurency")
            .text("config.toml", "[scan]\nconcurency = 10\n"),
        );
    }

    kind(&mut rows, "config files");

    // --- Themes --------------------------------------------------------------------------
    for command in [
        &["scan", "-p", "1", "127.0.0.1"][..],
        &["demo", "--speed", "max"],
        &["recheck", "--baseline", "{d}/baseline.txt"],
        &["replay", "--headless", "{d}/good.jsonl"],
    ] {
        for (theme, needle) in [("nosuch", "nosuch"), ("", "--theme"), ("ligth", "light")] {
            let mut args = command.to_vec();
            args.extend(["--theme", theme]);
            rows.push(
                row(format!("{} --theme `{theme}`", command[0]), &args, needle).needle("theme"),
            );
        }
    }
    for (what, content, needle) in [
        (
            "a bad colour",
            "name = \"x\"\nextends = \"dark\"\nborder = { fg = \"cyna\" }\n",
            "line 3",
        ),
        (
            "a bad hex colour",
            "name = \"x\"\nextends = \"dark\"\nborder = { fg = \"#12345\" }\n",
            "#12345",
        ),
        (
            "an unknown base",
            "name = \"x\"\nextends = \"nosuch\"\n",
            "line 2",
        ),
        (
            "an unknown style",
            "extends = \"dark\"\nbordr = { fg = \"red\" }\n",
            "bordr",
        ),
        (
            "bad TOML",
            "extends = \"dark\"\nborder = {\n",
            "{d}/theme.toml",
        ),
    ] {
        rows.push(
            row(
                format!("--theme PATH: theme file with {what}"),
                &["demo", "--speed", "max", "--theme", "{d}/theme.toml"],
                "{d}/theme.toml",
            )
            .needle(needle)
            .text("theme.toml", content),
        );
        rows.push(
            row(
                format!("--theme NAME: user theme with {what}"),
                &["scan", "-p", "1", "127.0.0.1", "--theme", "mine"],
                "{d}/cfg/scanwatch/themes/mine.toml",
            )
            .needle(
                needle
                    .replace("theme.toml", "cfg/scanwatch/themes/mine.toml")
                    .as_str(),
            )
            .text("cfg/scanwatch/themes/mine.toml", content)
            .env("XDG_CONFIG_HOME", "{d}/cfg"),
        );
    }
    rows.push(
        row(
            "config --check: [ui] theme names a broken user theme",
            &["config", "--check"],
            "{d}/cfg/scanwatch/themes/mine.toml",
        )
        .needle("cyna")
        .text("cfg/scanwatch/config.toml", "[ui]\ntheme = \"mine\"\n")
        .text(
            "cfg/scanwatch/themes/mine.toml",
            "extends = \"dark\"\nborder = { fg = \"cyna\" }\n",
        )
        .env("XDG_CONFIG_HOME", "{d}/cfg"),
    );

    kind(&mut rows, "themes");

    // --- Files that are written ----------------------------------------------------------
    for command in [
        &["scan", "-p", "1", "127.0.0.1"][..],
        &["demo", "--speed", "max"],
        &["recheck", "--baseline", "{d}/baseline.txt"],
        &["report", "{d}/good.jsonl"],
    ] {
        for (what, path, fixture) in [
            ("in a missing directory", "{d}/missing/out.txt", None),
            ("a directory", "{d}/out", Some(Fixture::Dir("out"))),
            (
                "under a regular file",
                "{d}/file/out.txt",
                Some(Fixture::Text("file", "x\n".into())),
            ),
            (
                "in a read-only directory",
                "{d}/ro/out.txt",
                Some(Fixture::ReadOnlyDir("ro")),
            ),
        ] {
            let mut args = command.to_vec();
            args.extend(["-o", path]);
            let mut r =
                row(format!("{} --output {what}", command[0]), &args, path).needle("--output");
            if let Some(fixture) = fixture {
                r = r.file(fixture);
            }
            rows.push(r);
        }
        if command[0] != "report" {
            for (what, path, fixture) in [
                ("a directory", "{d}/out", Some(Fixture::Dir("out"))),
                (
                    "under a regular file",
                    "{d}/file/s.jsonl",
                    Some(Fixture::Text("file", "x\n".into())),
                ),
                (
                    "in a read-only directory",
                    "{d}/ro/s.jsonl",
                    Some(Fixture::ReadOnlyDir("ro")),
                ),
            ] {
                let mut args = command.to_vec();
                args.extend(["--session", path]);
                let mut r = row(format!("{} --session {what}", command[0]), &args, path)
                    .needle("--session");
                if let Some(fixture) = fixture {
                    r = r.file(fixture);
                }
                rows.push(r);
            }
            // The run is refused after its report file was opened: the file is left as it was.
            let mut args = command.to_vec();
            args.extend(["-o", "{d}/report.txt", "--session", "{d}/file/s.jsonl"]);
            rows.push(
                row(
                    format!(
                        "{}: a bad --session leaves the --output file alone",
                        command[0]
                    ),
                    &args,
                    "{d}/file/s.jsonl",
                )
                .text("report.txt", "the previous report\n")
                .text("file", "x\n"),
            );
            // And a bad --output does not touch the --session file.
            let mut args = command.to_vec();
            args.extend(["--session", "{d}/log.jsonl", "-o", "{d}/missing/out.txt"]);
            rows.push(
                row(
                    format!(
                        "{}: a bad --output leaves the --session file alone",
                        command[0]
                    ),
                    &args,
                    "{d}/missing/out.txt",
                )
                .text("log.jsonl", "an older log\n"),
            );
            // Nor is a report file created when a later check refuses the run.
            let mut args = command.to_vec();
            args.extend(["-o", "{d}/new-report.txt", "--session", "{d}/file/s.jsonl"]);
            rows.push(
                row(
                    format!(
                        "{}: a bad --session leaves no new --output file",
                        command[0]
                    ),
                    &args,
                    "{d}/file/s.jsonl",
                )
                .text("file", "x\n"),
            );
        }
    }

    kind(&mut rows, "files that are written");

    // --- Contradictions and unknown options ----------------------------------------------
    for (what, args, needles) in [
        (
            "-p with --top-ports",
            &["scan", "-p", "22", "--top-ports", "10", "127.0.0.1"][..],
            &["--ports", "--top-ports"][..],
        ),
        (
            "--session with --no-session",
            &[
                "scan",
                "-p",
                "1",
                "127.0.0.1",
                "--session",
                "{d}/s.jsonl",
                "--no-session",
            ],
            &["--session", "--no-session"],
        ),
        (
            "demo --session with --no-session",
            &["demo", "--no-session", "--session", "{d}/s.jsonl"],
            &["--session", "--no-session"],
        ),
        (
            "recheck --session with --no-session",
            &[
                "recheck",
                "--baseline",
                "{d}/b.txt",
                "--no-session",
                "--session",
                "{d}/s.jsonl",
            ],
            &["--session", "--no-session"],
        ),
        (
            "--scenario with --scenario-file",
            &[
                "demo",
                "--scenario",
                "shun",
                "--scenario-file",
                "{d}/x.toml",
            ],
            &["--scenario", "--scenario-file"],
        ),
        (
            "--output-format without --output",
            &["scan", "-p", "1", "127.0.0.1", "--output-format", "csv"],
            &["--output-format", "--output"],
        ),
        (
            "demo --output-format without --output",
            &["demo", "--output-format", "json"],
            &["--output-format", "--output"],
        ),
        (
            "replay --headless with --paused",
            &["replay", "--headless", "--paused", "{d}/x.jsonl"],
            &["--headless", "--paused"],
        ),
        (
            "replay --headless with --speed",
            &["replay", "--speed", "4", "--headless", "{d}/x.jsonl"],
            &["--headless", "--speed"],
        ),
        (
            "config --print-default with --check",
            &["config", "--print-default", "--check"],
            &["--print-default", "--check"],
        ),
        (
            "config --print-default with --config",
            &["config", "--print-default", "--config", "{d}/c.toml"],
            &["--print-default", "--config"],
        ),
        ("config with no option", &["config"], &["Usage"]),
        ("an unknown command", &["frobnicate"], &["frobnicate"]),
        ("no command", &[], &["Usage"]),
        (
            "scan --bogus",
            &["scan", "--bogus", "127.0.0.1"],
            &["--bogus"],
        ),
        ("demo with a scan option", &["demo", "-p", "22"], &["-p"]),
        (
            "replay with --output",
            &["replay", "-o", "{d}/x", "{d}/x.jsonl"],
            &["-o"],
        ),
        (
            "report with --headless",
            &["report", "--headless", "{d}/x.jsonl"],
            &["--headless"],
        ),
        (
            "recheck without --baseline",
            &["recheck", "127.0.0.1"],
            &["--baseline"],
        ),
        ("replay without a file", &["replay"], &["<FILE>"]),
        (
            "report without a file",
            &["report", "--format", "csv"],
            &["<FILE>"],
        ),
        (
            "--timeout without a value",
            &["scan", "127.0.0.1", "--timeout"],
            &["--timeout"],
        ),
        (
            "-iL given twice",
            &["scan", "-p", "1", "-iL", "{d}/a.txt", "-iL", "{d}/b.txt"],
            &["--input-file"],
        ),
        (
            "--timeout given twice",
            &[
                "scan",
                "-p",
                "1",
                "127.0.0.1",
                "--timeout",
                "1s",
                "--timeout",
                "2s",
            ],
            &["--timeout"],
        ),
        (
            "a value for a switch",
            &["scan", "-p", "1", "127.0.0.1", "--headless=yes"],
            &["--headless"],
        ),
    ] {
        let mut r = row(what, args, needles[0]);
        for needle in &needles[1..] {
            r = r.needle(needle);
        }
        rows.push(r);
    }
    kind(&mut rows, "contradictions and unknown options");
    rows.into_iter().map(with_inputs).collect()
}

/// Marks the rows added since the last mark as of `kind`.
fn kind(rows: &mut [Row], kind: &'static str) {
    for row in rows.iter_mut().rev().take_while(|r| r.kind.is_empty()) {
        row.kind = kind;
    }
}

// ---------------------------------------------------------------------------------------------
// Running a row
// ---------------------------------------------------------------------------------------------

/// What a finished child did.
struct Outcome {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    elapsed: Duration,
    max_rss_kib: i64,
    killed: bool,
}

/// Runs `cmd` to its end (killing it after twice [`TIME_LIMIT`]), with `stdin` as its input,
/// and measures its time and peak memory.
fn run_child(mut cmd: Command, stdin: Option<&[u8]>) -> std::io::Result<Outcome> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let mut killed = false;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: plain out-parameters for wait4.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break (status, usage);
        }
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if !killed && started.elapsed() > 2 * TIME_LIMIT {
            // SAFETY: the child is ours and not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    Ok(Outcome {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        elapsed,
        max_rss_kib: usage.ru_maxrss,
        killed,
    })
}

/// Every file under `dir` (relative path → size and modification time), `skip` left out.
fn snapshot(dir: &Path, skip: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.starts_with(skip) {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            files.insert(rel, (meta.len(), meta.modified().ok()));
        }
    }
    files
}

/// Whether user [`NOBODY`] can reach `dir` (every directory above it searchable by others).
fn others_can_reach(dir: &Path) -> bool {
    dir.ancestors()
        .all(|d| fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// Runs one row in its own directory `root/NNN`: `files/` is `{d}`, `state/` its
/// `XDG_STATE_HOME`. Returns what went wrong, if anything; `Ok(Some(note))` when skipped.
fn check_row(index: usize, row: &Row, root: &Path) -> Result<Option<String>, String> {
    let home = root.join(format!("{index:03}"));
    let dir = home.join("files");
    let state = home.join("state");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(&state).unwrap();
    let d = dir.to_str().unwrap();
    let expand = |s: &str| s.replace("{d}", d);
    for fixture in &row.fixtures {
        if let Err(why) = fixture.create(&dir) {
            return Ok(Some(format!("skipped: {why}")));
        }
    }
    let as_root = unsafe { libc::geteuid() } == 0;
    let other_user = row.needs_other_user() && as_root;
    if other_user {
        if !others_can_reach(&dir) {
            return Ok(Some(format!(
                "skipped: user {NOBODY} cannot reach {}",
                dir.display()
            )));
        }
        fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).unwrap();
    }
    let before = snapshot(&dir, &state);

    let mut cmd = scanwatch(&state);
    cmd.args(row.args.iter().map(|a| expand(a)))
        .current_dir(&dir);
    for (key, value) in &row.env {
        cmd.env(key, expand(value));
    }
    if other_user {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    let out = match run_child(cmd, row.stdin.as_deref()) {
        Ok(out) => out,
        Err(e) if other_user => {
            return Ok(Some(format!("skipped: cannot run as user {NOBODY}: {e}")));
        }
        Err(e) => return Err(format!("cannot start scanwatch: {e}")),
    };

    let stderr = text(&out.stderr);
    let lower = stderr.to_lowercase();
    let mut problems = Vec::new();
    if out.killed {
        problems.push(format!("hung: killed after {:?}", 2 * TIME_LIMIT));
    } else if out.elapsed > TIME_LIMIT {
        problems.push(format!("slow: {:?}", out.elapsed));
    }
    if out.max_rss_kib > MEMORY_LIMIT_KIB {
        problems.push(format!("used {} MiB of memory", out.max_rss_kib / 1024));
    }
    if out.code != Some(2) {
        problems.push(format!("exit code {:?}, not 2", out.code));
    }
    for needle in &row.needles {
        let needle = expand(needle);
        let found = needle
            .split("||")
            .any(|n| stderr.contains(n) || lower.contains(&n.to_lowercase()));
        if !found {
            problems.push(format!("`{needle}` not in stderr"));
        }
    }
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if stderr.contains(bad) {
            problems.push(format!("`{bad}` in stderr"));
        }
    }
    if !out.stdout.is_empty() {
        let stdout = text(&out.stdout);
        let shown: String = stdout.chars().take(200).collect();
        problems.push(format!("stdout not empty: {shown:?}"));
    }
    let sessions = state.join("scanwatch/sessions");
    if let Ok(entries) = fs::read_dir(&sessions) {
        let left: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        if !left.is_empty() {
            problems.push(format!("left session logs behind: {left:?}"));
        }
    }
    let after = snapshot(&dir, &state);
    for (path, meta) in &after {
        match before.get(path) {
            None => problems.push(format!("left {} behind", path.display())),
            Some(old) if old != meta => problems.push(format!("changed {}", path.display())),
            Some(_) => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        problems.push(format!("removed {}", path.display()));
    }
    if problems.is_empty() {
        // Kept only for the rows that failed (the huge files, sparse as they are, would confuse
        // backups and `du`).
        let _ = fs::remove_dir_all(&home);
        Ok(None)
    } else {
        Err(format!(
            "{}\n    {}\n    stderr: {}",
            problems.join("; "),
            format_args!("scanwatch {}", shell_words(&row.args, d)),
            stderr.trim_end().replace('\n', "\n            "),
        ))
    }
}

fn shell_words(args: &[String], d: &str) -> String {
    args.iter()
        .map(|a| {
            let a = a.replace("{d}", d);
            if a.is_empty() || a.contains([' ', '\'', '"', '*', '!']) {
                format!("'{a}'")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_kind_of_bad_input_exits_2_naming_the_problem() {
    let root = state_home().join("rows");
    fs::create_dir_all(&root).unwrap();
    let rows = rows();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let notes = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) * 3;
    std::thread::scope(|s| {
        for _ in 0..workers.min(rows.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(row) = rows.get(i) else { break };
                    match check_row(i, row, &root) {
                        Ok(None) => {}
                        Ok(Some(note)) => notes
                            .lock()
                            .unwrap()
                            .push(format!("[{i:03}] {}: {note}", row.what)),
                        Err(problem) => failures.lock().unwrap().push((
                            i,
                            format!("[{i:03}] {} / {}: {problem}", row.kind, row.what),
                        )),
                    }
                }
            });
        }
    });
    for note in notes.into_inner().unwrap() {
        eprintln!("note: {note}");
    }
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for row in &rows {
        match kinds.iter_mut().find(|(k, _)| *k == row.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((row.kind, 1)),
        }
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    eprintln!("{} bad-input rows: {}", rows.len(), kinds.join(", "));
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} bad-input rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures
            .iter()
            .map(|(_, f)| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
