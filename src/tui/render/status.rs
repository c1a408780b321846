//! The status bar: how far the scan is and how fast, and the pace in force.
//!
//! Row 1: state, progress, probes per second, ETA, elapsed scan time, targets.
//! Row 2: concurrency, timeout, rate, auto-throttle, hosts and open ports so far, the session
//! log's file name.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{super::app::App, clock, fit};
use crate::event::FinishReason;
use crate::headless::text::{human_us, thousands};
use crate::state::ScanState;
use crate::tui::facts;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, state: &ScanState) {
    let theme = app.theme();
    let params = app.params(state);
    let what = match (state.finished, params) {
        (Some((FinishReason::Completed, _)), _) => "FINISHED",
        (Some((FinishReason::Stopped, _)), _) => "STOPPED",
        (None, Some(p)) if p.paused => "PAUSED",
        (None, _) if state.plan.is_none() => "STARTING",
        (None, _) => "RUNNING",
    };
    let done = state.probes_done();
    let total = state.probes_total();
    let pct = match total {
        Some(t) if t > 0 => format!("{:.1}%", done as f64 * 100.0 / t as f64),
        _ => "?%".into(),
    };
    let total_text = total.map_or_else(|| "?".into(), thousands);
    let rate = facts::recent_rate(state);
    let eta = match facts::eta_s(state, rate) {
        Some(s) => clock((s.min(1e9) * 1e6) as u64),
        None => "?".into(),
    };
    let targets = if app.targets.is_empty() {
        String::new()
    } else {
        format!(" │ targets {}", app.targets)
    };
    let row1 = match app.replay {
        // A replay: where the playhead is in the recording, and how fast it plays.
        Some(r) => format!(
            " REPLAY {} x{} │ session time {} / {} │ {what} │ {pct} {}/{total_text} probes{targets}",
            if r.paused { "paused" } else { "playing" },
            speed_text(r.speed),
            clock(r.position_us),
            clock(r.end_us),
            thousands(done),
        ),
        None => format!(
            " {what} │ {pct} {}/{total_text} probes │ {}/s │ ETA {eta} │ elapsed {}{targets}",
            thousands(done),
            thousands(rate.round() as u64),
            clock(state.now_us),
        ),
    };
    let pace = match params {
        Some(p) => format!(
            "concurrency {} │ timeout {} │ rate {}",
            p.concurrency,
            human_us(p.timeout.as_micros() as u64),
            facts::rate_text(p.rate)
        ),
        None => "concurrency - │ timeout - │ rate -".into(),
    };
    let up = app.hosts_up() as u64;
    let session = match (&app.session, app.session_failed) {
        (None, _) => "-".to_string(),
        (Some(name), false) => name.clone(),
        (Some(name), true) => format!("{name} (WRITE FAILED)"),
    };
    // The session log's name last: a narrow terminal cuts it, not the counts.
    let row2 = format!(
        " {pace} │ auto-throttle {} │ {} up, {} silent, {} open │ session: {session}",
        if app.auto_throttle { "on" } else { "off" },
        thousands(up),
        thousands(state.silent_hosts),
        thousands(state.totals.open),
    );
    let width = usize::from(area.width);
    let text = vec![
        Line::from(fit(&row1, width, false)),
        Line::from(fit(&row2, width, false)),
    ];
    frame.render_widget(Paragraph::new(text).style(theme.status), area);
}

/// A replay speed as written in the status bar: `0.25`, `0.5`, `1`, `64`.
fn speed_text(speed: f64) -> String {
    if speed.fract() == 0.0 {
        format!("{speed:.0}")
    } else {
        format!("{speed}")
    }
}
