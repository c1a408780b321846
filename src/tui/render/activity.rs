//! Answers per second against timeouts per second, one column per second of scan time, on one
//! scale: a scan that goes dark shows as the answers collapsing while the timeouts climb.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::pane;
use crate::headless::text::thousands;
use crate::state::ScanState;
use crate::tui::app::{App, Pane};
use crate::tui::facts;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, state: &ScanState) {
    let theme = app.theme();
    let seconds = facts::complete_seconds(state);
    let back = app.activity_back.min(seconds);
    let end = seconds - back;
    let mut title = " Activity per second ".to_string();
    if back > 0 {
        title = format!(" Activity per second · {back}s back ");
    }
    let block = pane(title, app.focus == Pane::Activity, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let width = usize::from(inner.width);
    app.viewport.activity_width.set(width);
    let start = end.saturating_sub(width);
    let (answers, timeouts): (Vec<u64>, Vec<u64>) =
        (start..end).map(|i| facts::second(state, i)).unzip();
    let max = answers
        .iter()
        .chain(&timeouts)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let latest = |v: &[u64]| v.last().copied().unwrap_or(0);
    let peak = |v: &[u64]| v.iter().copied().max().unwrap_or(0);

    if inner.height < 4 {
        let line = Line::from(vec![
            Span::styled(
                format!("answers/s {}", thousands(latest(&answers))),
                theme.answers,
            ),
            Span::raw("  "),
            Span::styled(
                format!("timeouts/s {}", thousands(latest(&timeouts))),
                theme.timeouts,
            ),
        ]);
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    let [a_label, a_chart, t_label, t_chart] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let label = |name: &str, v: &[u64], style: Style| {
        Line::from(vec![
            Span::styled(format!("{name} {}", thousands(latest(v))), style),
            Span::styled(
                format!("  peak {}  at {}s", thousands(peak(v)), end),
                theme.dim,
            ),
        ])
    };
    frame.render_widget(
        Paragraph::new(label("answers/s", &answers, theme.answers)),
        a_label,
    );
    frame.render_widget(
        Sparkline::default()
            .data(&answers)
            .max(max)
            .style(theme.answers),
        a_chart,
    );
    frame.render_widget(
        Paragraph::new(label("timeouts/s", &timeouts, theme.timeouts)),
        t_label,
    );
    frame.render_widget(
        Sparkline::default()
            .data(&timeouts)
            .max(max)
            .style(theme.timeouts),
        t_chart,
    );
}
