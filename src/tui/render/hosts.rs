//! The hosts table: one row per host being scanned or answering, in the App's sorted and
//! filtered order; only the rows on screen are drawn.
//!
//! Columns (the narrowest terminals keep the first ones in this list): health glyph, address,
//! open, filtered, alarm, p99, closed, p50, name.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{RowBuilder, pane};
use crate::headless::text::{human_us, thousands};
use crate::state::{HostState, ScanState};
use crate::tui::app::{App, Pane};
use crate::tui::facts::{self, Health};
use crate::tui::theme::Theme;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Glyph,
    Addr,
    Open,
    Closed,
    Filtered,
    P50,
    P99,
    Alarm,
    Name,
}

/// Columns in the order they are given room.
const PRIORITY: [Col; 9] = [
    Col::Glyph,
    Col::Addr,
    Col::Open,
    Col::Filtered,
    Col::Alarm,
    Col::P99,
    Col::Closed,
    Col::P50,
    Col::Name,
];
/// Columns in the order they are shown.
const ORDER: [Col; 9] = [
    Col::Glyph,
    Col::Addr,
    Col::Open,
    Col::Closed,
    Col::Filtered,
    Col::P50,
    Col::P99,
    Col::Alarm,
    Col::Name,
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App, state: &ScanState) {
    let theme = app.theme();
    let index = app.index();
    let mut title = format!(
        " Hosts {}/{} · sort: {} ",
        thousands(index.len() as u64),
        thousands(state.hosts.len() as u64),
        app.sort.label()
    );
    if !app.filter.is_empty() {
        title.push_str(&format!("· filter: {} ", app.filter));
    }
    let block = pane(title, app.focus == Pane::Hosts, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let rows = usize::from(inner.height).saturating_sub(1);
    app.viewport.hosts_rows.set(rows);
    let offset = scroll_offset(
        app.viewport.hosts_offset.get(),
        app.selected_pos(),
        rows,
        index.len(),
    );
    app.viewport.hosts_offset.set(offset);

    let visible: Vec<&HostState> = index
        .iter()
        .skip(offset)
        .take(rows)
        .filter_map(|id| state.hosts.get(id))
        .collect();
    let scopes = app.alarm_scopes();
    let alarm_text = |h: &HostState| -> String {
        let kinds = scopes.kinds(h.addr);
        match kinds.split_first() {
            Some((first, [])) => first.as_str().to_string(),
            Some((first, rest)) => format!("{}+{}", first.as_str(), rest.len()),
            None => String::new(),
        }
    };

    let addr_w = visible
        .iter()
        .map(|h| h.addr.to_string().len())
        .max()
        .unwrap_or(0)
        .max("ADDRESS".len());
    let alarm_w = visible
        .iter()
        .map(|h| {
            let changed = state
                .recheck
                .as_ref()
                .map_or(0, |r| facts::recheck_changes(r, h.addr));
            alarm_text(h).len() + if changed > 0 { 12 } else { 0 }
        })
        .max()
        .unwrap_or(0)
        .max("ALARM".len());
    let widths = |c: Col| -> usize {
        match c {
            Col::Glyph => 1,
            Col::Addr => addr_w,
            Col::Open | Col::Closed | Col::Filtered => 5,
            Col::P50 | Col::P99 => 6,
            Col::Alarm => alarm_w,
            Col::Name => 4,
        }
    };
    let width = usize::from(inner.width);
    let mut used = 0;
    let mut shown = Vec::new();
    for c in PRIORITY {
        let w = widths(c) + usize::from(!shown.is_empty());
        if used + w <= width {
            used += w;
            shown.push(c);
        }
    }
    let columns: Vec<Col> = ORDER.into_iter().filter(|c| shown.contains(c)).collect();
    let width_of = |c: Col| {
        if c == Col::Name { width } else { widths(c) }
    };

    let mut lines = Vec::with_capacity(visible.len() + 1);
    let mut header = RowBuilder::new(width);
    for &c in &columns {
        let (text, right) = match c {
            Col::Glyph => ("", false),
            Col::Addr => ("ADDRESS", false),
            Col::Open => ("OPEN", true),
            Col::Closed => ("CLSD", true),
            Col::Filtered => ("FILT", true),
            Col::P50 => ("P50", true),
            Col::P99 => ("P99", true),
            Col::Alarm => ("ALARM", false),
            Col::Name => ("NAME", false),
        };
        header.cell(text, width_of(c), right, theme.header);
    }
    lines.push(header.line(theme.header));

    if visible.is_empty() {
        let note = if state.hosts.is_empty() {
            "no hosts yet"
        } else if index.is_empty() {
            "no host matches the filter (esc clears it)"
        } else {
            ""
        };
        lines.push(Line::styled(note, theme.dim));
    }
    for (row, host) in visible.iter().enumerate() {
        let selected = offset + row == app.selected_pos() && app.selected() == Some(host.id);
        let mut alarm = alarm_text(host);
        let health = facts::health(host, !alarm.is_empty());
        // A re-check: how many of the host's ports changed since the baseline.
        if let Some(recheck) = &state.recheck {
            let changes = facts::recheck_changes(recheck, host.addr);
            if changes > 0 {
                alarm = format!("{changes} changed {alarm}");
            }
        }
        let mut r = RowBuilder::new(width);
        for &c in &columns {
            let w = width_of(c);
            match c {
                Col::Glyph => {
                    let (g, s) = glyph(health, theme);
                    r.cell(g, w, false, s)
                }
                Col::Addr => r.cell(&host.addr.to_string(), w, false, theme.base),
                Col::Open => count_cell(&mut r, host.counts.open, w, theme.open, theme),
                Col::Closed => count_cell(&mut r, host.counts.closed, w, theme.closed, theme),
                Col::Filtered => {
                    let style = if host.suspect > 0 {
                        theme.suspect
                    } else {
                        theme.filtered
                    };
                    count_cell(&mut r, host.counts.filtered(), w, style, theme)
                }
                Col::P50 => latency_cell(&mut r, host.latency_percentile(0.5), w, theme),
                Col::P99 => latency_cell(&mut r, host.latency_percentile(0.99), w, theme),
                Col::Alarm => r.cell(&alarm, w, false, theme.alarm),
                Col::Name => r.cell(host.name.as_deref().unwrap_or(""), w, false, theme.dim),
            }
        }
        let style = if selected {
            theme.selected
        } else {
            Style::default()
        };
        lines.push(r.line(style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn glyph(health: Health, theme: &Theme) -> (&'static str, Style) {
    match health {
        Health::Bad => ("✖", theme.bad),
        Health::Warn => ("▲", theme.warn),
        Health::Ok => ("●", theme.ok),
        Health::Pending => ("·", theme.dim),
    }
}

fn count_cell(r: &mut RowBuilder, n: u64, w: usize, style: Style, theme: &Theme) {
    if n == 0 {
        r.cell("0", w, true, theme.dim);
    } else {
        r.cell(&n.to_string(), w, true, style);
    }
}

fn latency_cell(r: &mut RowBuilder, us: Option<u64>, w: usize, theme: &Theme) {
    match us {
        Some(us) => r.cell(&human_us(us), w, true, theme.base),
        None => r.cell("-", w, true, theme.dim),
    }
}

/// The first row to show so that the selected row is on screen, moving as little as possible.
pub(super) fn scroll_offset(previous: usize, selected: usize, rows: usize, len: usize) -> usize {
    if rows == 0 {
        return selected;
    }
    let mut offset = previous;
    if selected < offset {
        offset = selected;
    } else if selected >= offset + rows {
        offset = selected + 1 - rows;
    }
    offset.min(len.saturating_sub(rows))
}

#[cfg(test)]
mod tests {
    use super::scroll_offset;

    #[test]
    fn the_selection_stays_on_screen() {
        assert_eq!(scroll_offset(0, 3, 5, 100), 0);
        assert_eq!(scroll_offset(0, 7, 5, 100), 3);
        assert_eq!(scroll_offset(3, 5, 5, 100), 3, "no move while visible");
        assert_eq!(scroll_offset(3, 1, 5, 100), 1);
        assert_eq!(scroll_offset(90, 99, 5, 100), 95);
        assert_eq!(scroll_offset(50, 2, 5, 3), 0, "the list shrank");
        assert_eq!(scroll_offset(0, 0, 0, 0), 0);
    }
}
