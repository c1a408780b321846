//! What the tests that run the real binary share: the binary with the developer's own
//! configuration out of the way, and a state directory of the test binary's own for the session
//! logs it writes, so that tests never write into the real home.

// Each test binary uses its own part.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `scanwatch` binary, reading no configuration and keeping its state in [`state_home`].
pub fn scanwatch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanwatch"));
    // Never pick up the developer's own configuration.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-scanwatch-test-config");
    cmd.env("XDG_STATE_HOME", state_home());
    cmd
}

/// Where the binary's session logs go during these tests: a directory of this test binary's own
/// (its module path names it), emptied once per test run.
pub fn state_home() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(concat!(module_path!(), "-state"));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    })
}
