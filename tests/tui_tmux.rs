//! End to end in a real terminal: `scanwatch demo` in tmux, keys sent with `send-keys`, the
//! screen read with `capture-pane`. The new concurrency and timeout must show in the status
//! bar, and after `q` the terminal must be back to normal (main screen, cursor shown, lines
//! starting at column 0, i.e. raw mode off) with the summary printed.
//!
//! Without tmux the test prints why and passes, unless `SCANWATCH_REQUIRE_TMUX=1` (CI sets it).
//! The demo probes nothing real: the network is simulated.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, width: u16, height: u16, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("scanwatch-e2e-{}-{name}", std::process::id()),
        };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"]).stdout).into()
    }

    /// The pane's scrollback and screen (what is left after the live view closed).
    fn history(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-t", "e2e", "-S", "-200"])
                .stdout,
        )
        .into()
    }

    fn keys(&self, keys: &str) {
        let out = self.run(&["send-keys", "-t", "e2e", "-l", keys]);
        assert!(out.status.success(), "send-keys: {out:?}");
    }

    fn format(&self, format: &str) -> String {
        String::from_utf8_lossy(&self.run(&["display", "-p", "-t", "e2e", format]).stdout)
            .trim()
            .to_string()
    }

    /// Waits until `what` holds for the screen; panics with the screen after `within`.
    fn wait_for(&self, within: Duration, what: &str, check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if start.elapsed() > within {
                panic!("waited {within:?} for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when tmux is here; otherwise says the test is skipped, or fails when CI requires tmux
/// (`SCANWATCH_REQUIRE_TMUX=1`).
fn tmux_or_skip() -> bool {
    if tmux_available() {
        return true;
    }
    assert!(
        std::env::var("SCANWATCH_REQUIRE_TMUX").as_deref() != Ok("1"),
        "tmux is required (SCANWATCH_REQUIRE_TMUX=1) but not installed"
    );
    println!("skipped: tmux is not installed");
    false
}

/// The number after `label` in the status bar, e.g. `concurrency 50` → "50".
fn value_after<'a>(screen: &'a str, label: &str) -> Option<&'a str> {
    let at = screen.find(label)? + label.len();
    screen[at..].split_whitespace().next()
}

#[test]
fn keys_change_the_running_scan_and_quit_restores_the_terminal() {
    if !tmux_or_skip() {
        return;
    }
    let logs = tempfile::tempdir().unwrap();
    let session = logs.path().join("tmux-e2e.jsonl");
    let command = format!(
        "TERM=xterm-256color XDG_STATE_HOME={} {} demo --scenario healthy --seed 1 --speed 1 --session {}; echo EXIT=$?; sleep 60",
        logs.path().display(),
        env!("CARGO_BIN_EXE_scanwatch"),
        session.display()
    );
    let tmux = Tmux::start("live", 120, 36, &command);
    let wait = Duration::from_secs(20);

    let screen = tmux.wait_for(wait, "the status bar", |s| {
        s.contains("concurrency ") && s.contains("timeout ")
    });
    assert_eq!(
        tmux.format("#{alternate_on}"),
        "1",
        "the view uses the alternate screen"
    );
    let concurrency: u32 = value_after(&screen, "concurrency ")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no concurrency in:\n{screen}"));
    let timeout = value_after(&screen, "timeout ").unwrap().to_string();
    assert_eq!(timeout, "1.00s", "healthy's timeout:\n{screen}");
    assert!(
        screen.contains("session: tmux-e2e.jsonl"),
        "the status bar names the session log:\n{screen}"
    );

    // Halve the concurrency, raise the timeout by half.
    tmux.keys("-");
    let halved = format!("concurrency {} ", (concurrency / 2).max(1));
    tmux.wait_for(wait, &halved, |s| s.contains(&halved));
    tmux.keys(">");
    tmux.wait_for(wait, "timeout 1.50s", |s| s.contains("timeout 1.50s"));
    // And back up: the values follow each key.
    tmux.keys("+");
    let doubled = format!("concurrency {} ", (concurrency / 2).max(1) * 2);
    tmux.wait_for(wait, &doubled, |s| s.contains(&doubled));

    // Quit: the summary is printed on the normal screen and the exit code says "stopped".
    tmux.keys("q");
    let after = tmux.wait_for(wait, "the exit code", |s| s.contains("EXIT="));
    assert_eq!(
        tmux.format("#{alternate_on}"),
        "0",
        "back on the main screen"
    );
    assert_eq!(tmux.format("#{cursor_flag}"), "1", "the cursor is shown");
    let history = tmux.history();
    assert!(
        history.contains("Scan report for"),
        "summary printed:\n{history}"
    );
    assert!(history.contains("Scan stopped"), "{history}");
    let exit_line = after
        .lines()
        .find(|l| l.contains("EXIT="))
        .expect("an exit line");
    assert_eq!(
        exit_line.trim_end(),
        "EXIT=130",
        "quit before the end is exit 130, and the line starts at column 0 (raw mode off)"
    );
    assert!(
        history.contains("scanwatch: session log: "),
        "where the log is, said after the view closed:\n{history}"
    );
    // The log holds the key presses and ends as interrupted.
    let log = scanwatch::session::read_session(&session).unwrap();
    assert!(
        log.events.iter().any(|e| matches!(
            e,
            scanwatch::event::ScanEvent::ParamsChanged { params, .. }
                if params.timeout == Duration::from_millis(1500)
        )),
        "the parameter changes are logged"
    );
    let end = log.end.expect("an end line");
    assert_eq!(end.reason, scanwatch::session::EndReason::Interrupted);
}

#[test]
fn a_replay_plays_jumps_to_alarms_and_quits_cleanly() {
    if !tmux_or_skip() {
        return;
    }
    let logs = tempfile::tempdir().unwrap();
    let session = logs.path().join("recorded.jsonl");
    let recorded = std::process::Command::new(env!("CARGO_BIN_EXE_scanwatch"))
        .args([
            "demo",
            "--scenario",
            "mixed",
            "--seed",
            "1",
            "--speed",
            "max",
        ])
        .arg("--session")
        .arg(&session)
        .env("XDG_CONFIG_HOME", "/nonexistent-scanwatch-test-config")
        .env("XDG_STATE_HOME", logs.path())
        .output()
        .unwrap();
    assert!(recorded.status.success(), "{recorded:?}");
    let command = format!(
        "TERM=xterm-256color XDG_CONFIG_HOME=/nonexistent XDG_STATE_HOME={} {} replay --paused {}; echo EXIT=$?; sleep 60",
        logs.path().display(),
        env!("CARGO_BIN_EXE_scanwatch"),
        session.display()
    );
    let tmux = Tmux::start("replay", 140, 40, &command);
    let wait = Duration::from_secs(20);
    tmux.wait_for(wait, "the paused replay", |s| {
        s.contains("REPLAY paused x1") && s.contains("session time 0:00")
    });
    // The first alarm: paused there, its banner up.
    tmux.keys("n");
    let screen = tmux.wait_for(wait, "the first alarm", |s| s.contains("ALARM "));
    assert!(screen.contains("REPLAY paused"), "{screen}");
    // Faster, play, then to the end.
    tmux.keys("++");
    tmux.wait_for(wait, "speed 4", |s| s.contains("REPLAY paused x4"));
    tmux.keys(" ");
    tmux.wait_for(wait, "playing", |s| s.contains("REPLAY playing x4"));
    tmux.keys("e");
    tmux.wait_for(wait, "the end", |s| {
        s.contains("FINISHED") && s.contains("100.0%")
    });
    tmux.keys("q");
    let after = tmux.wait_for(wait, "the exit code", |s| s.contains("EXIT="));
    assert_eq!(
        tmux.format("#{alternate_on}"),
        "0",
        "back on the main screen"
    );
    let exit_line = after.lines().find(|l| l.contains("EXIT=")).unwrap();
    assert_eq!(exit_line.trim_end(), "EXIT=0");
}

#[test]
fn a_terminal_shrunk_to_10x5_and_back_keeps_the_view_alive() {
    if !tmux_or_skip() {
        return;
    }
    let logs = tempfile::tempdir().unwrap();
    let command = format!(
        "TERM=xterm-256color XDG_CONFIG_HOME=/nonexistent XDG_STATE_HOME={} {} demo --scenario healthy --seed 1 --speed 1 --no-session; echo EXIT=$?; sleep 60",
        logs.path().display(),
        env!("CARGO_BIN_EXE_scanwatch"),
    );
    let tmux = Tmux::start("resize", 120, 36, &command);
    let wait = Duration::from_secs(20);
    tmux.wait_for(wait, "the status bar", |s| s.contains("concurrency "));
    let _ = tmux.run(&["resize-window", "-t", "e2e", "-x", "10", "-y", "5"]);
    // Too small: the view says how big it must be (what fits of it in 10 columns).
    tmux.wait_for(wait, "the size notice", |s| {
        s.contains("scanwatch") && !s.contains("concurrency ")
    });
    let _ = tmux.run(&["resize-window", "-t", "e2e", "-x", "120", "-y", "36"]);
    tmux.wait_for(wait, "the panes again", |s| {
        s.contains("concurrency ") && s.contains("Hosts")
    });
    tmux.keys("q");
    let after = tmux.wait_for(wait, "the exit code", |s| s.contains("EXIT="));
    assert_eq!(tmux.format("#{alternate_on}"), "0");
    assert!(after.contains("EXIT=130"), "{after}");
}
