//! The selected host's ports: each open port (port, state, reason, connect time, service,
//! suspect marker, banner made safe), then the ports counted but not listed (closed, filtered,
//! suspect). Only the rows on screen are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{RowBuilder, pane};
use crate::banner;
use crate::detector::AlarmKind;
use crate::event::AfterConnect;
use crate::headless::text::{human_us, thousands};
use crate::ports::service_name;
use crate::state::{OpenPort, ScanState};
use crate::tui::app::{App, Pane};
use crate::tui::facts::{self, PortRow};

/// Characters of a banner made safe before it is cut to the pane (the banner keeps at most
/// `banner::BANNER_MAX` bytes; escapes can make it longer).
const BANNER_CHARS: usize = 4 * banner::BANNER_MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Port,
    Mark,
    Baseline,
    State,
    Reason,
    Connect,
    Service,
    Banner,
}

const PRIORITY: [Col; 8] = [
    Col::Port,
    Col::State,
    Col::Mark,
    Col::Baseline,
    Col::Connect,
    Col::Service,
    Col::Banner,
    Col::Reason,
];
const ORDER: [Col; 8] = [
    Col::Port,
    Col::Baseline,
    Col::State,
    Col::Reason,
    Col::Connect,
    Col::Service,
    Col::Mark,
    Col::Banner,
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App, state: &ScanState) {
    let theme = app.theme();
    let host = app.selected_host(state);
    let title = match host {
        Some(h) => format!(
            " Ports of {} · {} open ",
            h.addr,
            thousands(h.open_ports.len() as u64)
        ),
        None => " Ports ".to_string(),
    };
    let block = pane(title, app.focus == Pane::Ports, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let rows = usize::from(inner.height).saturating_sub(1);
    app.viewport.ports_rows.set(rows);
    let Some(host) = host else {
        frame.render_widget(
            Paragraph::new(Line::styled("no host selected", theme.dim)),
            inner,
        );
        return;
    };

    let deception = app
        .alarm_scopes()
        .kinds(host.addr)
        .contains(&AlarmKind::Deception);
    let recheck = state.recheck.as_ref();
    // A re-check: the baseline's ports that are not open now come first, with their verdict.
    let changed: Vec<(u16, &crate::recheck::PortCheck)> = recheck
        .map(|r| {
            r.checks()
                .range((host.addr, 0)..=(host.addr, u16::MAX))
                .filter(|(_, c)| {
                    !matches!(
                        c.verdict,
                        crate::recheck::Verdict::StillOpen | crate::recheck::Verdict::New
                    )
                })
                .map(|((_, p), c)| (*p, c))
                .collect()
        })
        .unwrap_or_default();
    let in_baseline = |port: u16| {
        recheck.is_some_and(|r| {
            r.checks()
                .get(&(host.addr, port))
                .is_some_and(|c| c.verdict != crate::recheck::Verdict::New)
        })
    };
    let mut open: Vec<&OpenPort> = host.open_ports.iter().collect();
    open.sort_unstable_by_key(|p| p.port);
    let mut counted = facts::counted_rows(host);
    if app.changes_only && recheck.is_some() {
        open.retain(|p| !in_baseline(p.port));
        counted.clear();
    }
    let total = changed.len() + open.len() + counted.len();
    let offset = app.ports_scroll.min(total.saturating_sub(rows));
    let visible: Vec<PortRow> = changed
        .iter()
        .map(|(port, check)| PortRow::Recheck(*port, check))
        .chain(open.iter().map(|p| PortRow::Open(p)))
        .chain(counted)
        .skip(offset)
        .take(rows)
        .collect();

    let width = usize::from(inner.width);
    let widths = |c: Col| -> usize {
        match c {
            Col::Port => 5,
            Col::Mark => 1,
            Col::Baseline => {
                if recheck.is_some() {
                    8
                } else {
                    0
                }
            }
            Col::State => 8,
            Col::Reason => 12,
            Col::Connect => 6,
            Col::Service => 9,
            Col::Banner => 8,
        }
    };
    let mut used = 0;
    let mut shown = Vec::new();
    for c in PRIORITY {
        if c == Col::Baseline && recheck.is_none() {
            continue;
        }
        let w = widths(c) + usize::from(!shown.is_empty());
        if used + w <= width {
            used += w;
            shown.push(c);
        }
    }
    let columns: Vec<Col> = ORDER.into_iter().filter(|c| shown.contains(c)).collect();
    let width_of = |c: Col| if c == Col::Banner { width } else { widths(c) };

    let mut lines = Vec::with_capacity(visible.len() + 1);
    let mut header = RowBuilder::new(width);
    for &c in &columns {
        let (text, right) = match c {
            Col::Port => ("PORT", true),
            Col::Mark => ("", false),
            Col::Baseline => ("BASELINE", false),
            Col::State => ("STATE", false),
            Col::Reason => ("REASON", false),
            Col::Connect => ("CONN", true),
            Col::Service => ("SERVICE", false),
            Col::Banner => ("BANNER", false),
        };
        header.cell(text, width_of(c), right, theme.header);
    }
    lines.push(header.line(theme.header));
    if total == 0 {
        lines.push(Line::styled("no results yet", theme.dim));
    }
    for row in &visible {
        let mut r = RowBuilder::new(width);
        match row {
            PortRow::Open(p) => {
                let suspect = facts::port_is_suspect(p, deception);
                for &c in &columns {
                    let w = width_of(c);
                    match c {
                        Col::Port => r.cell(&p.port.to_string(), w, true, theme.base),
                        Col::Mark => {
                            r.cell(if suspect { "?" } else { "" }, w, false, theme.suspect)
                        }
                        Col::Baseline => {
                            if in_baseline(p.port) {
                                r.cell("open", w, false, theme.dim)
                            } else if recheck.is_some() {
                                r.cell("+ new", w, false, theme.warn)
                            } else {
                                r.cell("", w, false, theme.dim)
                            }
                        }
                        Col::State => r.cell("open", w, false, theme.open),
                        Col::Reason => {
                            let reason = if p.attempt > 1 {
                                format!("syn-ack #{}", p.attempt)
                            } else {
                                "syn-ack".to_string()
                            };
                            r.cell(&reason, w, false, theme.dim)
                        }
                        Col::Connect => r.cell(&human_us(p.connect_us), w, true, theme.base),
                        Col::Service => r.cell(
                            service_name(p.port).unwrap_or("unknown"),
                            w,
                            false,
                            theme.base,
                        ),
                        Col::Banner => {
                            let (text, style) = banner_text(&p.after_connect, app, theme);
                            r.cell(&text, w, false, style)
                        }
                    }
                }
            }
            PortRow::Recheck(port, check) => {
                use crate::recheck::Verdict;
                let style = match check.verdict {
                    Verdict::NowClosed => theme.closed,
                    Verdict::SilentPort | Verdict::SilentHost => theme.bad,
                    _ => theme.dim,
                };
                r.cell(&port.to_string(), widths(Col::Port), true, theme.base);
                if columns.contains(&Col::Baseline) {
                    r.cell("open", widths(Col::Baseline), false, theme.dim);
                }
                let text = format!("✗ {}: {}", check.verdict.as_str(), check.evidence);
                r.cell(&text, width, false, style);
            }
            PortRow::Counted {
                count,
                state: port_state,
                reason,
                suspect,
            } => {
                let style = match *port_state {
                    "closed" => theme.closed,
                    "suspect" => theme.suspect,
                    _ => theme.filtered,
                };
                let what = if *suspect {
                    format!("{port_state} ports ({reason} after interference began)")
                } else {
                    format!("{port_state} ports ({reason})")
                };
                r.cell(&thousands(*count), widths(Col::Port), true, style);
                r.cell(&what, width, false, style);
            }
        }
        lines.push(r.line(Style::default()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// What an open port did after the handshake, made safe to show and shifted by the App's
/// banner scroll.
fn banner_text(
    after: &AfterConnect,
    app: &App,
    theme: &crate::tui::theme::Theme,
) -> (String, Style) {
    match after {
        AfterConnect::Banner(raw) => {
            let shown = banner::display(raw, BANNER_CHARS);
            (shown.chars().skip(app.banner_shift).collect(), theme.base)
        }
        AfterConnect::Silent => ("(silent)".into(), theme.dim),
        AfterConnect::ClosedAtOnce => ("(closed at once)".into(), theme.suspect),
        AfterConnect::NotRead => (String::new(), theme.dim),
    }
}
