//! Which theme a run starts with, and the themes the `cycle_theme` key steps through.
//!
//! The theme asked for is, first to last: `--theme`, the config file's `[ui] theme`, `mono`
//! when the `NO_COLOR` environment variable is set and not empty, else `dark`. Following
//! no-color.org, an explicit choice (the option or the config file) wins over `NO_COLOR`.
//!
//! A request containing `/` or ending in `.toml` is the path of a theme file. Any other is a
//! name: a user theme `NAME.toml` in [`crate::config::themes_dir`] first, then a built-in one.

use std::io;
use std::path::{Path, PathBuf};

use super::{BUILTIN_THEMES, DEFAULT_THEME, NO_COLOR_THEME, Theme, file::parse_theme};
use crate::config::{LoadedConfig, UiConfig, closest_name, read_text_file, themes_dir};
use crate::error::Failure;

/// Most user theme files read from the themes directory.
pub const MAX_USER_THEMES: usize = 100;

/// What theme selection reads from the environment, so that it can be given in tests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThemeEnv {
    /// `NO_COLOR` is set to a non-empty value.
    pub no_color: bool,
    /// The directory of user themes; `None`: there are none.
    pub themes_dir: Option<PathBuf>,
}

impl ThemeEnv {
    /// `NO_COLOR` and the user themes directory of this process.
    pub fn from_process() -> Self {
        ThemeEnv {
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            themes_dir: themes_dir(),
        }
    }
}

/// The theme to start with and the themes to cycle through.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeChoice {
    /// Built-in themes (a user theme of the same name in place of one), then the other user
    /// themes by name, then the theme given by path, if any.
    themes: Vec<Theme>,
    current: usize,
    /// Why user theme files were left out of `themes` (and so of cycling), one line each
    /// naming the file, the line and what is wrong, for the caller to show; also a themes
    /// directory that could not be read.
    pub warnings: Vec<String>,
}

impl ThemeChoice {
    /// The built-in themes, starting with `dark`: for a live view that has no choice to make.
    pub fn builtin() -> ThemeChoice {
        let themes = BUILTIN_THEMES
            .iter()
            .map(|(name, _)| Theme::builtin(name).unwrap_or_else(|_| Theme::dark()))
            .collect();
        ThemeChoice {
            themes,
            current: 0,
            warnings: Vec::new(),
        }
    }

    /// The theme in use.
    pub fn current(&self) -> &Theme {
        // `themes` is never empty and `current` always within it; the fallback is never used.
        self.themes.get(self.current).unwrap_or(&self.themes[0])
    }

    /// Switches to the next theme (after the last, the first) and returns it.
    pub fn cycle(&mut self) -> &Theme {
        self.current = (self.current + 1) % self.themes.len();
        self.current()
    }

    /// Every theme, in cycling order.
    pub fn themes(&self) -> &[Theme] {
        &self.themes
    }
}

/// The theme this run starts with, from `--theme` (`theme_arg`), the config file's `[ui]`
/// section, `NO_COLOR` and the user themes directory; and the themes to cycle through.
///
/// An unknown name, or a theme file that cannot be read or is wrong, is a usage error (exit 2)
/// naming the file, the line and the style; an unknown name lists the themes there are. A
/// broken user theme file that was not asked for (by `--theme` or `[ui] theme`) is left out,
/// with a line in [`ThemeChoice::warnings`]; a built-in theme it would have replaced stays.
pub fn resolve(theme_arg: Option<&str>, ui: &UiConfig) -> Result<ThemeChoice, Failure> {
    resolve_in(theme_arg, ui, &ThemeEnv::from_process())
}

/// [`resolve`] with the config file as loaded: an error about the theme the file's `[ui] theme`
/// chose (no `--theme` given) starts with where the file chose it, `FILE:LINE: `.
pub fn resolve_loaded(
    theme_arg: Option<&str>,
    loaded: &LoadedConfig,
) -> Result<ThemeChoice, Failure> {
    resolve(theme_arg, &loaded.config.ui).map_err(|e| match (e, theme_arg, loaded.ui_theme_at()) {
        (Failure::Usage(message), None, Some(at)) => Failure::usage(format!("{at}: {message}")),
        (e, _, _) => e,
    })
}

/// [`resolve`] with the environment given.
pub fn resolve_in(
    theme_arg: Option<&str>,
    ui: &UiConfig,
    env: &ThemeEnv,
) -> Result<ThemeChoice, Failure> {
    let (request, from) = match (theme_arg, ui.theme.as_deref()) {
        (Some(arg), _) => (arg, "--theme"),
        (None, Some(configured)) => (configured, "[ui] theme in the config file"),
        (None, None) if env.no_color => (NO_COLOR_THEME, "NO_COLOR"),
        (None, None) => (DEFAULT_THEME, "the default"),
    };
    let explicit = theme_arg.is_some() || ui.theme.is_some();

    let mut themes = Vec::with_capacity(BUILTIN_THEMES.len());
    let mut names = Vec::with_capacity(BUILTIN_THEMES.len());
    for (name, _) in BUILTIN_THEMES {
        themes.push(Theme::builtin(name)?);
        names.push(name.to_string());
    }
    let mut warnings = Vec::new();
    let user = match &env.themes_dir {
        Some(dir) => user_themes(dir, &mut warnings),
        None => Vec::new(),
    };
    let mut requested_error = None;
    for found in user {
        match found.theme {
            Ok(theme) => match names.iter().position(|n| *n == found.name) {
                Some(i) => themes[i] = theme,
                None => {
                    names.push(found.name);
                    themes.push(theme);
                }
            },
            // A theme asked for by name must work; one that is only the default (or mono
            // under NO_COLOR) gives way to the built-in one with a warning.
            Err(message) if explicit && !is_path(request) && found.name == request => {
                requested_error = Some(message);
            }
            Err(message) => warnings.push(message),
        }
    }
    if let Some(message) = requested_error {
        return Err(Failure::usage(message));
    }

    let current = if is_path(request) {
        themes.push(theme_from_path(Path::new(request))?);
        themes.len() - 1
    } else {
        match names.iter().position(|n| n == request) {
            Some(i) => i,
            None => return Err(unknown_theme(request, from, &names, env)),
        }
    };
    Ok(ThemeChoice {
        themes,
        current,
        warnings,
    })
}

/// Whether a theme request is the path of a file rather than a name.
fn is_path(request: &str) -> bool {
    request.contains('/') || request.ends_with(".toml")
}

/// Reads the theme file at `path`; its name without `.toml` names the theme unless the file
/// has a `name`.
fn theme_from_path(path: &Path) -> Result<Theme, Failure> {
    let text = read_text_file(path, "theme file")?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let origin = format!("theme file {}", path.display());
    parse_theme(&text, &origin, &stem).map_err(Failure::usage)
}

/// A user theme file: its name (the file name without `.toml`) and the theme or what is wrong.
struct UserTheme {
    name: String,
    theme: Result<Theme, String>,
}

/// The `*.toml` files in `dir`, by name, each read; problems with the directory itself are
/// added to `warnings`.
fn user_themes(dir: &Path, warnings: &mut Vec<String>) -> Vec<UserTheme> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            warnings.push(format!(
                "cannot read the themes directory {}: {e}",
                dir.display()
            ));
            return Vec::new();
        }
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let file_name = entry.file_name();
            let stem = file_name.to_str()?.strip_suffix(".toml")?;
            if stem.is_empty() || stem.starts_with('.') || !path.is_file() {
                return None;
            }
            Some((stem.to_string(), path))
        })
        .collect();
    files.sort();
    if files.len() > MAX_USER_THEMES {
        warnings.push(format!(
            "{} has {} theme files; only the first {MAX_USER_THEMES} by name are read",
            dir.display(),
            files.len()
        ));
        files.truncate(MAX_USER_THEMES);
    }
    files
        .into_iter()
        .map(|(name, path)| UserTheme {
            theme: theme_from_path(&path).map_err(|e| e.to_string()),
            name,
        })
        .collect()
}

/// The error for a theme name that is neither a user theme nor a built-in one.
fn unknown_theme(request: &str, from: &str, names: &[String], env: &ThemeEnv) -> Failure {
    let shown: String = request
        .chars()
        .flat_map(char::escape_debug)
        .take(80)
        .collect();
    let hint = closest_name(
        request,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .map_or(String::new(), |n| format!(" (did you mean `{n}`?)"));
    let dir = match &env.themes_dir {
        Some(dir) => format!("user themes are NAME.toml files in {}", dir.display()),
        None => "no user themes directory ($XDG_CONFIG_HOME and $HOME are unset)".to_string(),
    };
    Failure::usage(format!(
        "unknown theme `{shown}` (from {from}){hint}; available themes: {}; {dir}; a theme \
         file's path must contain a `/` or end in .toml",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ratatui::style::Style;

    use super::*;

    /// An environment with the user themes directory `dir`.
    fn env(dir: &Path, no_color: bool) -> ThemeEnv {
        ThemeEnv {
            no_color,
            themes_dir: Some(dir.to_path_buf()),
        }
    }

    fn ui(theme: Option<&str>) -> UiConfig {
        UiConfig {
            theme: theme.map(str::to_string),
            ..UiConfig::default()
        }
    }

    fn names(choice: &ThemeChoice) -> Vec<&str> {
        choice.themes().iter().map(|t| t.name.as_str()).collect()
    }

    fn usage(result: Result<ThemeChoice, Failure>) -> String {
        match result {
            Err(Failure::Usage(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    const MINE: &str = "name = \"mine\"\nextends = \"light\"\ntitle = { fg = \"red\" }\n";

    #[test]
    fn without_a_choice_dark_and_the_built_ins_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let choice = resolve_in(None, &UiConfig::default(), &env(dir.path(), false)).unwrap();
        assert_eq!(choice.current(), &Theme::dark());
        assert_eq!(names(&choice), ["dark", "light", "high-contrast", "mono"]);
        assert!(choice.warnings.is_empty());
        assert_eq!(choice, ThemeChoice::builtin());
        let none = resolve_in(None, &UiConfig::default(), &ThemeEnv::default()).unwrap();
        assert_eq!(none.current().name, "dark");
    }

    #[test]
    fn no_color_means_mono_unless_a_theme_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let e = env(dir.path(), true);
        let plain = resolve_in(None, &UiConfig::default(), &e).unwrap();
        assert_eq!(plain.current().name, "mono");
        let arg = resolve_in(Some("light"), &UiConfig::default(), &e).unwrap();
        assert_eq!(arg.current().name, "light");
        let configured = resolve_in(None, &ui(Some("high-contrast")), &e).unwrap();
        assert_eq!(configured.current().name, "high-contrast");
    }

    #[test]
    fn the_option_wins_over_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = env(dir.path(), false);
        let choice = resolve_in(Some("mono"), &ui(Some("light")), &e).unwrap();
        assert_eq!(choice.current().name, "mono");
        let choice = resolve_in(None, &ui(Some("light")), &e).unwrap();
        assert_eq!(choice.current().name, "light");
    }

    #[test]
    fn cycling_visits_every_theme_and_wraps() {
        let mut choice =
            resolve_in(Some("mono"), &UiConfig::default(), &ThemeEnv::default()).unwrap();
        assert_eq!(choice.cycle().name, "dark");
        assert_eq!(choice.cycle().name, "light");
        assert_eq!(choice.cycle().name, "high-contrast");
        assert_eq!(choice.cycle().name, "mono");
        assert_eq!(choice.current().name, "mono");
    }

    #[test]
    fn an_unknown_name_lists_the_themes_there_are() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("mine.toml"), MINE).unwrap();
        let e = env(dir.path(), false);
        let message = usage(resolve_in(Some("nosuch"), &UiConfig::default(), &e));
        assert!(message.starts_with("unknown theme `nosuch` (from --theme); available themes: dark, light, high-contrast, mono, mine; user themes are NAME.toml files in "), "{message}");
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        let near = usage(resolve_in(None, &ui(Some("ligth")), &e));
        assert!(
            near.contains("(from [ui] theme in the config file) (did you mean `light`?)"),
            "{near}"
        );
    }

    #[test]
    fn user_themes_are_found_by_name_before_built_ins() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("mine.toml"), MINE).unwrap();
        fs::write(dir.path().join("dark.toml"), "extends = \"mono\"\n").unwrap();
        fs::write(dir.path().join("notes.txt"), "not a theme").unwrap();
        fs::write(dir.path().join(".hidden.toml"), "broken").unwrap();
        fs::create_dir(dir.path().join("sub.toml")).unwrap();
        let e = env(dir.path(), false);
        let choice = resolve_in(Some("mine"), &UiConfig::default(), &e).unwrap();
        assert_eq!(choice.current().name, "mine");
        assert_eq!(
            choice.current().title,
            Style::new().fg(ratatui::style::Color::Red)
        );
        assert_eq!(
            names(&choice),
            ["dark", "light", "high-contrast", "mono", "mine"]
        );
        assert!(choice.warnings.is_empty(), "{:?}", choice.warnings);
        let dark = resolve_in(None, &UiConfig::default(), &e).unwrap();
        assert_eq!(dark.current().name, "dark");
        assert_eq!(
            dark.current().base,
            Theme::builtin("mono").unwrap().base,
            "the user's dark"
        );
    }

    #[test]
    fn a_broken_user_theme_is_an_error_when_chosen_and_a_warning_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.toml");
        fs::write(&path, "extends = \"dark\"\n\nborder = { fg = \"cyna\" }\n").unwrap();
        let e = env(dir.path(), false);
        let message = usage(resolve_in(Some("broken"), &UiConfig::default(), &e));
        let file = path.display().to_string();
        assert!(
            message.starts_with(&format!(
                "theme file {file}: line 3: unknown color `cyna` for `border` fg"
            )),
            "{message}"
        );
        let other = resolve_in(Some("light"), &UiConfig::default(), &e).unwrap();
        assert_eq!(names(&other), ["dark", "light", "high-contrast", "mono"]);
        assert_eq!(other.warnings.len(), 1);
        assert!(
            other.warnings[0].contains(&file)
                && other.warnings[0].contains("line 3: unknown color `cyna`")
        );
    }

    #[test]
    fn a_broken_user_theme_in_place_of_the_default_gives_way_to_the_built_in_one() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("dark.toml"), "base = 1\n").unwrap();
        fs::write(dir.path().join("mono.toml"), "base = 1\n").unwrap();
        for no_color in [false, true] {
            let e = env(dir.path(), no_color);
            let choice = resolve_in(None, &UiConfig::default(), &e).unwrap();
            let builtin = if no_color { "mono" } else { "dark" };
            assert_eq!(choice.current(), &Theme::builtin(builtin).unwrap());
            assert_eq!(choice.warnings.len(), 2, "{:?}", choice.warnings);
        }
        let asked = usage(resolve_in(None, &ui(Some("dark")), &env(dir.path(), false)));
        assert!(
            asked.contains("dark.toml: line 1: `base` must be a style"),
            "{asked}"
        );
    }

    #[test]
    fn a_path_is_read_as_a_theme_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("solar.toml");
        fs::write(&path, "extends = \"light\"\n").unwrap();
        let choice = resolve_in(path.to_str(), &UiConfig::default(), &ThemeEnv::default()).unwrap();
        assert_eq!(choice.current().name, "solar");
        assert_eq!(
            names(&choice),
            ["dark", "light", "high-contrast", "mono", "solar"]
        );
        let missing = dir.path().join("absent.toml");
        let message = usage(resolve_in(
            missing.to_str(),
            &UiConfig::default(),
            &ThemeEnv::default(),
        ));
        assert_eq!(
            message,
            format!("theme file {} does not exist", missing.display())
        );
        let message = usage(resolve_in(
            dir.path().to_str(),
            &UiConfig::default(),
            &ThemeEnv::default(),
        ));
        assert!(message.contains("is a directory"), "{message}");
        // A bare file name ending in .toml is a path too (relative to the working directory).
        let message = usage(resolve_in(
            Some("nosuch-theme.toml"),
            &UiConfig::default(),
            &ThemeEnv::default(),
        ));
        assert_eq!(message, "theme file nosuch-theme.toml does not exist");
    }

    #[test]
    fn an_unreadable_themes_directory_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("file");
        fs::write(&not_a_dir, "").unwrap();
        let choice = resolve_in(None, &UiConfig::default(), &env(&not_a_dir, false)).unwrap();
        assert_eq!(choice.current().name, "dark");
        assert_eq!(choice.warnings.len(), 1, "{:?}", choice.warnings);
        assert!(choice.warnings[0].starts_with("cannot read the themes directory"));
    }
}
