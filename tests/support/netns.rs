//! Runs a test body as root inside a private network namespace of its own (`unshare -n`).
//!
//! The `#[test]` fn calls [`run_isolated`] with its own name. In the test process that checks the
//! preconditions (root, `unshare`, `nft`, `ip`, a namespace can be made and carries nftables
//! rules) and re-executes this test binary as `unshare -n <test binary> <name> --exact
//! --nocapture`, marking the child with an environment variable. In that child the same fn runs
//! again, and [`run_isolated`] runs the body: whatever it configures dies with the namespace.
//!
//! When a precondition fails the test prints why and passes, unless `SCANWATCH_REQUIRE_NETNS=1`
//! is set (CI), which turns the skip into a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

/// Set in the child, to the name of the test it runs.
const CHILD_ENV: &str = "SCANWATCH_NETNS_CHILD";
/// `1` turns a skip into a failure.
const REQUIRE_ENV: &str = "SCANWATCH_REQUIRE_NETNS";
/// The child prints this before the body runs, so the parent knows the right test ran.
const RAN_MARK: &str = "netns-child-ran:";
/// Lines the child prints with this prefix are repeated by the parent.
pub const REPORT_PREFIX: &str = "netns ";

/// Scenarios are timing-sensitive: one namespace at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `body` inside a new network namespace (see the module doc). `test_name` must be the
/// name of the calling `#[test]` fn, as `cargo test -- --exact` knows it.
pub fn run_isolated(test_name: &str, body: impl FnOnce()) {
    if let Some(child) = std::env::var_os(CHILD_ENV) {
        assert_eq!(child, test_name, "the child ran a different test");
        println!("{RAN_MARK}{test_name}");
        body();
        return;
    }
    if let Err(reason) = preconditions() {
        skip(test_name, reason);
        return;
    }
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let started = Instant::now();
    let output = run_child(test_name);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test_name} failed in its network namespace ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains(&format!("{RAN_MARK}{test_name}\n")),
        "the child did not run `{test_name}` (is that the test fn's name?):\n{stdout}\n{stderr}"
    );
    for line in stdout.lines().filter(|l| l.starts_with(REPORT_PREFIX)) {
        println!("{line}");
    }
    println!(
        "{REPORT_PREFIX}{test_name}: {:.1} s in its namespace",
        started.elapsed().as_secs_f64()
    );
}

/// True in a child started by [`run_isolated`], i.e. inside a namespace the test made.
pub fn in_test_namespace() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// `unshare -n <this test binary> <test_name> --exact --nocapture`, marked as the child.
fn run_child(test_name: &str) -> Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(tool("unshare").expect("checked by preconditions"))
        .arg("-n")
        .arg(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test_name)
        .output()
        .expect("start unshare")
}

/// Prints why the test did not run (straight to stderr, so it shows without `--nocapture`),
/// or fails when `SCANWATCH_REQUIRE_NETNS=1`.
fn skip(test_name: &str, reason: &str) {
    if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
        panic!("{test_name}: {reason} ({REQUIRE_ENV}=1 requires the network-namespace tests)");
    }
    let line =
        format!("{test_name} skipped: {reason} (set {REQUIRE_ENV}=1 to make this a failure)\n");
    // The test harness captures print!/eprint!, not direct writes.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Checked once per test process: the reason the namespace tests cannot run, if any.
fn preconditions() -> Result<(), &'static str> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(check_preconditions)
        .as_ref()
        .map(|_| ())
        .map_err(String::as_str)
}

fn check_preconditions() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root (network namespaces and nftables rules need root)".into());
    }
    for (name, package) in [
        ("unshare", "util-linux"),
        ("nft", "nftables"),
        ("ip", "iproute2"),
    ] {
        if tool(name).is_none() {
            return Err(format!("`{name}` not found (apt package {package})"));
        }
    }
    let probe = Command::new(tool("unshare").unwrap())
        .arg("-n")
        .arg(tool("nft").unwrap())
        .args(["add", "table", "inet", "scanwatch_probe"])
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if !probe.status.success() {
        return Err(format!(
            "cannot make a network namespace with nftables rules: `unshare -n nft add table` said: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    Ok(())
}

/// The absolute path of a system tool: on PATH, or in the sbin directories a non-login root
/// shell may lack.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
