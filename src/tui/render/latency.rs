//! Connect times of the selected host beside those of the whole scan: one row per time bucket
//! (1-3-10 steps, merged to fit), a bar for each histogram scaled to its own fullest bucket, and
//! the buckets holding p50, p90, p99 and the maximum marked.

use hdrhistogram::{Counter, Histogram};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane;
use crate::headless::text::human_us;
use crate::state::{MAX_CONNECT_US, ScanState};
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// The marked percentiles, with their labels.
const MARKS: [(f64, &str); 4] = [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (1.0, "max")];

/// Percentiles and bucket counts of one histogram.
struct Summary {
    values: [u64; 4],
    counts: Vec<u64>,
    marks: Vec<Vec<&'static str>>,
}

fn summarise<T: Counter>(h: &Histogram<T>, edges: &[u64]) -> Option<Summary> {
    if h.is_empty() {
        return None;
    }
    let bucket = |v: u64| {
        edges
            .iter()
            .position(|e| v <= *e)
            .unwrap_or(edges.len() - 1)
    };
    let mut counts = vec![0u64; edges.len()];
    for v in h.iter_recorded() {
        let value = h.lowest_equivalent(v.value_iterated_to());
        counts[bucket(value)] += v.count_at_value().as_u64();
    }
    let mut marks = vec![Vec::new(); edges.len()];
    let mut values = [0u64; 4];
    for (i, (q, label)) in MARKS.iter().enumerate() {
        let v = if *q >= 1.0 {
            h.max()
        } else {
            h.value_at_quantile(*q)
        };
        values[i] = v;
        marks[bucket(h.lowest_equivalent(v))].push(*label);
    }
    Some(Summary {
        values,
        counts,
        marks,
    })
}

/// Bucket upper edges in µs: 10µs, 30µs, 100µs, … up to the histograms' limit.
fn all_edges() -> Vec<u64> {
    let mut edges = Vec::new();
    let mut decade = 10u64;
    while decade <= MAX_CONNECT_US {
        edges.push(decade);
        if decade * 3 <= MAX_CONNECT_US {
            edges.push(decade * 3);
        }
        decade *= 10;
    }
    edges
}

/// At most `rows` bucket edges covering `lo..=hi`; the first bucket also holds what is below.
fn edges_for(lo: u64, hi: u64, rows: usize) -> Vec<u64> {
    let all = all_edges();
    let last = all.len() - 1;
    let first = all.iter().position(|e| *e >= lo).unwrap_or(last);
    let end = all.iter().position(|e| *e >= hi).unwrap_or(last).max(first);
    let n = end - first + 1;
    let rows = rows.max(1);
    let stride = n.div_ceil(rows);
    let mut edges = Vec::new();
    let mut i = end as isize;
    while edges.len() < rows && i >= first as isize {
        edges.push(all[i as usize]);
        i -= stride as isize;
    }
    edges.reverse();
    edges
}

fn edge_label(us: u64) -> String {
    if us < 1000 {
        format!("≤{us}µs")
    } else if us < 1_000_000 {
        format!("≤{}ms", us / 1000)
    } else {
        format!("≤{}s", us / 1_000_000)
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, state: &ScanState) {
    let theme = app.theme();
    let host = app.selected_host(state);
    let title = match host {
        Some(h) => format!(" Latency: {} vs all hosts ", h.addr),
        None => " Latency: all hosts ".to_string(),
    };
    let block = pane(title, false, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let host_hist = host.map(|h| &h.latency);
    let mut lo = u64::MAX;
    let mut hi = 0;
    if let Some(h) = host_hist.filter(|h| !h.is_empty()) {
        lo = lo.min(h.min());
        hi = hi.max(h.max());
    }
    if !state.latency.is_empty() {
        lo = lo.min(state.latency.min());
        hi = hi.max(state.latency.max());
    }
    let mut lines = Vec::new();
    if hi == 0 {
        lines.push(Line::styled("no answers yet", theme.dim));
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let rows = usize::from(inner.height).saturating_sub(2);
    let edges = edges_for(lo, hi, rows);
    let host_sum = host_hist.and_then(|h| summarise(h, &edges));
    let scan_sum = summarise(&state.latency, &edges);

    let width = usize::from(inner.width);
    lines.push(percentiles_line(
        "host",
        host_sum.as_ref(),
        theme.host_latency,
        theme,
        width,
    ));
    lines.push(percentiles_line(
        "scan",
        scan_sum.as_ref(),
        theme.scan_latency,
        theme,
        width,
    ));
    if rows == 0 {
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let label_w = edges
        .iter()
        .map(|e| edge_label(*e).chars().count())
        .max()
        .unwrap_or(0);
    let half = width.saturating_sub(label_w + 3) / 2;
    for (i, edge) in edges.iter().enumerate() {
        let mut spans = vec![Span::styled(
            format!("{:>label_w$} ", edge_label(*edge)),
            theme.dim,
        )];
        spans.extend(bar(host_sum.as_ref(), i, half, theme.host_latency, theme));
        spans.push(Span::styled("│", theme.border));
        spans.push(Span::raw(" "));
        spans.extend(bar(scan_sum.as_ref(), i, half, theme.scan_latency, theme));
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `host  p50 1.0ms  p99 4.4ms  max 6.0ms  p90 2.7ms`, as many as fit in `width`, in order.
fn percentiles_line<'a>(
    name: &'a str,
    summary: Option<&Summary>,
    style: Style,
    theme: &Theme,
    width: usize,
) -> Line<'a> {
    let mut spans = vec![Span::styled(format!("{name} "), style)];
    let Some(s) = summary else {
        spans.push(Span::styled(" no answers yet", theme.dim));
        return Line::from(spans);
    };
    let mut used = name.chars().count() + 1;
    let texts: Vec<String> = s.values.iter().map(|v| human_us(*v)).collect();
    let cost = |i: usize| 1 + MARKS[i].1.len() + 1 + texts[i].chars().count();
    // p50, p99 and the maximum say most; p90 comes last.
    let mut shown = [false; 4];
    for i in [0, 2, 3, 1] {
        if used + cost(i) <= width {
            used += cost(i);
            shown[i] = true;
        }
    }
    for (i, (_, label)) in MARKS.iter().enumerate() {
        if shown[i] {
            spans.push(Span::styled(format!(" {label} "), theme.marker));
            spans.push(Span::styled(texts[i].clone(), style));
        }
    }
    Line::from(spans)
}

/// One histogram's bar for bucket `i`, `width` columns with its marks, padded.
fn bar<'a>(
    summary: Option<&Summary>,
    i: usize,
    width: usize,
    style: Style,
    theme: &Theme,
) -> Vec<Span<'a>> {
    let Some(s) = summary else {
        return vec![Span::raw(" ".repeat(width))];
    };
    let marks = s.marks[i].join(" ");
    let mark_w = if marks.is_empty() {
        0
    } else {
        marks.chars().count() + 1
    };
    let bar_w = width.saturating_sub(mark_w);
    let max = s.counts.iter().copied().max().unwrap_or(0).max(1);
    let count = s.counts[i];
    let mut len = ((count as f64 / max as f64) * bar_w as f64).round() as usize;
    if count > 0 {
        len = len.max(1);
    }
    let len = len.min(bar_w);
    let mut spans = vec![Span::styled("█".repeat(len), style)];
    let mut used = len;
    if !marks.is_empty() && used + mark_w <= width {
        spans.push(Span::styled(format!(" {marks}"), theme.marker));
        used += mark_w;
    }
    spans.push(Span::raw(" ".repeat(width.saturating_sub(used))));
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_the_rows_given() {
        assert_eq!(edges_for(800, 4_000, 10), [1_000, 3_000, 10_000]);
        assert_eq!(edges_for(5, 5, 10), [10]);
        let few = edges_for(50, 2_000_000, 3);
        assert_eq!(few.len(), 3);
        assert_eq!(
            *few.last().unwrap(),
            3_000_000,
            "the last edge covers the maximum"
        );
        assert_eq!(edges_for(1, MAX_CONNECT_US, 0).len(), 1);
        assert_eq!(edge_label(300), "≤300µs");
        assert_eq!(edge_label(3_000), "≤3ms");
        assert_eq!(edge_label(1_000_000), "≤1s");
    }
}
