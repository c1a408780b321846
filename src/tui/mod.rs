//! The live view: a ratatui app over the running engine.
//!
//! The data path is the one every mode shares: the engine's `ScanEvent`s are folded by the
//! `Monitor` into a `ScanState`, and the panes draw that state ([`draw`]). Keys map to an
//! [`Action`] through the [`KeyMap`]; [`App::dispatch`] carries every action out, steering the
//! scan through `EngineControl`. [`run`] owns the terminal and the loop (see `event_loop`).

pub mod action;
pub mod app;
pub mod event_loop;
pub mod facts;
pub mod keymap;
pub mod render;
pub mod replay_view;
pub mod theme;

pub use action::Action;
pub use app::App;
pub use event_loop::{TuiOutcome, run, run_loop};
pub use keymap::{KeyChord, KeyMap};
pub use render::{MIN_HEIGHT, MIN_WIDTH, draw};
pub use theme::Theme;

use crate::detector::AlarmThresholds;

/// Frames per second when nothing else is asked for.
pub const DEFAULT_FPS: u32 = 30;

/// What the live view is given: how it looks and which keys do what (from the config file's
/// `[ui]` and `[keys]` sections, and `--theme`), and the scan's own settings.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// The theme to start with.
    pub theme: Theme,
    /// The themes the cycle-theme key goes through (the starting theme is added when missing).
    pub themes: Vec<Theme>,
    pub keymap: KeyMap,
    /// Frames drawn per second at most (1 to 240).
    pub fps: u32,
    /// The targets as the user gave them, for the status bar.
    pub targets: Vec<String>,
    /// When the detector raises its alarms (the config file's `[alarm]` section).
    pub thresholds: AlarmThresholds,
    /// The re-check of a baseline, when this scan is one.
    pub recheck: Option<crate::recheck::Rechecker>,
    /// Halve the pace when a RATE or QOS alarm is raised (the key toggles it).
    pub auto_throttle: bool,
    /// Leave as soon as the scan has finished instead of waiting for the user to quit (when
    /// standard input is not a terminal).
    pub exit_when_finished: bool,
    /// The session log's file name, for the status bar (`None`: no log).
    pub session: Option<String>,
}

impl Default for TuiOptions {
    fn default() -> Self {
        TuiOptions {
            theme: Theme::dark(),
            themes: vec![Theme::dark()],
            keymap: KeyMap::default(),
            fps: DEFAULT_FPS,
            targets: Vec::new(),
            thresholds: AlarmThresholds::default(),
            recheck: None,
            auto_throttle: false,
            exit_when_finished: false,
            session: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's table of default keys says what the `KeyMap` binds.
    #[test]
    fn the_readme_lists_the_default_keys() {
        let readme = include_str!("../../README.md");
        let map = KeyMap::default();
        for action in Action::ALL {
            let keys: Vec<String> = map
                .keys_for(action)
                .iter()
                .map(|k| format!("`{k}`"))
                .collect();
            let row = format!(
                "| {} | `{}` | {} |",
                keys.join(" "),
                action.name(),
                action.describe()
            );
            assert!(readme.contains(&row), "README.md lacks the row\n{row}");
        }
    }
}
