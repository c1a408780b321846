//! The footer: the filter prompt while it is open, else the latest notice (a parameter change,
//! an auto-throttle step) and the main keys, as bound in the `KeyMap`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::action::Action;
use crate::tui::app::App;

/// The keys the footer names, most important first (those that do not fit are left out; the
/// help overlay lists them all), each with a short label; pairs share one label.
const HINTS: &[(&[Action], &str)] = &[
    (&[Action::Quit], "quit"),
    (&[Action::Help], "help"),
    (&[Action::PauseResume], "pause"),
    (&[Action::ConcurrencyDown, Action::ConcurrencyUp], "conc"),
    (&[Action::TimeoutDown, Action::TimeoutUp], "timeout"),
    (&[Action::RateDown, Action::RateUp], "rate"),
    (&[Action::AcknowledgeAlarm], "ack"),
    (&[Action::Filter], "filter"),
    (&[Action::Sort], "sort"),
    (&[Action::FocusNext], "pane"),
    (&[Action::ToggleAutoThrottle], "auto-throttle"),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let mut spans = Vec::new();
    if app.editing_filter {
        spans.push(Span::styled(" filter: ", theme.key));
        spans.push(Span::styled(format!("{}█", app.filter), theme.base));
        spans.push(Span::styled(
            "   enter: keep · esc: clear · matches address or name",
            theme.dim,
        ));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let width = usize::from(area.width);
    let mut used = 0;
    if let Some(notice) = &app.notice {
        let text = format!(" {} ", notice.text);
        used += text.chars().count() + 1;
        spans.push(Span::styled(text, theme.status));
        spans.push(Span::raw(" "));
    }
    for (actions, label) in HINTS {
        let keys: Vec<String> = actions
            .iter()
            .filter_map(|a| app.keymap().keys_for(*a).into_iter().next())
            .collect();
        if keys.is_empty() {
            continue;
        }
        let keys = keys.join("/");
        let w = 1 + keys.chars().count() + 1 + label.chars().count();
        if used + w > width {
            continue;
        }
        used += w;
        spans.push(Span::raw(" "));
        spans.push(Span::styled(keys, theme.key));
        spans.push(Span::styled(format!(" {label}"), theme.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
