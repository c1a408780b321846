//! `--output FILE` on the real binary: the format from the extension or `--output-format`, a
//! path that cannot be written stops the scan before it starts, Ctrl-C still writes a partial
//! report; and the nmap-xml report of a loopback scan against nmap itself: `ndiff` finds no
//! differences, and the file is valid against nmap's DTD.
//!
//! The nmap comparison needs `nmap` and `ndiff` (Debian package `ndiff`); it skips with a printed
//! reason when either is missing, unless SCANWATCH_REQUIRE_NDIFF=1 (or SCANWATCH_REQUIRE_NETNS=1)
//! makes that a failure. Network safety: only 127.0.0.1, on listeners this test binds.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn scanwatch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanwatch"));
    // Never pick up the developer's own configuration.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-scanwatch-test-config");
    cmd
}

fn run(args: &[&str]) -> Output {
    scanwatch().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Whether the environment asks for the nmap comparison to run rather than skip.
fn required() -> bool {
    ["SCANWATCH_REQUIRE_NDIFF", "SCANWATCH_REQUIRE_NETNS"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| v == "1"))
}

/// The program's path when it is on PATH.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Skips (returns false, saying why) or fails when a tool is missing.
fn have_tools(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| find_program(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{} not installed (Debian: apt-get install nmap ndiff)",
        missing.join(", ")
    );
    assert!(!required(), "required but {why}");
    eprintln!("skipped: {why}");
    false
}

// ---- --output on a demo ----

#[test]
fn the_format_follows_the_extension_unless_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let demo = [
        "demo",
        "--scenario",
        "healthy",
        "--speed",
        "max",
        "--seed",
        "3",
        "-q",
    ];
    for (file, format, starts) in [
        ("r.json", None, "{\n  \"format\": \"scanwatch-report\""),
        ("r.csv", None, "host,hostname,port,state,reason,count,"),
        (
            "r.xml",
            None,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>",
        ),
        ("r.txt", None, "scanwatch "),
        ("report", None, "scanwatch "),
        ("r.txt", Some("nmap-xml"), "<?xml"),
        ("r.json", Some("csv"), "host,"),
    ] {
        let path = dir.path().join(file);
        let mut args: Vec<&str> = demo.to_vec();
        args.extend(["--output", path_str(&path)]);
        if let Some(f) = format {
            args.extend(["--output-format", f]);
        }
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.starts_with(starts), "{args:?}:\n{written}");
        assert!(
            text(&out.stdout).contains("Scan done"),
            "the summary still goes to stdout"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}: a report maps a network");
        }
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn an_unwritable_output_stops_the_scan_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/r.xml");
    for args in [
        vec![
            "scan",
            "127.0.0.1",
            "-p",
            "1-10",
            "--headless",
            "--output",
            path_str(&missing),
        ],
        vec!["demo", "--speed", "max", "--output", path_str(&missing)],
        vec![
            "scan",
            "127.0.0.1",
            "-p",
            "1-10",
            "--headless",
            "-o",
            path_str(dir.path()),
        ],
    ] {
        let out = run(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--output"), "{stderr}");
        assert!(
            stderr.contains(args.last().unwrap()),
            "names the path: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "nothing was scanned: {}",
            text(&out.stdout)
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!missing.exists());
    let out = run(&["scan", "127.0.0.1", "--output-format", "csv"]);
    assert_eq!(out.status.code(), Some(2), "--output-format needs --output");
    let out = run(&[
        "scan",
        "127.0.0.1",
        "--output",
        "x",
        "--output-format",
        "xml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nmap-xml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn ctrl_c_writes_a_partial_report_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("partial.json");
    let xml = dir.path().join("partial.xml");
    for path in [&json, &xml] {
        let child = scanwatch()
            .args(["demo", "--scenario", "mixed", "--headless", "--seed", "1"])
            .args(["--output", path_str(path)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        // SAFETY: sending SIGINT to our own child process.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGINT);
        }
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(
            stderr.contains(&format!("partial report written to {}", path.display())),
            "{stderr}"
        );
    }
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["partial"], true);
    assert_eq!(doc["scan"]["finish"], "stopped");
    assert_eq!(doc["scan"]["type"], "simulated");
    assert!(doc["totals"]["probes"].as_u64().unwrap() < 24 * 1024);
    let xml = std::fs::read_to_string(&xml).unwrap();
    assert!(xml.contains("exit=\"error\" errormsg=\"partial results: the scan was stopped"));
    assert!(xml.ends_with("</nmaprun>\n"), "a whole document");
}

// ---- against nmap ----

/// Listeners on 127.0.0.1 at `ports`; the first answers every connection with a hostile banner.
fn listeners(ports: &[u16]) -> Vec<TcpListener> {
    let held: Vec<TcpListener> = ports
        .iter()
        .map(|&p| {
            TcpListener::bind(("127.0.0.1", p))
                .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{p}: {e}"))
        })
        .collect();
    let talker = held[0].try_clone().unwrap();
    std::thread::spawn(move || {
        for conn in talker.incoming() {
            let Ok(mut conn): Result<TcpStream, _> = conn else {
                continue;
            };
            let _ = conn.write_all(b"\x1b]0;pwned\x07SSH-2.0-x <&\"'>\r\n");
        }
    });
    held
}

/// `nmap -sT -Pn -n -p SPEC 127.0.0.1 -oX A` and `scanwatch scan 127.0.0.1 -p SPEC --output B`,
/// then `ndiff A B`: (exit code, output).
fn compare_with_nmap(dir: &Path, spec: &str, name: &str) -> (i32, String, PathBuf) {
    let a = dir.join(format!("{name}-nmap.xml"));
    let b = dir.join(format!("{name}-scanwatch.xml"));
    let nmap = Command::new("nmap")
        .args([
            "-sT",
            "-Pn",
            "-n",
            "-p",
            spec,
            "127.0.0.1",
            "-oX",
            path_str(&a),
        ])
        .output()
        .unwrap();
    assert!(nmap.status.success(), "nmap: {}", text(&nmap.stderr));
    let ours = run(&[
        "scan",
        "127.0.0.1",
        "-p",
        spec,
        "--headless",
        "-q",
        "--output",
        path_str(&b),
    ]);
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
    let ndiff = Command::new("ndiff")
        .args([path_str(&a), path_str(&b)])
        .output()
        .unwrap();
    let out = text(&ndiff.stdout);
    assert!(
        ndiff.stderr.is_empty(),
        "ndiff warned or failed: {}",
        text(&ndiff.stderr)
    );
    (ndiff.status.code().unwrap_or(-1), out, b)
}

/// ndiff's lines that mark a difference, besides the two scan banners (which name different
/// scanners, commands and times).
fn differences(ndiff_out: &str) -> Vec<&str> {
    ndiff_out
        .lines()
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .filter(|l| !l.starts_with("-Nmap ") && !l.starts_with("+scanwatch "))
        .collect()
}

#[test]
fn ndiff_finds_no_difference_from_an_nmap_scan_of_the_same_ports() {
    if !have_tools(&["nmap", "ndiff"]) {
        return;
    }
    // 20000 dnp (with a banner), 20031 listed as `unknown` in nmap-services, 20077 not listed.
    let _held = listeners(&[20000, 20031, 20077]);
    let dir = tempfile::tempdir().unwrap();
    // 98 closed ports: summed up in extraports by both.
    let (code, out, report) = compare_with_nmap(dir.path(), "20000-20100", "wide");
    assert_eq!(differences(&out), Vec::<&str>::new(), "{out}");
    assert_eq!(code, 0, "ndiff: the scans are the same\n{out}");
    assert!(out.contains("+scanwatch "), "{out}");
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(!xml.contains('\u{1b}') && !xml.contains("pwned"));
    // 10 closed ports: listed one by one, with their service names, by both.
    let (code, out, _) = compare_with_nmap(dir.path(), "20000-20010", "narrow");
    assert_eq!(differences(&out), Vec::<&str>::new(), "{out}");
    assert_eq!(code, 0, "{out}");
    // ndiff -v shows the ports it compared: the open ones with nmap's service names.
    let a = dir.path().join("wide-nmap.xml");
    let verbose = Command::new("ndiff")
        .args(["-v", path_str(&a), path_str(&report)])
        .output()
        .unwrap();
    let verbose = text(&verbose.stdout);
    for line in [
        " 127.0.0.1:",
        " Not shown: 98 closed ports",
        " 20000/tcp open  dnp",
        " 20031/tcp open  unknown",
    ] {
        assert!(verbose.contains(line), "`{line}` not in:\n{verbose}");
    }
}

#[test]
fn ndiff_sees_a_port_that_changed() {
    if !have_tools(&["nmap", "ndiff"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.xml");
    let after = dir.path().join("after.xml");
    let _stays = listeners(&[20150]);
    let goes = TcpListener::bind(("127.0.0.1", 20152)).unwrap();
    let scan = |path: &Path| {
        let out = run(&[
            "scan",
            "127.0.0.1",
            "-p",
            "20150-20160",
            "--headless",
            "-q",
            "--output",
            path_str(path),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    scan(&before);
    drop(goes);
    scan(&after);
    let ndiff = Command::new("ndiff")
        .args([path_str(&before), path_str(&after)])
        .output()
        .unwrap();
    let out = text(&ndiff.stdout);
    assert_eq!(ndiff.status.code(), Some(1), "{out}");
    let diffs = differences(&out);
    assert!(
        diffs.iter().any(|l| l.starts_with("-20152/tcp open")),
        "{out}"
    );
    assert!(
        diffs.iter().any(|l| l.starts_with("+20152/tcp closed")),
        "{out}"
    );
}

/// Validates with Python's lxml against nmap's own DTD (`scanner` set to `nmap`, the one value
/// the DTD allows there).
#[test]
fn the_xml_is_valid_against_nmaps_dtd() {
    const DTD: &str = "/usr/share/nmap/nmap.dtd";
    if !have_tools(&["nmap", "ndiff"]) {
        return;
    }
    // ndiff depends on python3-lxml, so the system Python has it where ndiff is installed.
    let python = "/usr/bin/python3";
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mixed = dir.path().join("mixed.xml");
    let out = run(&[
        "demo",
        "--scenario",
        "mixed",
        "--speed",
        "max",
        "--seed",
        "1",
        "-q",
        "--output",
        path_str(&mixed),
    ]);
    assert_eq!(out.status.code(), Some(0));
    files.push(mixed);
    {
        let _held = listeners(&[20170]);
        let scan = dir.path().join("scan.xml");
        let out = run(&[
            "scan",
            "127.0.0.1",
            "-p",
            "20165-20175",
            "--headless",
            "-q",
            "--output",
            path_str(&scan),
        ]);
        assert_eq!(out.status.code(), Some(0));
        files.push(scan);
    }
    let script = format!(
        "import sys\nfrom lxml import etree\ndtd = etree.DTD(open({DTD:?}))\nbad = 0\n\
         for f in sys.argv[1:]:\n    data = open(f, 'rb').read().replace(b'scanner=\"scanwatch\"', b'scanner=\"nmap\"', 1)\n    \
         if not dtd.validate(etree.fromstring(data)):\n        bad += 1\n        print(f, dtd.error_log.filter_from_errors())\n\
         sys.exit(1 if bad else 0)\n"
    );
    let checked = Command::new(python)
        .arg("-c")
        .arg(&script)
        .args(files.iter().map(|f| path_str(f)))
        .output();
    match checked {
        Ok(o) if o.status.success() => {}
        Ok(o) if text(&o.stderr).contains("No module named 'lxml'") => {
            assert!(!required(), "python3-lxml is missing");
            eprintln!("skipped: python3-lxml not installed");
        }
        Ok(o) => panic!(
            "not valid against nmap.dtd:\n{}{}",
            text(&o.stdout),
            text(&o.stderr)
        ),
        Err(e) => {
            assert!(!required(), "{python}: {e}");
            eprintln!("skipped: {python}: {e}");
        }
    }
}
