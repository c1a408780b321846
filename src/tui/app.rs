//! The live view's own state (focus, selection, filter, sort, acknowledged alarms, theme) and
//! [`App::dispatch`], the one place every [`Action`] is carried out.
//!
//! The App never owns scan data: it reads the `ScanState` the `Monitor` folds, and steers the
//! scan through `EngineControl`. What it keeps of the state is an index of hosts (sorted and
//! filtered), rebuilt at most every [`INDEX_REFRESH`] or when the sort or the filter changes, so
//! a frame costs the rows on screen, not the hosts in the scan.

use std::cell::Cell;
use std::cmp::Reverse;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::TuiOptions;
use super::action::Action;
use super::facts::{self, AlarmScopes, Health};
use super::keymap::KeyMap;
use super::theme::Theme;
use crate::engine::EngineControl;
use crate::event::{HostId, ScanParams};
use crate::state::{HostState, ScanState};
use crate::throttle;

/// How often the hosts index is rebuilt at most while the scan runs.
pub const INDEX_REFRESH: Duration = Duration::from_millis(250);
/// How long a notice (a parameter change, an auto-throttle step) stays in the footer.
pub const NOTICE_FOR: Duration = Duration::from_secs(4);
/// The highest rate limit the rate keys set; doubling beyond it removes the limit.
pub const MAX_RATE: f64 = 10_000_000.0;
/// Columns the banner text moves per left/right press in the ports pane.
const BANNER_STEP: usize = 8;
/// Seconds the activity chart moves per left/right press.
const ACTIVITY_STEP: usize = 5;

/// The panes that take the focus, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Hosts,
    Ports,
    Activity,
    Alarms,
}

impl Pane {
    pub const ORDER: [Pane; 4] = [Pane::Hosts, Pane::Ports, Pane::Activity, Pane::Alarms];

    fn next(self) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ORDER[(i + 1) % Pane::ORDER.len()]
    }

    fn previous(self) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ORDER[(i + Pane::ORDER.len() - 1) % Pane::ORDER.len()]
    }
}

/// What the hosts table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Address, ascending.
    Address,
    /// Worst health first (alarmed, then suspect, then fine, then not answered yet).
    Health,
    /// Most open ports first.
    Open,
    /// Most filtered ports first.
    Filtered,
    /// Slowest p99 connect time first.
    Latency,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        SortKey::Address,
        SortKey::Health,
        SortKey::Open,
        SortKey::Filtered,
        SortKey::Latency,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Address => "address",
            SortKey::Health => "health",
            SortKey::Open => "open ports",
            SortKey::Filtered => "filtered",
            SortKey::Latency => "p99",
        }
    }

    fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }
}

/// A short message in the footer: what a key or auto-throttling just did.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub at: Instant,
}

/// Row counts the last frame gave the scrollable panes (for paging and scrolling).
#[derive(Debug, Default)]
pub struct Viewport {
    pub hosts_rows: Cell<usize>,
    pub hosts_offset: Cell<usize>,
    pub ports_rows: Cell<usize>,
    pub alarms_rows: Cell<usize>,
    pub alarms_offset: Cell<usize>,
    pub activity_width: Cell<usize>,
    pub help_rows: Cell<usize>,
}

/// The live view's state.
#[derive(Debug)]
pub struct App {
    keymap: KeyMap,
    themes: Vec<Theme>,
    theme_index: usize,
    control: Option<EngineControl>,
    /// The targets as the user gave them, for the status bar.
    pub targets: String,
    /// The session log's file name, for the status bar.
    pub session: Option<String>,
    /// Writing the session log failed (the status bar says so).
    pub session_failed: bool,
    pub focus: Pane,
    pub help: bool,
    pub help_scroll: usize,
    pub filter: String,
    pub editing_filter: bool,
    pub sort: SortKey,
    /// Hosts in table order (sorted, filtered).
    index: Vec<HostId>,
    index_built: Option<Instant>,
    index_stale: bool,
    /// What the state looked like when the index was built (unchanged: nothing to rebuild).
    index_seen: StateMark,
    /// Hosts that answered, counted when the index was built.
    hosts_up: usize,
    /// The active alarms by host, as of the last index build.
    scopes: AlarmScopes,
    selected: Option<HostId>,
    selected_pos: usize,
    pub ports_scroll: usize,
    pub banner_shift: usize,
    pub alarm_selected: usize,
    /// Seconds the activity chart is scrolled back from the latest one.
    pub activity_back: usize,
    /// Alarms raised before this index are acknowledged.
    pub acknowledged: usize,
    pub auto_throttle: bool,
    /// Alarms already looked at by auto-throttling.
    alarms_seen: usize,
    pub notice: Option<Notice>,
    pub quit: bool,
    pub viewport: Viewport,
    /// Set when the view plays a recorded session instead of steering a live scan.
    pub replay: Option<ReplayStatus>,
    /// Re-check: only hosts and ports that changed since the baseline.
    pub changes_only: bool,
    /// Replay commands from keys, for the replay loop to carry out.
    replay_commands: Vec<ReplayCommand>,
}

/// Where a replay is, for the status bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayStatus {
    pub position_us: u64,
    pub end_us: u64,
    pub speed: f64,
    pub paused: bool,
}

/// What a key asks of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayCommand {
    TogglePause,
    Faster,
    Slower,
    NextAlarm,
    PreviousAlarm,
    End,
}

impl App {
    /// An App for `opts`, steering the scan through `control` when there is one (views of a
    /// finished scan and tests have none).
    pub fn new(opts: &TuiOptions, control: Option<EngineControl>) -> App {
        let mut themes = opts.themes.clone();
        let theme_index = match themes.iter().position(|t| t.name == opts.theme.name) {
            Some(i) => {
                themes[i] = opts.theme.clone();
                i
            }
            None => {
                themes.insert(0, opts.theme.clone());
                0
            }
        };
        App {
            keymap: opts.keymap.clone(),
            themes,
            theme_index,
            control,
            targets: opts.targets.join(" "),
            session: opts.session.clone(),
            session_failed: false,
            focus: Pane::Hosts,
            help: false,
            help_scroll: 0,
            filter: String::new(),
            editing_filter: false,
            sort: SortKey::Address,
            index: Vec::new(),
            index_built: None,
            index_stale: true,
            index_seen: StateMark::default(),
            hosts_up: 0,
            scopes: AlarmScopes::default(),
            selected: None,
            selected_pos: 0,
            ports_scroll: 0,
            banner_shift: 0,
            alarm_selected: 0,
            activity_back: 0,
            acknowledged: 0,
            auto_throttle: opts.auto_throttle,
            alarms_seen: 0,
            notice: None,
            quit: false,
            viewport: Viewport::default(),
            replay: None,
            changes_only: false,
            replay_commands: Vec::new(),
        }
    }

    pub fn theme(&self) -> &Theme {
        // `themes` is never empty: `new` puts the starting theme in it.
        &self.themes[self.theme_index.min(self.themes.len() - 1)]
    }

    pub fn keymap(&self) -> &KeyMap {
        &self.keymap
    }

    /// The hosts table, in order.
    pub fn index(&self) -> &[HostId] {
        &self.index
    }

    /// Hosts that answered, as of the last index build.
    pub fn hosts_up(&self) -> usize {
        self.hosts_up
    }

    /// Which hosts the active alarms cover, as of the last index build.
    pub fn alarm_scopes(&self) -> &AlarmScopes {
        &self.scopes
    }

    /// The selected host, if any.
    pub fn selected(&self) -> Option<HostId> {
        self.selected
    }

    /// The selected host's row in the table.
    pub fn selected_pos(&self) -> usize {
        self.selected_pos
    }

    pub fn selected_host<'s>(&self, state: &'s ScanState) -> Option<&'s HostState> {
        self.selected.and_then(|id| state.hosts.get(&id))
    }

    /// The parameters in force: as last set through the control, else as the scan reported.
    pub fn params(&self, state: &ScanState) -> Option<ScanParams> {
        match &self.control {
            Some(control) => Some(control.params()),
            None => state.params,
        }
    }

    /// Active alarms not acknowledged yet, newest last.
    pub fn unacknowledged<'s>(
        &self,
        state: &'s ScanState,
    ) -> impl Iterator<Item = &'s crate::detector::Alarm> {
        state
            .alarms
            .iter()
            .skip(self.acknowledged)
            .filter(|a| a.is_active())
    }

    /// Rebuilds the hosts index when it is stale (sort or filter changed), when `force`, or when
    /// [`INDEX_REFRESH`] has passed since the last build and the state has changed.
    pub fn refresh_index(&mut self, state: &ScanState, now: Instant, force: bool) {
        let mark = StateMark::of(state);
        let due = match self.index_built {
            None => true,
            Some(built) => {
                now.saturating_duration_since(built) >= INDEX_REFRESH && mark != self.index_seen
            }
        };
        if !(force || self.index_stale || due) {
            return;
        }
        self.index_seen = mark;
        self.scopes = AlarmScopes::new(state);
        self.index = build_index(state, &self.filter, self.sort, &self.scopes);
        if self.changes_only
            && let Some(recheck) = &state.recheck
        {
            self.index.retain(|id| {
                state
                    .hosts
                    .get(id)
                    .is_some_and(|h| crate::tui::facts::recheck_changes(recheck, h.addr) > 0)
            });
        }
        self.hosts_up = state.hosts.values().filter(|h| h.is_up()).count();
        self.index_built = Some(now);
        self.index_stale = false;
        self.reselect();
    }

    /// Keeps the selection on the same host when it is still listed, else on the same row.
    fn reselect(&mut self) {
        if self.index.is_empty() {
            self.selected = None;
            self.selected_pos = 0;
            return;
        }
        if let Some(id) = self.selected
            && let Some(pos) = self.index.iter().position(|h| *h == id)
        {
            self.selected_pos = pos;
            return;
        }
        let pos = self.selected_pos.min(self.index.len() - 1);
        self.select_pos(pos);
    }

    fn select_pos(&mut self, pos: usize) {
        if self.index.is_empty() {
            self.selected = None;
            self.selected_pos = 0;
            return;
        }
        let pos = pos.min(self.index.len() - 1);
        let changed = self.selected != Some(self.index[pos]);
        self.selected_pos = pos;
        self.selected = Some(self.index[pos]);
        if changed {
            self.ports_scroll = 0;
            self.banner_shift = 0;
        }
    }

    /// Handles one key press: the filter prompt and the help overlay first, then the key map.
    pub fn handle_key(&mut self, key: &KeyEvent, state: &ScanState) {
        self.take_key(key, state);
        if self.index_stale {
            self.refresh_index(state, Instant::now(), true);
        }
    }

    fn take_key(&mut self, key: &KeyEvent, state: &ScanState) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if self.editing_filter {
            match key.code {
                KeyCode::Esc => {
                    self.set_filter(String::new());
                    self.editing_filter = false;
                    return;
                }
                KeyCode::Enter => {
                    self.editing_filter = false;
                    return;
                }
                KeyCode::Backspace => {
                    let mut f = self.filter.clone();
                    f.pop();
                    self.set_filter(f);
                    return;
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.set_filter(String::new());
                    return;
                }
                KeyCode::Char(c) if plain && !c.is_control() => {
                    let mut f = self.filter.clone();
                    f.push(c);
                    self.set_filter(f);
                    return;
                }
                // Arrows, page keys, ctrl-c and the like still do what they are bound to.
                _ => {}
            }
        }
        if key.code == KeyCode::Esc {
            if self.help {
                self.help = false;
            } else if !self.filter.is_empty() {
                self.set_filter(String::new());
            }
            return;
        }
        if let Some(action) = self.keymap.action(key) {
            self.dispatch(action, state);
        }
    }

    fn set_filter(&mut self, filter: String) {
        if filter != self.filter {
            self.filter = filter;
            self.index_stale = true;
        }
    }

    /// Carries out one action. Parameter actions go through `EngineControl`, which clamps them
    /// to its limits; the engine records each change as a `ParamsChanged` event.
    pub fn dispatch(&mut self, action: Action, state: &ScanState) {
        if self.help && self.help_navigation(action) {
            return;
        }
        if self.replay.is_some() && self.replay_action(action) {
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::Help => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::FocusNext => self.focus = self.focus.next(),
            Action::FocusPrevious => self.focus = self.focus.previous(),
            Action::Up
            | Action::Down
            | Action::Left
            | Action::Right
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.navigate(action, state),
            Action::ConcurrencyDown => self.change("concurrency", |c, p| {
                c.set_concurrency((p.concurrency / 2).max(1))
            }),
            Action::ConcurrencyUp => self.change("concurrency", |c, p| {
                c.set_concurrency(p.concurrency.saturating_mul(2))
            }),
            Action::TimeoutUp => {
                self.change("timeout", |c, p| c.set_timeout(p.timeout.mul_f64(1.5)))
            }
            Action::TimeoutDown => {
                self.change("timeout", |c, p| c.set_timeout(p.timeout.div_f64(1.5)))
            }
            Action::RateDown => {
                let observed = facts::recent_rate(state);
                self.change("rate", move |c, p| {
                    c.set_rate(Some(rate_down(p.rate, observed, p.concurrency)))
                })
            }
            Action::RateUp => self.change("rate", |c, p| c.set_rate(rate_up(p.rate))),
            Action::PauseResume => {
                self.change(
                    "pause",
                    |c, p| {
                        if p.paused { c.resume() } else { c.pause() }
                    },
                )
            }
            Action::ToggleAutoThrottle => {
                self.auto_throttle = !self.auto_throttle;
                let text = format!(
                    "auto-throttle {}",
                    if self.auto_throttle { "on" } else { "off" }
                );
                self.say(text);
            }
            Action::AcknowledgeAlarm => {
                let n = self.unacknowledged(state).count();
                self.acknowledged = state.alarms.len();
                if n > 0 {
                    self.say(format!(
                        "{n} alarm{} acknowledged",
                        if n == 1 { "" } else { "s" }
                    ));
                }
            }
            Action::Filter => {
                self.editing_filter = true;
                self.focus = Pane::Hosts;
            }
            Action::Sort => {
                self.sort = self.sort.next();
                self.index_stale = true;
                self.refresh_index(state, Instant::now(), true);
            }
            Action::CycleTheme => {
                if !self.themes.is_empty() {
                    self.theme_index = (self.theme_index + 1) % self.themes.len();
                    let text = format!("theme {}", self.theme().name);
                    self.say(text);
                }
            }
            Action::ChangesOnly => {
                if state.recheck.is_some() {
                    self.changes_only = !self.changes_only;
                    self.index_stale = true;
                    let text = if self.changes_only {
                        "showing only what changed since the baseline"
                    } else {
                        "showing every host and port"
                    };
                    self.say(text.into());
                } else {
                    self.say("only a re-check has a baseline to compare with".into());
                }
            }
            Action::NextAlarm | Action::PreviousAlarm | Action::JumpToEnd => {
                self.say("jumping in time works in a replay (scanwatch replay FILE)".into());
            }
        }
        if self.index_stale {
            self.refresh_index(state, Instant::now(), true);
        }
    }

    /// While the help overlay is up, the movement keys scroll it. Returns whether `action` was
    /// taken by the overlay.
    fn help_navigation(&mut self, action: Action) -> bool {
        let page = self.viewport.help_rows.get().max(1);
        let last = Action::ALL.len().saturating_sub(1);
        self.help_scroll = match action {
            Action::Up => self.help_scroll.saturating_sub(1),
            Action::Down => (self.help_scroll + 1).min(last),
            Action::PageUp => self.help_scroll.saturating_sub(page),
            Action::PageDown => (self.help_scroll + page).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            _ => return false,
        };
        true
    }

    /// Applies a parameter change through the control and says what changed.
    fn change(&mut self, what: &str, set: impl FnOnce(&EngineControl, ScanParams) -> ScanParams) {
        let Some(control) = self.control.clone() else {
            self.say(format!("{what}: no running scan to change"));
            return;
        };
        let before = control.params();
        let after = set(&control, before);
        let text = if before == after {
            format!("{what}: no change (at its limit)")
        } else {
            facts::describe_change(&before, &after)
        };
        self.say(text);
    }

    /// In a replay, the pace keys steer the playback and the scan's own parameters are what
    /// was recorded. True when the action was taken here.
    fn replay_action(&mut self, action: Action) -> bool {
        let command = match action {
            Action::PauseResume => ReplayCommand::TogglePause,
            Action::ConcurrencyUp => ReplayCommand::Faster,
            Action::ConcurrencyDown => ReplayCommand::Slower,
            Action::NextAlarm => ReplayCommand::NextAlarm,
            Action::PreviousAlarm => ReplayCommand::PreviousAlarm,
            Action::JumpToEnd => ReplayCommand::End,
            Action::TimeoutUp
            | Action::TimeoutDown
            | Action::RateUp
            | Action::RateDown
            | Action::ToggleAutoThrottle => {
                self.say("replay: the recorded scan's pace cannot be changed".into());
                return true;
            }
            _ => return false,
        };
        self.replay_commands.push(command);
        true
    }

    /// The replay commands asked for since the last call.
    pub fn take_replay_commands(&mut self) -> Vec<ReplayCommand> {
        std::mem::take(&mut self.replay_commands)
    }

    /// Shows `text` in the footer for a while.
    pub fn notify(&mut self, text: String) {
        self.say(text);
    }

    fn say(&mut self, text: String) {
        self.notice = Some(Notice {
            text,
            at: Instant::now(),
        });
    }

    /// Drops the notice once it has been shown long enough.
    pub fn expire_notice(&mut self, now: Instant) {
        if self
            .notice
            .as_ref()
            .is_some_and(|n| now.saturating_duration_since(n.at) >= NOTICE_FOR)
        {
            self.notice = None;
        }
    }

    /// With auto-throttling on, slows the scan down once for each RATE or QOS alarm raised
    /// since the last call (the rule of `throttle::decide`, as in headless mode).
    pub fn auto_throttle_for_new_alarms(&mut self, state: &ScanState) {
        let start = self.alarms_seen.min(state.alarms.len());
        self.alarms_seen = state.alarms.len();
        if !self.auto_throttle {
            return;
        }
        let Some(control) = self.control.clone() else {
            return;
        };
        for alarm in &state.alarms[start..] {
            let from = control.params();
            let Some(next) = throttle::decide(alarm, from) else {
                continue;
            };
            let to = control.set_pace(next.concurrency, next.rate);
            if to != from {
                self.say(format!(
                    "auto-throttle: {}",
                    throttle::describe(alarm, &from, &to)
                ));
            }
        }
    }

    fn navigate(&mut self, action: Action, state: &ScanState) {
        match self.focus {
            Pane::Hosts => {
                let page = self.viewport.hosts_rows.get().max(1);
                let last = self.index.len().saturating_sub(1);
                let pos = self.selected_pos;
                let to = match action {
                    Action::Up => pos.saturating_sub(1),
                    Action::Down => pos.saturating_add(1),
                    Action::PageUp => pos.saturating_sub(page),
                    Action::PageDown => pos.saturating_add(page),
                    Action::Top => 0,
                    Action::Bottom => last,
                    _ => return,
                };
                self.select_pos(to.min(last));
            }
            Pane::Ports => {
                let rows = self.selected_host(state).map_or(0, facts::port_rows_count);
                let page = self.viewport.ports_rows.get().max(1);
                let last = rows.saturating_sub(page);
                let s = self.ports_scroll;
                self.ports_scroll = match action {
                    Action::Up => s.saturating_sub(1),
                    Action::Down => s.saturating_add(1).min(last),
                    Action::PageUp => s.saturating_sub(page),
                    Action::PageDown => s.saturating_add(page).min(last),
                    Action::Top => 0,
                    Action::Bottom => last,
                    Action::Left => {
                        self.banner_shift = self.banner_shift.saturating_sub(BANNER_STEP);
                        s
                    }
                    Action::Right => {
                        self.banner_shift =
                            (self.banner_shift + BANNER_STEP).min(crate::banner::BANNER_MAX * 4);
                        s
                    }
                    _ => s,
                };
            }
            Pane::Activity => {
                let seconds = facts::complete_seconds(state);
                let width = self.viewport.activity_width.get().max(1);
                let oldest = seconds.saturating_sub(width);
                let b = self.activity_back;
                self.activity_back = match action {
                    Action::Left => b.saturating_add(ACTIVITY_STEP).min(oldest),
                    Action::Right => b.saturating_sub(ACTIVITY_STEP),
                    Action::PageUp => b.saturating_add(width).min(oldest),
                    Action::PageDown => b.saturating_sub(width),
                    Action::Top => oldest,
                    Action::Bottom => 0,
                    _ => b,
                };
            }
            Pane::Alarms => {
                let n = state.alarms.len();
                let last = n.saturating_sub(1);
                let page = (self.viewport.alarms_rows.get() / 2).max(1);
                let s = self.alarm_selected.min(last);
                self.alarm_selected = match action {
                    Action::Up => s.saturating_sub(1),
                    Action::Down => s.saturating_add(1).min(last),
                    Action::PageUp => s.saturating_sub(page),
                    Action::PageDown => s.saturating_add(page).min(last),
                    Action::Top => 0,
                    Action::Bottom => last,
                    Action::Right => {
                        self.show_alarm_host(state);
                        s
                    }
                    _ => s,
                };
            }
        }
    }

    /// Selects the first listed host in the scope of the selected alarm, and focuses the hosts.
    fn show_alarm_host(&mut self, state: &ScanState) {
        let Some(alarm) = facts::alarm_at(state, self.alarm_selected) else {
            return;
        };
        let pos = self.index.iter().position(|id| {
            state
                .hosts
                .get(id)
                .is_some_and(|h| facts::scope_contains(&alarm.scope, h.addr))
        });
        if let Some(pos) = pos {
            self.select_pos(pos);
            self.focus = Pane::Hosts;
        } else {
            self.say(format!("{} is not in the hosts table", alarm.scope));
        }
    }
}

/// Enough of the state to tell whether the hosts table can have changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct StateMark {
    now_us: u64,
    probes: u64,
    hosts: usize,
    alarms: usize,
    active: usize,
}

impl StateMark {
    fn of(state: &ScanState) -> Self {
        StateMark {
            now_us: state.now_us,
            probes: state.probes_done(),
            hosts: state.hosts.len(),
            alarms: state.alarms.len(),
            active: state.active_alarms().count(),
        }
    }
}

/// Half the rate limit in force; with none, half the probes per second seen lately, or half the
/// concurrency (as probes per second) before any was seen; never below 1 per second.
fn rate_down(rate: Option<f64>, observed: f64, concurrency: u32) -> f64 {
    let from = match rate {
        Some(r) => r,
        None if observed > 0.0 => observed,
        None => f64::from(concurrency.max(1)),
    };
    (from / 2.0).max(throttle::MIN_RATE)
}

/// Twice the rate limit; above [`MAX_RATE`] there is none.
fn rate_up(rate: Option<f64>) -> Option<f64> {
    rate.map(|r| r * 2.0).filter(|r| *r <= MAX_RATE)
}

/// The hosts table: the hosts matching `filter` (a case-insensitive substring of the address
/// or the name), in `sort` order; ties go by address.
fn build_index(
    state: &ScanState,
    filter: &str,
    sort: SortKey,
    scopes: &AlarmScopes,
) -> Vec<HostId> {
    let needle = filter.trim().to_lowercase();
    let mut text = String::new();
    let mut hosts: Vec<&HostState> = state
        .hosts
        .values()
        .filter(|h| {
            if needle.is_empty() {
                return true;
            }
            text.clear();
            let _ = write!(text, "{}", h.addr);
            if let Some(name) = &h.name {
                text.push(' ');
                text.push_str(&name.to_lowercase());
            }
            text.contains(&needle)
        })
        .collect();
    match sort {
        SortKey::Address => hosts.sort_unstable_by_key(|h| (h.addr, h.id)),
        SortKey::Health => hosts.sort_by_cached_key(|h| {
            let health = facts::health(h, scopes.covers(h.addr));
            (Reverse(health_rank(health)), h.addr, h.id)
        }),
        SortKey::Open => hosts.sort_unstable_by_key(|h| (Reverse(h.counts.open), h.addr, h.id)),
        SortKey::Filtered => {
            hosts.sort_unstable_by_key(|h| (Reverse(h.counts.filtered()), h.addr, h.id))
        }
        SortKey::Latency => hosts.sort_by_cached_key(|h| {
            (
                Reverse(h.latency_percentile(0.99).unwrap_or(0)),
                h.addr,
                h.id,
            )
        }),
    }
    hosts.into_iter().map(|h| h.id).collect()
}

fn health_rank(h: Health) -> u8 {
    match h {
        Health::Pending => 0,
        Health::Ok => 1,
        Health::Warn => 2,
        Health::Bad => 3,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use super::*;
    use crate::event::{AfterConnect, FilterReason, ProbeOutcome, ProbeRecord, ScanEvent};
    use crate::monitor::Monitor;

    fn addr(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x7f00_0000 + n))
    }

    fn probe(host: u32, port: u16, outcome: ProbeOutcome, connect_us: u64) -> ScanEvent {
        ScanEvent::Probe(ProbeRecord {
            host,
            addr: addr(host),
            port,
            outcome,
            connect_us,
            attempt: 1,
            seq: u64::from(port),
            t_us: 1_000,
            after_connect: AfterConnect::NotRead,
        })
    }

    /// Hosts 1..=5; host n has n open ports, 6-n timeouts and n·100 µs connect times; host 3
    /// is called `db.example`.
    fn state() -> ScanState {
        let mut m = Monitor::without_detector();
        for host in 1..=5u32 {
            let name = (host == 3).then(|| Arc::<str>::from("db.example"));
            m.apply(&ScanEvent::HostStarted {
                host,
                addr: addr(host),
                name,
                t_us: 0,
            });
            for port in 0..host as u16 {
                m.apply(&probe(
                    host,
                    port + 1,
                    ProbeOutcome::Open,
                    u64::from(host) * 100,
                ));
            }
            for port in 0..(6 - host) as u16 {
                m.apply(&probe(
                    host,
                    port + 100,
                    ProbeOutcome::Filtered(FilterReason::NoResponse),
                    1_000_000,
                ));
            }
        }
        m.into_state()
    }

    fn app(state: &ScanState) -> App {
        let mut app = App::new(&TuiOptions::default(), None);
        app.refresh_index(state, Instant::now(), true);
        app
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(app: &mut App, state: &ScanState, text: &str) {
        for c in text.chars() {
            app.handle_key(&key(KeyCode::Char(c)), state);
        }
    }

    fn listed(app: &App, state: &ScanState) -> Vec<IpAddr> {
        app.index().iter().map(|id| state.hosts[id].addr).collect()
    }

    #[test]
    fn moves_the_selection_within_the_hosts_table() {
        let s = state();
        let mut app = app(&s);
        app.viewport.hosts_rows.set(2);
        assert_eq!(app.selected(), Some(1), "the first host is selected");
        app.dispatch(Action::Down, &s);
        app.dispatch(Action::Down, &s);
        assert_eq!(app.selected(), Some(3));
        app.dispatch(Action::Up, &s);
        assert_eq!(app.selected(), Some(2));
        app.dispatch(Action::PageDown, &s);
        assert_eq!(app.selected(), Some(4));
        app.dispatch(Action::Bottom, &s);
        assert_eq!(app.selected(), Some(5));
        app.dispatch(Action::Down, &s);
        assert_eq!(app.selected(), Some(5), "stays on the last row");
        app.dispatch(Action::Top, &s);
        app.dispatch(Action::Up, &s);
        assert_eq!(app.selected(), Some(1), "stays on the first row");
        app.dispatch(Action::PageUp, &s);
        assert_eq!(app.selected_pos(), 0);
    }

    #[test]
    fn focus_cycles_through_the_panes_both_ways() {
        let s = state();
        let mut app = app(&s);
        let mut seen = vec![app.focus];
        for _ in 0..4 {
            app.dispatch(Action::FocusNext, &s);
            seen.push(app.focus);
        }
        assert_eq!(
            seen,
            [
                Pane::Hosts,
                Pane::Ports,
                Pane::Activity,
                Pane::Alarms,
                Pane::Hosts
            ]
        );
        app.dispatch(Action::FocusPrevious, &s);
        assert_eq!(app.focus, Pane::Alarms);
        // Movement keys move within the focused pane only.
        app.dispatch(Action::Down, &s);
        assert_eq!(app.selected(), Some(1));
    }

    #[test]
    fn the_filter_matches_addresses_and_names_and_esc_clears_it() {
        let s = state();
        let mut app = app(&s);
        app.handle_key(&key(KeyCode::Char('/')), &s);
        assert!(app.editing_filter);
        typed(&mut app, &s, "DB.");
        assert_eq!(
            listed(&app, &s),
            [addr(3)],
            "names match, case-insensitively"
        );
        app.handle_key(&key(KeyCode::Backspace), &s);
        app.handle_key(&key(KeyCode::Backspace), &s);
        app.handle_key(&key(KeyCode::Backspace), &s);
        typed(&mut app, &s, "0.0.4");
        assert_eq!(listed(&app, &s), [addr(4)], "addresses match");
        assert_eq!(app.selected(), Some(4), "the selection follows the filter");
        app.handle_key(&key(KeyCode::Enter), &s);
        assert!(!app.editing_filter);
        assert_eq!(app.filter, "0.0.4", "enter keeps the filter");
        // Keys act normally again: `s` sorts instead of typing.
        app.handle_key(&key(KeyCode::Char('s')), &s);
        assert_eq!(app.sort, SortKey::Health);
        app.handle_key(&key(KeyCode::Esc), &s);
        assert!(app.filter.is_empty());
        assert_eq!(app.index().len(), 5);
        // Esc while typing clears and closes the prompt.
        app.handle_key(&key(KeyCode::Char('/')), &s);
        typed(&mut app, &s, "nothing-matches");
        assert!(app.index().is_empty());
        assert_eq!(app.selected(), None);
        app.handle_key(&key(KeyCode::Esc), &s);
        assert!(!app.editing_filter && app.filter.is_empty());
        assert_eq!(app.index().len(), 5);
    }

    #[test]
    fn sort_cycles_and_the_selection_follows_its_host() {
        let s = state();
        let mut app = app(&s);
        app.dispatch(Action::Down, &s);
        assert_eq!(app.selected(), Some(2));
        let order = |app: &App| app.index().to_vec();
        assert_eq!(order(&app), [1, 2, 3, 4, 5]);
        app.dispatch(Action::Sort, &s);
        assert_eq!(app.sort, SortKey::Health);
        app.dispatch(Action::Sort, &s);
        assert_eq!(app.sort, SortKey::Open);
        assert_eq!(order(&app), [5, 4, 3, 2, 1], "most open ports first");
        assert_eq!(app.selected(), Some(2), "the selection stays on its host");
        assert_eq!(app.selected_pos(), 3);
        app.dispatch(Action::Sort, &s);
        assert_eq!(order(&app), [1, 2, 3, 4, 5], "most filtered first");
        app.dispatch(Action::Sort, &s);
        assert_eq!(app.sort, SortKey::Latency);
        assert_eq!(order(&app), [5, 4, 3, 2, 1], "slowest first");
        app.dispatch(Action::Sort, &s);
        assert_eq!(app.sort, SortKey::Address);
    }

    #[test]
    fn the_index_is_rebuilt_at_most_every_quarter_second() {
        let mut m = Monitor::without_detector();
        let t0 = Instant::now();
        let mut app = App::new(&TuiOptions::default(), None);
        app.refresh_index(m.state(), t0, false);
        assert!(app.index().is_empty());
        m.apply(&probe(9, 22, ProbeOutcome::Open, 100));
        app.refresh_index(m.state(), t0 + Duration::from_millis(100), false);
        assert!(app.index().is_empty(), "not rebuilt within 250 ms");
        app.refresh_index(m.state(), t0 + INDEX_REFRESH, false);
        assert_eq!(app.index(), [9]);
        assert_eq!(app.selected(), Some(9));
    }

    fn alarm(kind: crate::detector::AlarmKind, host: u32, cleared: bool) -> crate::detector::Alarm {
        crate::detector::Alarm {
            kind,
            scope: crate::detector::Scope::Host { addr: addr(host) },
            since_us: 1_000_000,
            raised_us: 2_000_000,
            cleared_us: cleared.then_some(3_000_000),
            evidence: "evidence".into(),
        }
    }

    #[test]
    fn acknowledging_hides_the_alarms_raised_so_far() {
        use crate::detector::AlarmKind;
        let mut s = state();
        s.alarms.push(alarm(AlarmKind::Shun, 3, false));
        s.alarms.push(alarm(AlarmKind::Rate, 4, true));
        let mut app = app(&s);
        assert_eq!(
            app.unacknowledged(&s).count(),
            1,
            "cleared ones do not count"
        );
        app.handle_key(&key(KeyCode::Char('a')), &s);
        assert_eq!(app.unacknowledged(&s).count(), 0);
        assert_eq!(
            app.notice.as_ref().map(|n| n.text.as_str()),
            Some("1 alarm acknowledged")
        );
        s.alarms.push(alarm(AlarmKind::Deception, 5, false));
        let left: Vec<_> = app.unacknowledged(&s).map(|a| a.kind).collect();
        assert_eq!(left, [AlarmKind::Deception], "a new alarm shows again");
        // The alarms pane shows the alarm's host in the hosts table.
        app.focus = Pane::Alarms;
        app.dispatch(Action::Bottom, &s);
        app.dispatch(Action::Top, &s);
        app.dispatch(Action::Right, &s);
        assert_eq!(app.focus, Pane::Hosts);
        assert_eq!(app.selected(), Some(5));
    }

    #[test]
    fn help_toggles_and_scrolls_while_shown() {
        let s = state();
        let mut app = app(&s);
        app.handle_key(&key(KeyCode::Char('?')), &s);
        assert!(app.help);
        app.dispatch(Action::Down, &s);
        app.dispatch(Action::Down, &s);
        assert_eq!(app.help_scroll, 2);
        assert_eq!(
            app.selected(),
            Some(1),
            "movement scrolls the help, not the hosts"
        );
        app.dispatch(Action::Bottom, &s);
        assert_eq!(app.help_scroll, Action::ALL.len() - 1);
        app.handle_key(&key(KeyCode::Esc), &s);
        assert!(!app.help);
        app.handle_key(&key(KeyCode::Char('?')), &s);
        assert_eq!(app.help_scroll, 0);
        app.handle_key(&key(KeyCode::Char('?')), &s);
        assert!(!app.help);
    }

    #[test]
    fn quit_auto_throttle_and_themes() {
        let s = state();
        let opts = TuiOptions {
            themes: vec![
                Theme::dark(),
                Theme {
                    name: "other".into(),
                    ..Theme::dark()
                },
            ],
            ..TuiOptions::default()
        };
        let mut app = App::new(&opts, None);
        assert_eq!(app.theme().name, "dark");
        app.dispatch(Action::CycleTheme, &s);
        assert_eq!(app.theme().name, "other");
        app.dispatch(Action::CycleTheme, &s);
        assert_eq!(app.theme().name, "dark");
        assert!(!app.auto_throttle);
        app.dispatch(Action::ToggleAutoThrottle, &s);
        assert!(app.auto_throttle);
        // Without a running scan, parameter keys change nothing and say so.
        app.dispatch(Action::ConcurrencyDown, &s);
        assert!(
            app.notice
                .as_ref()
                .unwrap()
                .text
                .contains("no running scan")
        );
        assert!(!app.quit);
        app.handle_key(
            &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
            &s,
        );
        assert!(app.quit);
    }

    #[test]
    fn rate_keys_set_halve_double_and_remove_the_limit() {
        assert_eq!(rate_down(Some(100.0), 3.0, 10), 50.0);
        assert_eq!(rate_down(None, 300.0, 10), 150.0, "from the pace seen");
        assert_eq!(rate_down(None, 0.0, 64), 32.0, "from the concurrency");
        assert_eq!(rate_down(Some(1.0), 0.0, 1), 1.0, "never below 1/s");
        assert_eq!(rate_up(Some(50.0)), Some(100.0));
        assert_eq!(rate_up(Some(MAX_RATE)), None);
        assert_eq!(rate_up(None), None);
    }

    #[test]
    fn an_empty_state_has_no_selection_and_keys_do_not_panic() {
        let s = ScanState::default();
        let mut app = app(&s);
        for pane in Pane::ORDER {
            app.focus = pane;
            for action in Action::ALL {
                if action != Action::Quit && action != Action::Filter {
                    app.dispatch(action, &s);
                }
            }
        }
        assert_eq!(app.selected(), None);
    }
}
