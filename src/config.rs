//! The config file: `[scan]` defaults, `[alarm]` thresholds, `[keys]` bindings and `[ui]`
//! settings of the live view, read from TOML.
//!
//! Precedence is command-line options > this file > built-in defaults; this module handles the
//! last two. Every error is a [`Failure::Usage`] whose message names the file, the line, the key
//! (as `[scan] concurrency`) and what is allowed.
//!
//! Adding a section: a struct implementing [`Section`], a field in [`Config`], and one line in each
//! of `Config::check`, `Config::allowed` and [`default_config_text`].

mod alarm;
mod diagnose;
mod file;
mod keys;
mod scan;
mod ui;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::de::DeTable;

use crate::detector::AlarmThresholds;
use crate::error::Failure;

pub use alarm::{
    BASELINE_PROBES_RANGE, CUSUM_THRESHOLD_MAX, DECEPTION_MIN_PROBES_RANGE,
    DECEPTION_OPEN_PORTS_RANGE, LOCAL_ERRORS_RANGE, QOS_FACTOR_RANGE, QOS_MIN_EXTRA_MS_RANGE,
    QOS_MIN_HOSTS_RANGE, RANGE_MIN_HOSTS_RANGE, RATE_RETRY_ANSWERS_RANGE, SECONDS_RANGE,
    SENTINEL_FAILURES_RANGE,
};
pub(crate) use diagnose::closest_name;
pub(crate) use file::read_text_file;
pub use file::{default_path, themes_dir};
pub use keys::KeysConfig;
pub use scan::{
    BANNER_WAIT_RANGE, CONCURRENCY_RANGE, DEFAULT_BANNER_WAIT, MAX_PER_HOST_RANGE, RATE_MAX,
    RETRIES_RANGE, ScanDefaults, TIMEOUT_RANGE, TOP_PORTS_RANGE, rate_allowed,
};
pub use ui::{DEFAULT_FPS, FPS_RANGE, UiConfig};

/// Everything the config file can set. Each field is one `[section]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub scan: ScanDefaults,
    pub alarm: AlarmThresholds,
    pub keys: KeysConfig,
    pub ui: UiConfig,
}

/// One `[section]` of the config file.
pub trait Section {
    /// The section's name in the file, without brackets.
    const NAME: &'static str;

    /// What `key` accepts, in words that follow "allowed" (e.g. `1 to 100000`); `None` when the
    /// section has no such key.
    fn allowed(key: &str) -> Option<String>;

    /// Checks what types alone cannot (ranges, port specs); names the first key whose value
    /// is not allowed.
    fn check(&self) -> Result<(), InvalidValue>;

    /// The section as it appears in the default config: every key with its default, each
    /// explained by a comment; optional keys commented out with an example value.
    fn commented_defaults() -> String;
}

/// A value its key does not allow: out of range, or (with a reason) rejected by its parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    /// The section, without brackets (`scan`).
    pub section: &'static str,
    /// The key within the section (`concurrency`).
    pub key: &'static str,
    /// Why the value was rejected; `None` for a value out of range.
    pub reason: Option<String>,
    /// Another key of the section that the problem is about as much (a key bound to two
    /// actions): the message points at whichever of the two comes later in the file.
    pub other_key: Option<&'static str>,
}

impl InvalidValue {
    /// The key `key` of section `S` is out of range.
    pub fn out_of_range<S: Section>(key: &'static str) -> Self {
        InvalidValue {
            section: S::NAME,
            key,
            reason: None,
            other_key: None,
        }
    }

    /// The value of `key` in section `S` was rejected for `reason`.
    pub fn rejected<S: Section>(key: &'static str, reason: impl Into<String>) -> Self {
        InvalidValue {
            section: S::NAME,
            key,
            reason: Some(reason.into()),
            other_key: None,
        }
    }

    /// The same problem, about `other` as much as about this key.
    pub fn with_other_key(self, other: &'static str) -> Self {
        InvalidValue {
            other_key: Some(other),
            ..self
        }
    }

    /// What the key allows, e.g. `1 to 100000`.
    pub fn allowed(&self) -> String {
        Config::allowed(self.section, self.key).unwrap_or_default()
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (section, key) = (self.section, self.key);
        match &self.reason {
            Some(reason) => write!(f, "[{section}] {key}: {reason}"),
            None => write!(
                f,
                "[{section}] {key} is out of range; allowed {}",
                self.allowed()
            ),
        }
    }
}

impl Config {
    /// Checks every section's values; names the first key whose value is not allowed.
    pub fn check(&self) -> Result<(), InvalidValue> {
        self.scan.check()?;
        self.alarm.check()?;
        self.keys.check()?;
        self.ui.check()?;
        Ok(())
    }

    /// What `key` in `[section]` accepts; `None` for an unknown section or key.
    pub fn allowed(section: &str, key: &str) -> Option<String> {
        match section {
            ScanDefaults::NAME => ScanDefaults::allowed(key),
            AlarmThresholds::NAME => AlarmThresholds::allowed(key),
            KeysConfig::NAME => KeysConfig::allowed(key),
            UiConfig::NAME => UiConfig::allowed(key),
            _ => None,
        }
    }
}

/// Where the config came from (for messages) and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    pub config: Config,
    /// The file read; `None` when no file was found and the built-in defaults apply.
    pub path: Option<PathBuf>,
    /// The line of `[ui] theme` in the file, when the file sets it.
    ui_theme_line: Option<usize>,
}

impl LoadedConfig {
    /// `FILE:LINE` of the file's `[ui] theme`, when the file sets it: where a theme error
    /// that is not about `--theme` comes from.
    pub fn ui_theme_at(&self) -> Option<String> {
        Some(format!(
            "{}:{}",
            self.path.as_ref()?.display(),
            self.ui_theme_line?
        ))
    }
}

/// Loads the config.
///
/// `explicit` (from `--config`): the file must exist; a missing file is a usage error naming it.
/// `None`: the file at [`default_path`] if it exists, else the built-in defaults.
pub fn load(explicit: Option<&Path>) -> Result<LoadedConfig, Failure> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => match default_path() {
            Some(path) if file::exists(&path) => path,
            _ => {
                return Ok(LoadedConfig {
                    config: Config::default(),
                    path: None,
                    ui_theme_line: None,
                });
            }
        },
    };
    let text = file::read_text(&path)?;
    let config = parse(&text, &path)?;
    let ui_theme_line = config
        .ui
        .theme
        .as_ref()
        .and_then(|_| diagnose::key_line(&text, UiConfig::NAME, "theme"));
    Ok(LoadedConfig {
        config,
        path: Some(path),
        ui_theme_line,
    })
}

/// Parses config text; `origin` names the file in messages. Every error is [`Failure::Usage`].
pub fn parse(text: &str, origin: &Path) -> Result<Config, Failure> {
    let source = diagnose::Source::new(text, origin);
    let root = DeTable::parse(text).map_err(|e| source.syntax_error(&e))?;
    let located = source.with_root(root.get_ref());
    let config = Config::deserialize(toml::de::Deserializer::from(root.clone()))
        .map_err(|e| located.value_error(&e))?;
    config.check().map_err(|e| located.invalid_value(&e))?;
    Ok(config)
}

/// The commented default config that `scanwatch config --print-default` prints.
///
/// Parsing it gives exactly `Config::default()`.
pub fn default_config_text() -> String {
    let header = "\
# scanwatch configuration.
#
# Location: $XDG_CONFIG_HOME/scanwatch/config.toml, or ~/.config/scanwatch/config.toml when
# XDG_CONFIG_HOME is unset; `--config FILE` reads another file instead.
# Precedence: command-line options > this file > built-in defaults. Every key is optional:
# a key left out keeps the built-in default shown here. Unknown keys and sections are errors.
# Print this file again with: scanwatch config --print-default
";
    [
        header.to_string(),
        ScanDefaults::commented_defaults(),
        AlarmThresholds::commented_defaults(),
        KeysConfig::commented_defaults(),
        UiConfig::commented_defaults(),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests;
