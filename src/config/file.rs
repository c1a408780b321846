//! Finding the config file and the user's themes, and reading them as text, refusing what is not
//! a small UTF-8 text file.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::error::Failure;

/// Largest config or theme file read; anything bigger is not a hand-written one.
pub(super) const MAX_FILE_BYTES: u64 = 1 << 20;

/// `$XDG_CONFIG_HOME/scanwatch/config.toml`, or `$HOME/.config/scanwatch/config.toml` when
/// `XDG_CONFIG_HOME` is unset, empty or relative; `None` without a usable home either.
pub fn default_path() -> Option<PathBuf> {
    path_from_env(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

/// Where user themes live: `themes/` beside the default config file
/// (`$XDG_CONFIG_HOME/scanwatch/themes`, or `$HOME/.config/scanwatch/themes`).
pub fn themes_dir() -> Option<PathBuf> {
    themes_dir_from_env(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`themes_dir`] from given values of `XDG_CONFIG_HOME` and `HOME`.
pub(super) fn themes_dir_from_env(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let config = path_from_env(xdg_config_home, home)?;
    Some(config.parent()?.join("themes"))
}

/// [`default_path`] from given values of `XDG_CONFIG_HOME` and `HOME`.
///
/// The XDG base-directory spec says a relative `XDG_CONFIG_HOME` is invalid and must be ignored.
pub(super) fn path_from_env(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let absolute =
        |value: Option<OsString>| value.map(PathBuf::from).filter(|path| path.is_absolute());
    let config_dir =
        absolute(xdg_config_home).or_else(|| absolute(home).map(|h| h.join(".config")))?;
    Some(config_dir.join("scanwatch").join("config.toml"))
}

/// Whether something is at `path`. An entry that exists but cannot be inspected counts as
/// existing, so reading it reports the real problem instead of silently using defaults.
pub(super) fn exists(path: &Path) -> bool {
    !matches!(path.metadata(), Err(e) if e.kind() == io::ErrorKind::NotFound)
}

/// Reads the config file at `path` as text, with a usage error naming the file when it is
/// missing, unreadable, a directory, larger than [`MAX_FILE_BYTES`], binary or not UTF-8.
pub(super) fn read_text(path: &Path) -> Result<String, Failure> {
    read_text_file(path, "config file")
}

/// Reads the TOML file at `path` as text, with a usage error that calls it `what` (`theme
/// file`) and names it when it is missing, unreadable, a directory, larger than
/// [`MAX_FILE_BYTES`], binary or not UTF-8.
pub(crate) fn read_text_file(path: &Path, what: &str) -> Result<String, Failure> {
    let shown = path.display();
    let cannot_read = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Failure::usage(format!("{what} {shown} does not exist")),
        _ => Failure::usage(format!("cannot read {what} {shown}: {e}")),
    };
    let file = File::open(path).map_err(cannot_read)?;
    if file.metadata().map_err(cannot_read)?.is_dir() {
        return Err(Failure::usage(format!(
            "{what} {shown} is a directory; give the path of a TOML file"
        )));
    }
    // Read one byte past the limit, so a size that metadata does not tell (a pipe, a device)
    // is still caught without reading it all.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Failure::usage(format!(
            "{what} {shown} is larger than {} KiB; it is not a scanwatch {}",
            MAX_FILE_BYTES / 1024,
            what.trim_end_matches(" file"),
        )));
    }
    decode(bytes, path, what)
}

/// The file's bytes as text: no NUL bytes (a binary file), valid UTF-8, a leading byte-order
/// mark dropped.
fn decode(bytes: Vec<u8>, path: &Path, what: &str) -> Result<String, Failure> {
    let shown = path.display();
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let line = line_of_byte(&bytes, at);
        return Err(Failure::usage(format!(
            "{shown}:{line}: {what} is binary (a NUL byte at offset {at}); it must be TOML text"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = line_of_byte(e.as_bytes(), at);
        Failure::usage(format!(
            "{shown}:{line}: {what} is not UTF-8 text (invalid byte at offset {at}); save it as UTF-8"
        ))
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// 1-based line number of byte `at`.
fn line_of_byte(bytes: &[u8], at: usize) -> usize {
    bytes[..at.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
