//! Colours and styles of the live view. Every pane draws with these named styles and nothing
//! else, so a theme file can restyle all of it.
//!
//! Built-in themes live in `themes/*.toml` and are compiled in; `dark` is the default and
//! `mono` is used under `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

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
    /// The default theme, for dark terminals.
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
