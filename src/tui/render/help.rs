//! The help overlay: every action with the keys bound to it and what it does.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{fit, pane};
use crate::tui::action::Action;
use crate::tui::app::App;

/// Widest a key list is shown before it is cut.
const KEYS_W: usize = 18;

/// Draws the overlay over `area` (the panes), hiding them.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    frame.render_widget(Clear, area);
    let block = pane(
        " Help · ? or esc closes · ↑/↓ scroll · keys set in [keys] ",
        true,
        theme,
    )
    .style(theme.base);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let rows = usize::from(inner.height);
    app.viewport.help_rows.set(rows);
    let entries: Vec<Line> = Action::ALL
        .iter()
        .map(|a| {
            let keys = app.keymap().keys_for(*a).join(", ");
            Line::from(vec![
                Span::styled(fit(&keys, KEYS_W, false), theme.key),
                Span::raw(" "),
                Span::styled(a.describe(), theme.base),
            ])
        })
        .collect();
    // Two columns when one does not fit and the overlay is wide enough for both.
    if entries.len() > rows && inner.width >= 120 {
        let per_col = entries.len().div_ceil(2);
        let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
        let scroll = app.help_scroll.min(per_col.saturating_sub(rows));
        let left: Vec<Line> = entries[..per_col].iter().skip(scroll).cloned().collect();
        let right: Vec<Line> = entries[per_col..].iter().skip(scroll).cloned().collect();
        frame.render_widget(Paragraph::new(left), l);
        frame.render_widget(Paragraph::new(right), r);
        return;
    }
    let scroll = app.help_scroll.min(entries.len().saturating_sub(rows));
    let shown: Vec<Line> = entries.into_iter().skip(scroll).take(rows).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}
