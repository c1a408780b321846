//! Alarms: the banner across the top while an alarm is active and not acknowledged, and the
//! list of every alarm raised, newest first (two rows each: the alarm's line, then whether it
//! is active and what to do).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{RowBuilder, at, pane};
use crate::state::ScanState;
use crate::tui::action::Action;
use crate::tui::app::{App, Pane};
use crate::tui::facts;

/// The newest unacknowledged active alarm: kind, scope, since when, likely cause and action,
/// with how many more there are and the key that acknowledges them.
pub fn draw_banner(frame: &mut Frame, area: Rect, app: &App, state: &ScanState) {
    let theme = app.theme();
    let pending: Vec<_> = app.unacknowledged(state).collect();
    let Some(alarm) = pending.last() else {
        return;
    };
    let key = app
        .keymap()
        .keys_for(Action::AcknowledgeAlarm)
        .into_iter()
        .next()
        .unwrap_or_else(|| "-".into());
    let more = match pending.len() {
        1 => String::new(),
        n => format!("+{} more · ", n - 1),
    };
    let right = format!(" {more}{key}: acknowledge ");
    let left = format!(
        " ALARM {} {} since {}: likely {}; {}",
        alarm.kind.as_str(),
        alarm.scope,
        at(alarm.since_us),
        alarm.kind.cause(),
        alarm.kind.action()
    );
    let right_w = (right.chars().count() as u16).min(area.width / 2);
    let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_w)]).areas(area);
    let left = super::fit(&left, usize::from(l.width), false);
    frame.render_widget(Paragraph::new(left).style(theme.alarm_banner), l);
    frame.render_widget(Paragraph::new(right).style(theme.alarm_banner), r);
}

pub fn draw_list(frame: &mut Frame, area: Rect, app: &App, state: &ScanState) {
    let theme = app.theme();
    let active = state.active_alarms().count();
    let cleared = state.alarms.len() - active;
    let title = format!(" Alarms · {active} active, {cleared} cleared ");
    let focused = app.focus == Pane::Alarms;
    let block = pane(title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let rows = usize::from(inner.height);
    app.viewport.alarms_rows.set(rows);
    if state.alarms.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no interference seen", theme.dim)),
            inner,
        );
        return;
    }
    let per_page = (rows / 2).max(1);
    let selected = app.alarm_selected.min(state.alarms.len() - 1);
    let offset = super::hosts::scroll_offset(
        app.viewport.alarms_offset.get(),
        selected,
        per_page,
        state.alarms.len(),
    );
    app.viewport.alarms_offset.set(offset);
    let width = usize::from(inner.width);
    let mut lines = Vec::with_capacity(rows);
    for i in offset..(offset + per_page).min(state.alarms.len()) {
        let Some(alarm) = facts::alarm_at(state, i) else {
            break;
        };
        let style = if alarm.is_active() {
            theme.alarm
        } else {
            theme.alarm_cleared
        };
        let row_style = if focused && i == selected {
            theme.selected
        } else {
            Style::default()
        };
        let mut first = RowBuilder::new(width);
        first.cell(if alarm.is_active() { "●" } else { "○" }, 1, false, style);
        first.cell(&at(alarm.raised_us), 7, true, theme.dim);
        first.cell(&alarm.line(), width, false, style);
        lines.push(first.line(row_style));
        let status = match alarm.cleared_us {
            Some(t) => format!("cleared {}", at(t)),
            None => "active".to_string(),
        };
        let mut second = RowBuilder::new(width);
        second.cell("", 1, false, style);
        second.cell(&status, 15, true, style);
        second.cell(
            &format!("→ {}", alarm.kind.action()),
            width,
            false,
            theme.base,
        );
        if lines.len() >= rows {
            break;
        }
        lines.push(second.line(row_style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
