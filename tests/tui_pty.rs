//! The real binary's live view on a pseudo-terminal, against the simulated network (`demo`:
//! nothing is probed): it opens on the alternate screen, `q` before the end stops the scan,
//! restores the terminal, prints the text summary and exits 130; with standard input not a
//! terminal it closes by itself when the scan is done and exits 0.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::scanwatch;

const ENTER_ALT_SCREEN: &str = "\x1b[?1049h";
const LEAVE_ALT_SCREEN: &str = "\x1b[?1049l";

/// A pseudo-terminal of 100×30: (master, slave).
fn openpty() -> (OwnedFd, OwnedFd) {
    let mut master = -1;
    let mut slave = -1;
    let size = libc::winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: the out-pointers are valid; name and termios may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh descriptors that nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Starts `scanwatch args` with stdout and stderr (and stdin unless `stdin_null`) on the
/// terminal, which becomes its controlling terminal. Returns the child and what it writes.
fn spawn(args: &[&str], stdin_null: bool) -> (Child, File, Arc<Mutex<Vec<u8>>>) {
    let (master, slave) = openpty();
    let mut cmd = scanwatch();
    cmd.args(args)
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    if stdin_null {
        cmd.stdin(Stdio::null());
    } else {
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()));
    }
    let tty = std::os::fd::AsRawFd::as_raw_fd(&slave);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(tty, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("the binary starts");
    drop(slave);
    let master = File::from(master);
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut reader = master.try_clone().unwrap();
    let sink = Arc::clone(&output);
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        // Reading fails (EIO) once the child has exited and the terminal has no other user.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (child, master, output)
}

fn text(output: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&output.lock().unwrap()).into_owned()
}

fn wait_for(output: &Arc<Mutex<Vec<u8>>>, what: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !text(output).contains(what) {
        assert!(
            Instant::now() < deadline,
            "no {what:?} within {within:?}:\n{}",
            text(output)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn exit_code(child: &mut Child, within: Duration) -> i32 {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().expect("exited normally");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the live view did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn quitting_the_live_view_early_restores_the_terminal_and_exits_130() {
    let (mut child, mut master, output) = spawn(
        &["demo", "--scenario", "shun", "--speed", "4", "--seed", "1"],
        false,
    );
    wait_for(&output, ENTER_ALT_SCREEN, Duration::from_secs(20));
    wait_for(&output, "RUNNING", Duration::from_secs(20));
    master.write_all(b"q").unwrap();
    let code = exit_code(&mut child, Duration::from_secs(20));
    // Let the reader take the last bytes.
    std::thread::sleep(Duration::from_millis(200));
    let out = text(&output);
    assert_eq!(code, 130, "{out}");
    let left = out
        .rfind(LEAVE_ALT_SCREEN)
        .expect("the terminal is restored");
    let summary = out.rfind("Scan stopped").expect("the summary is printed");
    assert!(
        summary > left,
        "the summary comes after the view closed:\n{out}"
    );
    assert!(out.contains("Seed 1 "), "{out}");
}

#[test]
fn quitting_the_live_view_early_still_writes_the_report_marked_partial() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("quit.csv");
    let (mut child, mut master, output) = spawn(
        &[
            "demo",
            "--scenario",
            "shun",
            "--speed",
            "4",
            "--seed",
            "1",
            "--output",
            report.to_str().unwrap(),
        ],
        false,
    );
    wait_for(&output, "RUNNING", Duration::from_secs(20));
    master.write_all(b"q").unwrap();
    let code = exit_code(&mut child, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(200));
    let out = text(&output);
    assert_eq!(code, 130, "{out}");
    assert!(out.contains("partial report written to"), "{out}");
    let csv = std::fs::read_to_string(&report).unwrap();
    assert!(csv.starts_with("host,hostname,port,state,"), "{csv}");
    let last = csv.lines().last().unwrap();
    assert!(
        last.starts_with(",,,incomplete,"),
        "the last row says so: {csv}"
    );
}

#[test]
fn without_a_keyboard_the_view_closes_when_the_scan_is_done() {
    let (mut child, _master, output) = spawn(
        &[
            "demo",
            "--scenario",
            "healthy",
            "--speed",
            "50",
            "--seed",
            "1",
        ],
        true,
    );
    let code = exit_code(&mut child, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(200));
    let out = text(&output);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(ENTER_ALT_SCREEN),
        "the live view opened:\n{out}"
    );
    let left = out
        .rfind(LEAVE_ALT_SCREEN)
        .expect("the terminal is restored");
    let summary = out.rfind("Scan done").expect("the summary is printed");
    assert!(summary > left, "{out}");
}

#[test]
fn sigterm_restores_the_terminal_too() {
    let (mut child, _master, output) = spawn(
        &["demo", "--scenario", "shun", "--speed", "4", "--seed", "1"],
        false,
    );
    wait_for(&output, "RUNNING", Duration::from_secs(20));
    // SAFETY: signalling our own child by its id.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let code = exit_code(&mut child, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(200));
    let out = text(&output);
    assert_eq!(code, 130, "{out}");
    let left = out
        .rfind(LEAVE_ALT_SCREEN)
        .expect("the terminal is restored");
    let summary = out.rfind("Scan stopped").expect("the summary is printed");
    assert!(summary > left, "{out}");
}
