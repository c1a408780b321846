//! Drawing the live view: one file per pane. Every pane draws with the `Theme`'s named styles
//! and only the rows that fit on screen.
//!
//! Screen layout, top to bottom: the status bar (two rows), the alarm banner (while an alarm is
//! active and not acknowledged), hosts beside the selected host's ports, latency beside
//! activity, the alarm list, and the footer. The help overlay covers the panes.

mod activity;
mod alarms;
mod footer;
mod help;
mod hosts;
mod latency;
mod ports;
mod status;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::app::App;
use super::theme::Theme;
use crate::state::ScanState;

/// Smallest terminal the panes are drawn in; below it the screen says how big it must be.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// Draws one frame of the live view.
pub fn draw(frame: &mut Frame, app: &App, state: &ScanState) {
    let area = frame.area();
    let theme = app.theme();
    frame.render_widget(Block::new().style(theme.base), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, theme);
        return;
    }
    let banner_rows = u16::from(app.unacknowledged(state).next().is_some());
    let [status_area, banner_area, main, footer_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(banner_rows),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    status::draw(frame, status_area, app, state);
    if banner_rows > 0 {
        alarms::draw_banner(frame, banner_area, app, state);
    }
    // Latency and activity need about seven rows to say anything, the alarm list five; the
    // hosts and ports take the rest.
    let rows = main.height;
    let middle_rows = (rows * 3 / 10).clamp(7, 14);
    let bottom_rows = (rows / 4).clamp(4, 12);
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(middle_rows),
        Constraint::Length(bottom_rows),
    ])
    .areas(main);
    let [hosts_area, ports_area] =
        Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(top);
    let [latency_area, activity_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(middle);
    hosts::draw(frame, hosts_area, app, state);
    ports::draw(frame, ports_area, app, state);
    latency::draw(frame, latency_area, app, state);
    activity::draw(frame, activity_area, app, state);
    alarms::draw_list(frame, bottom, app, state);
    footer::draw(frame, footer_area, app);
    if app.help {
        help::draw(frame, main, app);
    }
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = format!(
        "scanwatch needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {}×{}. \
         Enlarge it, or press q to quit.",
        area.width, area.height
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.base)
            .wrap(Wrap { trim: true }),
        area,
    );
}

/// A bordered pane with its title; the focused pane's border stands out.
fn pane<'a>(title: impl Into<String>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(Span::styled(title.into(), theme.title))
}

/// `text` cut or padded to `width` characters (cut text ends with `…`).
fn fit(text: &str, width: usize, right: bool) -> String {
    let len = text.chars().count();
    if len > width {
        if width == 0 {
            return String::new();
        }
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        return cut;
    }
    if right {
        format!("{text:>width$}")
    } else {
        format!("{text:<width$}")
    }
}

/// A row of fixed-width cells separated by one space; the last cell takes what is left.
struct RowBuilder<'a> {
    spans: Vec<Span<'a>>,
    used: usize,
    width: usize,
}

impl<'a> RowBuilder<'a> {
    fn new(width: usize) -> Self {
        RowBuilder {
            spans: Vec::new(),
            used: 0,
            width,
        }
    }

    fn cell(&mut self, text: &str, width: usize, right: bool, style: Style) {
        if !self.spans.is_empty() {
            self.spans.push(Span::raw(" "));
            self.used += 1;
        }
        let width = width.min(self.width.saturating_sub(self.used));
        self.spans
            .push(Span::styled(fit(text, width, right), style));
        self.used += width;
    }

    /// The row padded to its full width, in `style` (a selected row is highlighted end to end).
    fn line(mut self, style: Style) -> Line<'a> {
        let rest = self.width.saturating_sub(self.used);
        if rest > 0 {
            self.spans.push(Span::raw(" ".repeat(rest)));
        }
        Line::from(self.spans).style(style)
    }
}

/// `0:28`, `12:05`, `1:02:03`: a span of scan time.
fn clock(us: u64) -> String {
    let s = us / 1_000_000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `4.0s`: a moment of scan time.
fn at(us: u64) -> String {
    format!("{:.1}s", us as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::TuiOptions;
    use crate::tui::action::Action;

    fn screen(app: &App, state: &ScanState, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| draw(f, app, state)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn below_the_minimum_size_the_screen_says_how_big_it_must_be() {
        let app = App::new(&TuiOptions::default(), None);
        let state = ScanState::default();
        let text = screen(&app, &state, 59, 30);
        assert!(text.contains("at least 60×16"), "{text}");
        assert!(text.contains("59×30"), "{text}");
        assert!(!text.contains("Hosts"), "{text}");
        let text = screen(&app, &state, 80, 15);
        assert!(text.contains("80×15"), "{text}");
        let text = screen(&app, &state, 60, 16);
        assert!(
            text.contains("Hosts") && !text.contains("at least"),
            "{text}"
        );
    }

    #[test]
    fn any_size_draws_without_panicking() {
        let mut app = App::new(&TuiOptions::default(), None);
        let state = ScanState::default();
        for (w, h) in [
            (1, 1),
            (0, 0),
            (2, 40),
            (300, 3),
            (60, 16),
            (61, 17),
            (500, 200),
        ] {
            for help in [false, true] {
                app.help = help;
                let _ = screen(&app, &state, w, h);
            }
        }
    }

    #[test]
    fn the_help_overlay_lists_every_action_with_its_keys() {
        let mut app = App::new(&TuiOptions::default(), None);
        let state = ScanState::default();
        app.dispatch(Action::Help, &state);
        let text = screen(&app, &state, 160, 48);
        for action in Action::ALL {
            assert!(text.contains(action.describe()), "{action}: {text}");
            let keys = app.keymap().keys_for(action).join(", ");
            assert!(text.contains(&keys), "{action} keys {keys}: {text}");
        }
        // On a small screen the list scrolls.
        let text = screen(&app, &state, 80, 24);
        assert!(text.contains(Action::Quit.describe()));
        assert!(!text.contains(Action::CycleTheme.describe()), "{text}");
        app.dispatch(Action::Bottom, &state);
        let text = screen(&app, &state, 80, 24);
        assert!(text.contains(Action::CycleTheme.describe()), "{text}");
        app.dispatch(Action::Help, &state);
        let text = screen(&app, &state, 80, 24);
        assert!(
            !text.contains(Action::CycleTheme.describe()),
            "closed: {text}"
        );
    }

    /// Hosts with open ports (hostile banners among them), closed, suspect and filtered ports,
    /// and a SHUN alarm.
    fn busy_state() -> ScanState {
        use std::sync::Arc;

        use crate::event::{AfterConnect, FilterReason, ProbeOutcome, ProbeRecord, ScanEvent};
        let mut m = crate::monitor::Monitor::new();
        for host in 0..40u32 {
            let addr = std::net::IpAddr::from([127, 0, 1, host as u8]);
            m.apply(&ScanEvent::HostStarted {
                host,
                addr,
                name: (host % 3 == 0).then(|| Arc::from("name.example")),
                t_us: 0,
            });
            for port in 0..60u16 {
                let outcome = match port % 4 {
                    0 => ProbeOutcome::Open,
                    1 => ProbeOutcome::Closed,
                    2 => ProbeOutcome::Filtered(FilterReason::NoResponse),
                    _ => ProbeOutcome::Filtered(FilterReason::AdminProhibited),
                };
                let after_connect = match port % 3 {
                    0 => AfterConnect::Banner(Arc::from(&b"\x1b]0;x\x07SSH-2.0 \xff\r\n"[..])),
                    1 => AfterConnect::Silent,
                    _ => AfterConnect::ClosedAtOnce,
                };
                m.apply(&ScanEvent::Probe(ProbeRecord {
                    host,
                    addr,
                    port: port * 1000 + 1,
                    outcome,
                    connect_us: 100 + u64::from(port) * 50_000,
                    attempt: 1 + u32::from(port % 5 == 0),
                    seq: u64::from(port),
                    t_us: u64::from(port) * 100_000 + u64::from(host),
                    after_connect,
                }));
            }
        }
        let mut state = m.into_state();
        state.alarms.push(crate::detector::Alarm {
            kind: crate::detector::AlarmKind::Shun,
            scope: crate::detector::Scope::Host {
                addr: [127, 0, 1, 3].into(),
            },
            since_us: 1_000_000,
            raised_us: 2_000_000,
            cleared_us: None,
            evidence: "x".repeat(300),
        });
        state
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn keys_and_sizes_never_panic(
            steps in proptest::collection::vec((0usize..Action::ALL.len(), 0u16..220, 0u16..70), 1..25),
            typed in "[a-z0-9./ ]{0,6}",
        ) {
            static STATE: std::sync::OnceLock<ScanState> = std::sync::OnceLock::new();
            let state = STATE.get_or_init(busy_state);
            let mut app = App::new(&TuiOptions::default(), None);
            app.refresh_index(state, std::time::Instant::now(), true);
            for (action, w, h) in steps {
                let action = Action::ALL[action];
                if action == Action::Filter {
                    app.dispatch(action, state);
                    for c in typed.chars() {
                        app.handle_key(
                            &crossterm::event::KeyEvent::new(
                                crossterm::event::KeyCode::Char(c),
                                crossterm::event::KeyModifiers::NONE,
                            ),
                            state,
                        );
                    }
                    app.editing_filter = false;
                } else {
                    app.dispatch(action, state);
                }
                let text = screen(&app, state, w, h);
                proptest::prop_assert!(!text.contains('\x1b'));
            }
        }
    }

    #[test]
    fn an_empty_scan_says_so() {
        let app = App::new(&TuiOptions::default(), None);
        let text = screen(&app, &ScanState::default(), 80, 24);
        assert!(text.contains("STARTING"), "{text}");
        assert!(text.contains("no hosts yet"), "{text}");
        assert!(text.contains("no host selected"), "{text}");
        assert!(text.contains("no answers yet"), "{text}");
        assert!(text.contains("no interference seen"), "{text}");
        assert!(text.contains("q quit"), "{text}");
    }

    #[test]
    fn fit_cuts_and_pads() {
        assert_eq!(fit("abc", 5, false), "abc  ");
        assert_eq!(fit("abc", 5, true), "  abc");
        assert_eq!(fit("abcdef", 4, false), "abc…");
        assert_eq!(fit("abc", 0, false), "");
        assert_eq!(clock(28_500_000), "0:28");
        assert_eq!(clock(3_723_000_000), "1:02:03");
    }
}
