//! Errors that end a run, and the exit codes they map to.

use std::fmt;

/// Exit code: the scan finished.
pub const EXIT_OK: i32 = 0;
/// Exit code: a runtime failure (I/O error, the scan could not run).
pub const EXIT_RUNTIME: i32 = 1;
/// Exit code: bad usage or bad input (targets, ports, config, files); the message names the part.
pub const EXIT_USAGE: i32 = 2;
/// Exit code with `--fail-on alarm`: the scan finished and raised at least one interference alarm.
pub const EXIT_ALARM: i32 = 3;
/// Exit code with `--fail-on changed`: a re-check found a port open in the baseline not open now
/// (or a new open port).
pub const EXIT_CHANGED: i32 = 4;

/// An error that ends the program with a message and an exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or input: exit 2.
    Usage(String),
    /// The run itself failed: exit 1.
    Runtime(String),
}

impl Failure {
    pub fn usage(msg: impl Into<String>) -> Self {
        Failure::Usage(msg.into())
    }

    pub fn runtime(msg: impl Into<String>) -> Self {
        Failure::Runtime(msg.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Runtime(_) => EXIT_RUNTIME,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Runtime(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}
