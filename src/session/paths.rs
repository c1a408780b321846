//! Where session logs and the diagnostics log go, how a log is named, and how its file is
//! created (mode 0600: a session log maps a network).

use std::ffi::OsString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::SessionMode;

/// Longest part of a file name taken from the targets.
const MAX_TARGET_CHARS: usize = 60;
/// Names tried with a `-2`, `-3`, ... suffix before giving up.
const MAX_SUFFIX: u32 = 10_000;

/// `$XDG_STATE_HOME/scanwatch`, or `$HOME/.local/state/scanwatch` when `XDG_STATE_HOME` is
/// unset, empty or relative; `None` without a usable home either.
pub fn state_dir() -> Option<PathBuf> {
    state_dir_from_env(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

/// [`state_dir`] from given values of `XDG_STATE_HOME` and `HOME`. The XDG base-directory spec
/// says a relative path in the variable is invalid and must be ignored.
pub fn state_dir_from_env(
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let absolute =
        |value: Option<OsString>| value.map(PathBuf::from).filter(|path| path.is_absolute());
    let base = absolute(xdg_state_home)
        .or_else(|| absolute(home).map(|h| h.join(".local").join("state")))?;
    Some(base.join("scanwatch"))
}

/// Where session logs go unless `--session` says otherwise: `<state dir>/sessions`.
pub fn sessions_dir() -> Option<PathBuf> {
    state_dir().map(|d| d.join("sessions"))
}

/// Where the diagnostics log goes: `<state dir>/logs`.
pub fn logs_dir() -> Option<PathBuf> {
    state_dir().map(|d| d.join("logs"))
}

/// A log's file name from its start time and what it scanned:
/// `20261121T101500Z-127.0.0.1-and-2-more.jsonl`, `20261121T101500Z-demo-shun.jsonl`. Only
/// letters, digits, `.`, `_` and `-` are kept (`/` and `:` become `_`).
pub fn file_name(
    started: SystemTime,
    mode: SessionMode,
    targets: &[String],
    scenario: Option<&str>,
) -> String {
    let what = match (mode, scenario) {
        (SessionMode::Demo, Some(name)) => format!("demo-{name}"),
        (SessionMode::Demo, None) => "demo".to_string(),
        (_, _) => match targets {
            [] => mode.as_str().to_string(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first}-and-{}-more", rest.len()),
        },
    };
    let mut safe: String = what
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_TARGET_CHARS)
        .collect();
    // A name never starts with a dot (hidden) or is only dots.
    while safe.starts_with('.') {
        safe.remove(0);
    }
    if safe.is_empty() {
        safe.push_str(mode.as_str());
    }
    format!("{}-{safe}.jsonl", compact_utc(started))
}

/// Creates a new log file in `dir` (and `dir` itself, mode 0700, when missing) named `name`, or
/// `name` with `-2`, `-3`, ... before `.jsonl` when that exists already.
pub fn create_unique(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    create_dirs(dir)?;
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) => (stem, format!(".{ext}")),
        None => (name, String::new()),
    };
    for n in 1..=MAX_SUFFIX {
        let path = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{n}{ext}"))
        };
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{MAX_SUFFIX} logs named {name} exist already"),
    ))
}

/// Opens `path` for a new log: created with mode 0600 (its parent directories too, mode
/// 0700), or emptied when it exists. An existing regular file open to others is narrowed to 0600.
pub fn create_at(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dirs(parent)?;
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

fn create_dirs(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create the directory {}: {e}", dir.display()),
            )
        })
}

/// Microseconds since the Unix epoch (0 for a clock set before 1970).
pub fn unix_us(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 in UTC with microseconds: `2026-11-21T10:15:00.123456Z` (a clock set before 1970
/// reads as the epoch, as in [`unix_us`]).
pub fn rfc3339_utc(t: SystemTime) -> String {
    crate::report::time::rfc3339_micros(t.max(UNIX_EPOCH))
}

/// `20261121T101500Z`: the basic ISO 8601 form, for file names.
pub fn compact_utc(t: SystemTime) -> String {
    crate::report::time::compact_utc(t.max(UNIX_EPOCH))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64, us: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(us)
    }

    #[test]
    fn utc_times() {
        assert_eq!(rfc3339_utc(at(0, 0)), "1970-01-01T00:00:00.000000Z");
        // 2026-11-21T10:15:00Z
        assert_eq!(
            rfc3339_utc(at(1_795_256_100, 123_456)),
            "2026-11-21T10:15:00.123456Z"
        );
        assert_eq!(compact_utc(at(1_795_256_100, 999_999)), "20261121T101500Z");
        // A leap day and the last second of a year.
        assert_eq!(
            rfc3339_utc(at(951_782_400, 0)),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339_utc(at(1_767_225_599, 0)),
            "2025-12-31T23:59:59.000000Z"
        );
        assert_eq!(unix_us(UNIX_EPOCH - Duration::from_secs(5)), 0);
    }

    #[test]
    fn file_names_say_when_and_what() {
        let t = at(1_795_256_100, 0);
        let targets = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            file_name(
                t,
                SessionMode::Scan,
                &targets(&["127.0.0.1", "::1", "x"]),
                None
            ),
            "20261121T101500Z-127.0.0.1-and-2-more.jsonl"
        );
        assert_eq!(
            file_name(t, SessionMode::Scan, &targets(&["10.0.0.0/24"]), None),
            "20261121T101500Z-10.0.0.0_24.jsonl"
        );
        assert_eq!(
            file_name(t, SessionMode::Scan, &targets(&["fe80::1%eth0"]), None),
            "20261121T101500Z-fe80__1_eth0.jsonl"
        );
        assert_eq!(
            file_name(t, SessionMode::Scan, &[], None),
            "20261121T101500Z-scan.jsonl"
        );
        assert_eq!(
            file_name(t, SessionMode::Scan, &targets(&["../../etc/passwd"]), None),
            "20261121T101500Z-_.._etc_passwd.jsonl"
        );
        assert_eq!(
            file_name(t, SessionMode::Scan, &targets(&["..."]), None),
            "20261121T101500Z-scan.jsonl"
        );
        assert_eq!(
            file_name(t, SessionMode::Demo, &targets(&["127.0.0.1"]), Some("shun")),
            "20261121T101500Z-demo-shun.jsonl"
        );
        let long = file_name(t, SessionMode::Scan, &targets(&[&"a".repeat(500)]), None);
        assert!(long.len() < 100, "{long}");
    }

    #[test]
    fn state_dir_follows_xdg() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            state_dir_from_env(os("/state"), os("/home/u")),
            Some(PathBuf::from("/state/scanwatch"))
        );
        assert_eq!(
            state_dir_from_env(os("relative"), os("/home/u")),
            Some(PathBuf::from("/home/u/.local/state/scanwatch"))
        );
        assert_eq!(
            state_dir_from_env(os(""), os("/home/u")),
            Some(PathBuf::from("/home/u/.local/state/scanwatch"))
        );
        assert_eq!(state_dir_from_env(None, None), None);
        assert_eq!(state_dir_from_env(None, os("rel")), None);
    }

    #[test]
    fn files_are_private_and_names_unique() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = dir.path().join("a/b/sessions");
        let (first, _) = create_unique(&sessions, "x.jsonl").unwrap();
        let (second, _) = create_unique(&sessions, "x.jsonl").unwrap();
        assert_eq!(first, sessions.join("x.jsonl"));
        assert_eq!(second, sessions.join("x-2.jsonl"));
        for path in [&first, &second] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
        let dir_mode = std::fs::metadata(&sessions).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);

        let open = dir.path().join("open.jsonl");
        std::fs::write(&open, "old").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        create_at(&open).unwrap();
        let meta = std::fs::metadata(&open).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 0, "emptied");
    }
}
