//! A re-check on a real kernel: as root in a private network namespace (`unshare -n`), a
//! baseline of loopback listeners is taken with the real binary (its nmap-xml report); then one
//! port is closed (RST), another silenced by a DROP rule, a whole host silenced, and a new port
//! opened; `scanwatch recheck` must call each one right.
//!
//! Without root, `unshare`, `nft` or `ip` the test prints why and passes, unless
//! `SCANWATCH_REQUIRE_NETNS=1`. Network safety: only 127.0.0.0/8, only inside the namespace the
//! test made.

mod support;

use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;

use support::firewall::Rule;
use support::lab::{self, Lab};
use support::netns::{REPORT_PREFIX, run_isolated};

/// Its ports change one by one.
const CHANGING: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Goes silent altogether.
const VANISHING: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

const STAYS: u16 = 21001;
const CLOSES: u16 = 21002;
const DROPPED: u16 = 21003;
const NEW: u16 = 21004;

fn scanwatch(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scanwatch"))
        .args(args)
        .args(["--no-session", "--headless"])
        .env("XDG_CONFIG_HOME", "/nonexistent-scanwatch-test-config")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The line of the re-check section about `host` `port`, e.g. `127.0.0.2 21002/tcp now closed: …`.
fn verdict_line(out: &str, host: Ipv4Addr, port: u16) -> &str {
    let key = format!("  {host} {port}/tcp ");
    out.lines()
        .find(|l| l.starts_with(&key))
        .unwrap_or_else(|| panic!("no re-check line for {host}:{port}:\n{out}"))
}

#[test]
fn recheck_tells_a_closed_port_a_dropped_port_a_silent_host_and_a_new_port_apart() {
    run_isolated(
        "recheck_tells_a_closed_port_a_dropped_port_a_silent_host_and_a_new_port_apart",
        || {
            let mut lab = Lab::new();
            lab.listen(CHANGING, &[STAYS, DROPPED]);
            lab.listen(VANISHING, &[STAYS, CLOSES]);
            // The one listener that goes away: dropped after the baseline, so its port RSTs.
            let closing = TcpListener::bind((CHANGING, CLOSES)).unwrap();

            let dir = tempfile::tempdir().unwrap();
            let baseline = dir.path().join("baseline.xml");
            let ports = format!("{STAYS}-{NEW}");
            let (code, _, stderr) = scanwatch(&[
                "scan",
                "127.0.0.2",
                "127.0.0.3",
                "-p",
                &ports,
                "--banner-wait",
                "0",
                "-o",
                baseline.to_str().unwrap(),
            ]);
            assert_eq!(code, Some(0), "{stderr}");

            // What changed since: a service gone, a new DROP rule on one port, a host gone
            // silent, a new service.
            drop(closing);
            lab.firewall(&[
                Rule::DropPort {
                    host: CHANGING,
                    port: DROPPED,
                },
                Rule::DropAll { host: VANISHING },
            ]);
            lab.listen(CHANGING, &[NEW]);

            let report = dir.path().join("recheck.json");
            let (code, out, stderr) = scanwatch(&[
                "recheck",
                "--baseline",
                baseline.to_str().unwrap(),
                "--full",
                "--cooldown",
                "500ms",
                "--timeout",
                "500ms",
                "--banner-wait",
                "0",
                "--fail-on",
                "changed",
                "-o",
                report.to_str().unwrap(),
            ]);
            println!("{REPORT_PREFIX}recheck:\n{out}");
            assert_eq!(
                code,
                Some(4),
                "something changed: exit 4\n{out}\n{stderr}\n{}",
                lab::ruleset()
            );
            assert!(
                out.contains("5 ports open in the baseline: 1 still open"),
                "{out}"
            );
            assert!(
                verdict_line(&out, CHANGING, CLOSES).contains("now closed: RST"),
                "{out}"
            );
            assert!(
                verdict_line(&out, CHANGING, DROPPED).contains("now silent (port blocked)"),
                "{out}\n{}",
                lab::ruleset()
            );
            for port in [STAYS, CLOSES] {
                assert!(
                    verdict_line(&out, VANISHING, port).contains("now silent (host silent)"),
                    "{out}"
                );
            }
            assert!(verdict_line(&out, CHANGING, NEW).contains("new"), "{out}");
            assert!(out.contains("RECHECK 127.0.0.2"), "{out}");
            // The report says the same: the diff section of --output.
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
            assert_eq!(report["recheck"]["changed"], true, "{report}");
            let verdict_of = |host: Ipv4Addr, port: u16| {
                report["recheck"]["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["host"] == host.to_string() && p["port"] == port)
                    .map(|p| p["verdict"].as_str().unwrap().to_string())
            };
            assert_eq!(verdict_of(CHANGING, STAYS).as_deref(), Some("still open"));
            assert_eq!(verdict_of(CHANGING, CLOSES).as_deref(), Some("now closed"));
            assert_eq!(verdict_of(CHANGING, NEW).as_deref(), Some("new"));
            assert!(out.contains("RECHECK 127.0.0.3"), "{out}");
        },
    );
}
