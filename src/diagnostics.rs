//! Diagnostic tracing: scanwatch's own log (scan start and end, parameter changes, alarms,
//! session write errors), for whoever has to find out why a run went wrong.
//!
//! It goes to a daily file under `$XDG_STATE_HOME/scanwatch/logs/` (`scanwatch.YYYY-MM-DD.log`,
//! two weeks kept), never to the screen, so it cannot disturb the live view. Its level is
//! `--log-level`, else the `SCANWATCH_LOG` environment variable (both in `tracing`'s EnvFilter
//! syntax: `info`, `scanwatch=debug`, ...), else `warn`. The file and its directory (mode 0700)
//! are created on the first line written, so a quiet run leaves nothing behind. Nothing is
//! traced per probe at the default level.

use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// The environment variable that sets the level when `--log-level` does not.
pub const ENV_VAR: &str = "SCANWATCH_LOG";
/// The level when neither says.
pub const DEFAULT_LEVEL: &str = "warn";
/// Daily files kept.
const KEEP_FILES: usize = 14;

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Checks a level or filter as `--log-level` takes it: a level (`off`, `error`, `warn`, `info`,
/// `debug`, `trace`) or EnvFilter directives (`scanwatch=debug,warn`).
pub fn check_filter(spec: &str) -> Result<String, String> {
    let spec = spec.trim();
    let plain_word = !spec.contains(['=', ',', '[', ':']);
    if spec.is_empty() || (plain_word && !LEVELS.contains(&spec.to_ascii_lowercase().as_str())) {
        return Err(format!(
            "`{spec}` is not a level; use {}, or a filter such as scanwatch=debug",
            LEVELS.join(", ")
        ));
    }
    EnvFilter::try_new(spec)
        .map(|_| spec.to_string())
        .map_err(|e| format!("`{spec}` is not a log filter: {e}"))
}

/// Keeps the diagnostics log's writer thread running; dropping it writes what is left.
#[derive(Debug)]
pub struct Diagnostics {
    _guard: Option<WorkerGuard>,
    /// Where the log goes (when it is on).
    pub dir: Option<PathBuf>,
}

/// Starts diagnostic tracing at `level` (from `--log-level`), else `SCANWATCH_LOG`, else
/// `warn`. Returns the handle to keep until the program ends, and warnings to show (a bad
/// `SCANWATCH_LOG`). Never fails the run: without a usable directory there is no log.
pub fn start(level: Option<&str>) -> (Diagnostics, Vec<String>) {
    let mut warnings = Vec::new();
    let from_env = std::env::var(ENV_VAR).ok().filter(|v| !v.trim().is_empty());
    let spec = match (level, from_env) {
        (Some(level), _) => level.to_string(),
        (None, Some(env)) => match check_filter(&env) {
            Ok(spec) => spec,
            Err(e) => {
                warnings.push(format!("{ENV_VAR}: {e}; using {DEFAULT_LEVEL}"));
                DEFAULT_LEVEL.to_string()
            }
        },
        (None, None) => DEFAULT_LEVEL.to_string(),
    };
    let off = Diagnostics {
        _guard: None,
        dir: None,
    };
    let Ok(filter) = EnvFilter::try_new(&spec) else {
        return (off, warnings);
    };
    if filter.max_level_hint() == Some(LevelFilter::OFF) {
        return (off, warnings);
    }
    let Some(dir) = crate::session::paths::logs_dir() else {
        if level.is_some() {
            warnings.push(
                "no diagnostics log: neither XDG_STATE_HOME nor HOME is an absolute path".into(),
            );
        }
        return (off, warnings);
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("scanwatch-log")
        .finish(DailyFile {
            dir: dir.clone(),
            appender: None,
        });
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_env_filter(filter)
        .finish();
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        // Already set (a second run in this process): that one stays.
        return (off, warnings);
    }
    (
        Diagnostics {
            _guard: Some(guard),
            dir: Some(dir),
        },
        warnings,
    )
}

/// The daily log file, opened on the first write (its directory made mode 0700).
struct DailyFile {
    dir: PathBuf,
    appender: Option<RollingFileAppender>,
}

impl Write for DailyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.appender.is_none() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)?;
            let appender = RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix("scanwatch")
                .filename_suffix("log")
                .max_log_files(KEEP_FILES)
                .build(&self.dir)
                .map_err(io::Error::other)?;
            self.appender = Some(appender);
        }
        match &mut self.appender {
            Some(appender) => appender.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.appender {
            Some(appender) => appender.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_filters() {
        for ok in [
            "warn",
            "INFO",
            "off",
            "trace",
            "scanwatch=debug",
            "scanwatch=debug,warn",
        ] {
            assert!(check_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["", "verbose", "loud", "scanwatch=loud"] {
            let e = check_filter(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
        assert!(
            check_filter("verbose")
                .unwrap_err()
                .contains("error, warn, info")
        );
    }
}
