//! The `[ui]` section: how the live view looks.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::{InvalidValue, Section};

/// Allowed `fps`: frames the live view draws per second.
pub const FPS_RANGE: RangeInclusive<u32> = 1..=120;
/// Default `fps`.
pub const DEFAULT_FPS: u32 = 30;
/// Longest theme name or path accepted.
const THEME_MAX_CHARS: usize = 4096;

/// Settings of the live view from the `[ui]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Frames drawn per second.
    pub fps: u32,
    /// The theme to start with: a theme name or the path of a theme file. `None`: `dark`, or
    /// `mono` when `NO_COLOR` is set. `--theme` wins over it.
    pub theme: Option<String>,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            fps: DEFAULT_FPS,
            theme: None,
        }
    }
}

impl Section for UiConfig {
    const NAME: &'static str = "ui";

    fn allowed(key: &str) -> Option<String> {
        let text = match key {
            "fps" => format!("{} to {}", FPS_RANGE.start(), FPS_RANGE.end()),
            "theme" => "a theme name in quotes (dark, light, high-contrast, mono, or a user \
                        theme) or the path of a theme file"
                .to_string(),
            _ => return None,
        };
        Some(text)
    }

    fn check(&self) -> Result<(), InvalidValue> {
        if !FPS_RANGE.contains(&self.fps) {
            return Err(InvalidValue::out_of_range::<Self>("fps"));
        }
        if let Some(theme) = &self.theme {
            if theme.trim().is_empty() {
                return Err(InvalidValue::rejected::<Self>(
                    "theme",
                    "empty; name a theme (e.g. \"light\") or leave the key out",
                ));
            }
            if theme.chars().any(char::is_control) || theme.chars().count() > THEME_MAX_CHARS {
                return Err(InvalidValue::rejected::<Self>(
                    "theme",
                    "not a theme name or a path: it holds control characters or is too long",
                ));
            }
        }
        Ok(())
    }

    fn commented_defaults() -> String {
        let d = UiConfig::default();
        format!(
            r#"[ui]
# Frames the live view draws per second. Allowed {} to {}.
fps = {}

# The theme to start with: a built-in one (dark, light, high-contrast, mono), a user theme
# (NAME for the file $XDG_CONFIG_HOME/scanwatch/themes/NAME.toml), or the path of a theme
# file. The --theme option wins over it. Unset: dark, or mono when the NO_COLOR environment
# variable is set and not empty; a theme set here is used even then (no-color.org).
# theme = "light"
"#,
            FPS_RANGE.start(),
            FPS_RANGE.end(),
            d.fps,
        )
    }
}
