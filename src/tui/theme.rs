//! Colours and styles of the live view. Every pane draws with these named styles and nothing
//! else, so a theme file can restyle all of it.
//!
//! Built-in themes live in `themes/*.toml` (format: `themes/README.md`) and are compiled in;
//! `dark` is the default and `mono` is used under `NO_COLOR`. User themes are read from
//! [`crate::config::themes_dir`]; [`resolve`] picks the theme a run starts with.

mod color;
mod file;
mod select;

use ratatui::style::{Color, Modifier, Style};

use crate::error::Failure;

pub use color::{StyleValueError, parse_color, parse_modifier};
pub use file::parse_theme;
pub use select::{ThemeChoice, ThemeEnv, resolve, resolve_in, resolve_loaded};

/// The built-in themes, in the order `cycle_theme` steps through them: name and file text.
pub const BUILTIN_THEMES: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// The theme used when `NO_COLOR` is set: modifiers only, no colour.
pub const NO_COLOR_THEME: &str = "mono";
/// The theme used when nothing else is asked for.
pub const DEFAULT_THEME: &str = "dark";

/// The named styles of the live view.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Text and background of the whole screen.
    pub base: Style,
    /// Pane borders, and the border of the focused pane.
    pub border: Style,
    pub border_focused: Style,
    /// Pane titles.
    pub title: Style,
    /// Table header rows.
    pub header: Style,
    /// The selected row.
    pub selected: Style,
    /// Secondary text (units, hints, empty states).
    pub dim: Style,
    /// The status bar.
    pub status: Style,
    /// Key names in the footer and the help overlay.
    pub key: Style,
    /// Port states.
    pub open: Style,
    pub closed: Style,
    pub filtered: Style,
    /// Suspect results (after a change point) and their marker.
    pub suspect: Style,
    /// Health glyphs: fine, degraded, interfered with.
    pub ok: Style,
    pub warn: Style,
    pub bad: Style,
    /// The banner shown while an alarm is active: it must not be missable.
    pub alarm_banner: Style,
    /// Entries in the alarm list (active, and cleared or acknowledged).
    pub alarm: Style,
    pub alarm_cleared: Style,
    /// Activity chart: answers per second and timeouts per second.
    pub answers: Style,
    pub timeouts: Style,
    /// Latency bars: the selected host, and the whole scan; percentile markers.
    pub host_latency: Style,
    pub scan_latency: Style,
    pub marker: Style,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::dark()
    }
}

impl Theme {
    /// The built-in theme `name` (one of [`BUILTIN_THEMES`]).
    ///
    /// An unknown name is a usage error listing the built-in ones. The built-in files are
    /// checked by the tests, so one that does not parse is a runtime error, never a panic.
    pub fn builtin(name: &str) -> Result<Theme, Failure> {
        let Some((_, text)) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = BUILTIN_THEMES.iter().map(|(n, _)| *n).collect();
            return Err(Failure::usage(format!(
                "unknown built-in theme `{name}`; the built-in themes are {}",
                names.join(", ")
            )));
        };
        let origin = format!("built-in theme file themes/{name}.toml");
        file::parse_builtin(text, &origin, name).map_err(Failure::runtime)
    }

    /// Every named style with its name in theme files, in the order the fields are declared.
    pub fn styles(&self) -> [(&'static str, Style); 24] {
        [
            ("base", self.base),
            ("border", self.border),
            ("border_focused", self.border_focused),
            ("title", self.title),
            ("header", self.header),
            ("selected", self.selected),
            ("dim", self.dim),
            ("status", self.status),
            ("key", self.key),
            ("open", self.open),
            ("closed", self.closed),
            ("filtered", self.filtered),
            ("suspect", self.suspect),
            ("ok", self.ok),
            ("warn", self.warn),
            ("bad", self.bad),
            ("alarm_banner", self.alarm_banner),
            ("alarm", self.alarm),
            ("alarm_cleared", self.alarm_cleared),
            ("answers", self.answers),
            ("timeouts", self.timeouts),
            ("host_latency", self.host_latency),
            ("scan_latency", self.scan_latency),
            ("marker", self.marker),
        ]
    }

    /// The names of the styles, as written in theme files.
    pub fn style_names() -> Vec<&'static str> {
        Theme::dark()
            .styles()
            .iter()
            .map(|(name, _)| *name)
            .collect()
    }

    /// The style called `name` in theme files, to change it.
    pub fn style_mut(&mut self, name: &str) -> Option<&mut Style> {
        let style = match name {
            "base" => &mut self.base,
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "title" => &mut self.title,
            "header" => &mut self.header,
            "selected" => &mut self.selected,
            "dim" => &mut self.dim,
            "status" => &mut self.status,
            "key" => &mut self.key,
            "open" => &mut self.open,
            "closed" => &mut self.closed,
            "filtered" => &mut self.filtered,
            "suspect" => &mut self.suspect,
            "ok" => &mut self.ok,
            "warn" => &mut self.warn,
            "bad" => &mut self.bad,
            "alarm_banner" => &mut self.alarm_banner,
            "alarm" => &mut self.alarm,
            "alarm_cleared" => &mut self.alarm_cleared,
            "answers" => &mut self.answers,
            "timeouts" => &mut self.timeouts,
            "host_latency" => &mut self.host_latency,
            "scan_latency" => &mut self.scan_latency,
            "marker" => &mut self.marker,
            _ => return None,
        };
        Some(style)
    }

    /// The default theme, for dark terminals. The same as `themes/dark.toml` (a test checks
    /// it), defined here too so that it is always at hand.
    pub fn dark() -> Theme {
        let fg = Style::new().fg(Color::Gray);
        Theme {
            name: "dark".into(),
            base: fg,
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            title: Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
            header: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            selected: Style::new()
                .bg(Color::Indexed(236))
                .add_modifier(Modifier::BOLD),
            dim: Style::new().fg(Color::DarkGray),
            status: Style::new().fg(Color::Black).bg(Color::Cyan),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            open: Style::new().fg(Color::Green),
            closed: Style::new().fg(Color::Gray),
            filtered: Style::new().fg(Color::Yellow),
            suspect: Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            bad: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            alarm_banner: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            alarm: Style::new().fg(Color::Red),
            alarm_cleared: Style::new().fg(Color::DarkGray),
            answers: Style::new().fg(Color::Green),
            timeouts: Style::new().fg(Color::Red),
            host_latency: Style::new().fg(Color::Cyan),
            scan_latency: Style::new().fg(Color::DarkGray),
            marker: Style::new().fg(Color::Yellow),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in theme, read from its file.
    fn builtins() -> Vec<Theme> {
        BUILTIN_THEMES
            .iter()
            .map(|(name, _)| Theme::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect()
    }

    #[test]
    fn dark_in_code_is_dark_toml() {
        assert_eq!(Theme::builtin("dark").unwrap(), Theme::dark());
        assert_eq!(Theme::default(), Theme::dark());
    }

    #[test]
    fn every_built_in_theme_parses_and_is_named_after_its_file() {
        for (theme, (name, text)) in builtins().iter().zip(BUILTIN_THEMES) {
            assert_eq!(theme.name, name);
            assert!(
                !text.contains("\nextends"),
                "{name} gives every style itself"
            );
        }
        assert!(Theme::builtin("nosuch").is_err());
    }

    #[test]
    fn every_built_in_theme_sets_its_key_styles_apart() {
        for theme in builtins() {
            let name = &theme.name;
            assert_ne!(
                theme.alarm_banner, theme.base,
                "{name}: alarm_banner vs base"
            );
            assert_ne!(
                theme.alarm_banner,
                Style::new(),
                "{name}: alarm_banner is plain"
            );
            assert_ne!(theme.selected, theme.base, "{name}: selected vs base");
            assert_ne!(theme.border_focused, theme.border, "{name}: focused border");
            assert_ne!(theme.status, theme.base, "{name}: status vs base");
            for (a, b) in [
                (theme.open, theme.closed),
                (theme.open, theme.filtered),
                (theme.closed, theme.filtered),
                (theme.ok, theme.warn),
                (theme.ok, theme.bad),
                (theme.warn, theme.bad),
                (theme.alarm, theme.alarm_cleared),
                (theme.answers, theme.timeouts),
                (theme.host_latency, theme.scan_latency),
            ] {
                assert_ne!(a, b, "{name}");
            }
        }
    }

    #[test]
    fn mono_has_no_colour_at_all() {
        let mono = Theme::builtin(NO_COLOR_THEME).unwrap();
        for (field, style) in mono.styles() {
            for color in [style.fg, style.bg, style.underline_color] {
                assert!(
                    matches!(color, None | Some(Color::Reset)),
                    "mono {field}: {color:?}"
                );
            }
        }
        assert!(mono.alarm_banner.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn style_names_and_style_mut_agree_with_styles() {
        let names = Theme::style_names();
        assert_eq!(names.len(), 24);
        let mut theme = Theme::dark();
        for (i, name) in names.iter().enumerate() {
            *theme.style_mut(name).unwrap() = Style::new().fg(Color::Indexed(i as u8));
        }
        for (i, (name, style)) in theme.styles().iter().enumerate() {
            assert_eq!(*style, Style::new().fg(Color::Indexed(i as u8)), "{name}");
        }
        assert!(theme.style_mut("nosuch").is_none());
    }

    /// The styles of `dark` as TOML lines, for building test files.
    fn dark_lines() -> String {
        let dark = BUILTIN_THEMES[0].1;
        dark.lines()
            .filter(|l| !l.starts_with("name") && !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn parse_error(text: &str) -> String {
        match parse_theme(text, "theme file /t/x.toml", "x") {
            Err(message) => {
                assert!(!message.contains('\n'), "{message:?}");
                message
            }
            Ok(theme) => panic!("expected an error for {text:?}, got {theme:?}"),
        }
    }

    #[test]
    fn a_theme_file_may_extend_a_built_in_one() {
        let text = "# mine\nextends = \"dark\"\nborder = { fg = \"#1c2b3a\", bg = 17, modifiers = \"bold\" }\n";
        let theme = parse_theme(text, "theme file /t/mine.toml", "mine").unwrap();
        assert_eq!(theme.name, "mine", "no name: the file's");
        assert_eq!(
            theme.border,
            Style::new()
                .fg(Color::Rgb(0x1c, 0x2b, 0x3a))
                .bg(Color::Indexed(17))
                .add_modifier(Modifier::BOLD)
        );
        let dark = Theme::dark();
        assert_eq!(theme.title, dark.title);
        let named = parse_theme(
            "name = \"Solar\"\nextends = \"light\"\n[title]\nfg = \"reset\"\n",
            "t",
            "s",
        )
        .unwrap();
        assert_eq!(named.name, "Solar");
        assert_eq!(
            named.title,
            Style::new().fg(Color::Reset),
            "a style given replaces the whole style"
        );
        assert_eq!(named.base, Theme::builtin("light").unwrap().base);
        let full = parse_theme(&dark_lines(), "t", "copy").unwrap();
        assert_eq!(
            Theme {
                name: "dark".into(),
                ..full
            },
            dark
        );
    }

    #[test]
    fn theme_errors_name_the_file_the_line_and_the_style() {
        let cases = [
            (
                "extends = \"dark\"\n\n\nborder = { fg = \"cyna\" }\n",
                "theme file /t/x.toml: line 4: unknown color `cyna` for `border` fg (allowed: black, red, green, yellow, blue, magenta, cyan, gray, dark_gray, light_red, light_green, light_yellow, light_blue, light_magenta, light_cyan, white, reset, #rrggbb, 0-255); did you mean `cyan`?",
            ),
            (
                "extends = \"dark\"\ntitle = { bg = \"#12345\" }\n",
                "line 2: `#12345` is not a #rrggbb color (six hexadecimal digits after the #) for `title` bg",
            ),
            (
                "extends = \"dark\"\ntitle = { bg = 256 }\n",
                "line 2: color index 256 for `title` bg is out of range (allowed: 0-255)",
            ),
            (
                "extends = \"dark\"\ntitle = { bg = -1 }\n",
                "line 2: color index -1 for `title` bg is out of range",
            ),
            (
                "extends = \"dark\"\ntitle = { fg = true }\n",
                "line 2: `title` fg must be a color in quotes (\"cyan\", \"#1c1c1c\") or an index 0-255, not a boolean",
            ),
            (
                "extends = \"dark\"\ntitle = { modifiers = [\"bld\"] }\n",
                "line 2: unknown modifier `bld` for `title` (allowed: bold, dim, italic, underlined, slow_blink, rapid_blink, reversed, hidden, crossed_out); did you mean `bold`?",
            ),
            (
                "extends = \"dark\"\ntitle = { modifiers = 1 }\n",
                "line 2: `title` modifiers must be a list of names",
            ),
            (
                "extends = \"dark\"\ntitle = { fgg = \"red\" }\n",
                "line 2: unknown key `fgg` in `title` (allowed: fg, bg, modifiers); did you mean `fg`?",
            ),
            (
                "extends = \"dark\"\nbordr = { fg = \"red\" }\n",
                "line 2: unknown key `bordr` (allowed: name, extends, base, border,",
            ),
            ("extends = \"dark\"\nbordr = {}\n", "did you mean `border`?"),
            (
                "extends = \"dark\"\ntitle = \"red\"\n",
                "line 2: `title` must be a style such as { fg = \"cyan\", bg = \"#1c1c1c\", modifiers = [\"bold\"] }, not a string",
            ),
            (
                "extends = \"drak\"\n",
                "line 1: extends = \"drak\": not a built-in theme (allowed: dark, light, high-contrast, mono); did you mean `dark`?",
            ),
            (
                "extends = 3\n",
                "line 1: `extends` must be the name of a built-in theme",
            ),
            (
                "name = \"\"\nextends = \"dark\"\n",
                "line 1: `name` must be 1 to 40 characters",
            ),
            (
                "name = \"a\\u001b[2Jb\"\nextends = \"dark\"\n",
                "line 1: `name` must be",
            ),
            (
                "name = 7\nextends = \"dark\"\n",
                "line 1: `name` must be a name in quotes, not an integer",
            ),
            (
                "base = {}\n",
                "theme file /t/x.toml: missing styles: border, border_focused, title,",
            ),
            ("base = {\n", "theme file /t/x.toml: line 1: invalid TOML"),
            (
                "extends = \"dark\"\nbase = {}\nbase = {}\n",
                "line 3: invalid TOML",
            ),
        ];
        for (text, expected) in cases {
            let message = parse_error(text);
            assert!(
                message.contains(expected),
                "{text:?}\n  got: {message}\n  want: {expected}"
            );
            assert!(message.starts_with("theme file /t/x.toml: "), "{message}");
        }
        let one_missing = parse_error(&dark_lines().replace("marker =", "# marker ="));
        assert!(one_missing.ends_with("missing style: marker; give every style, or add extends = \"dark\" (or another built-in theme) to take the others from it"), "{one_missing}");
    }

    #[test]
    fn the_first_mistake_in_the_file_is_reported() {
        let message = parse_error("extends = \"dark\"\nzeta = {}\nalpha = {}\n");
        assert!(message.contains("line 2: unknown key `zeta`"), "{message}");
    }

    #[test]
    fn no_prefix_of_a_built_in_file_panics() {
        for (name, text) in BUILTIN_THEMES {
            let text = format!("{text}[title]\nfg = \"é\"\n");
            for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                if let Err(message) = parse_theme(&text[..end], "theme file t", name) {
                    assert!(message.starts_with("theme file t"), "{message}");
                    assert!(!message.contains('\n'), "{message:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_theme_or_a_one_line_error(text in "(\\PC|\n){0,200}|(extends = \"dark\"\n)?[a-z_]{1,12} = \\{ ?(fg|bg|modifiers) = .{0,20}\\}") {
            if let Err(message) = parse_theme(&text, "theme file t", "t") {
                proptest::prop_assert!(message.starts_with("theme file t"));
                proptest::prop_assert!(!message.contains('\n'), "{:?}", message);
            }
        }
    }

    #[test]
    fn built_in_files_may_not_extend() {
        let err = file::parse_builtin("extends = \"dark\"\n", "built-in", "x").unwrap_err();
        assert!(err.contains("`extends` is for user themes"), "{err}");
    }
}
