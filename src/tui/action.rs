//! Everything a key can do in the live view. Keys map to an `Action` (see `keymap`), and
//! `App::dispatch` handles every action in one place.

use std::fmt;
use std::str::FromStr;

/// One thing the user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    /// Show or hide the help overlay.
    Help,
    FocusNext,
    FocusPrevious,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Halve the concurrency.
    ConcurrencyDown,
    /// Double the concurrency.
    ConcurrencyUp,
    /// Raise the per-attempt timeout (×1.5).
    TimeoutUp,
    /// Lower the per-attempt timeout (÷1.5).
    TimeoutDown,
    /// Halve the rate limit (sets one from the current pace when there is none).
    RateDown,
    /// Double the rate limit (removes it above the maximum).
    RateUp,
    /// Pause, or resume a paused scan.
    PauseResume,
    ToggleAutoThrottle,
    /// Acknowledge the active alarms (the banner goes away; the list keeps them).
    AcknowledgeAlarm,
    /// Start typing a filter for the hosts table.
    Filter,
    /// Cycle the hosts table's sort column.
    Sort,
    CycleTheme,
    /// Replay: jump to the next alarm.
    NextAlarm,
    /// Replay: jump back to the previous alarm.
    PreviousAlarm,
    /// Replay: jump to the end of the recording.
    JumpToEnd,
    /// Re-check: show only hosts and ports that changed since the baseline.
    ChangesOnly,
}

impl Action {
    /// Every action, in the order the help overlay lists them.
    pub const ALL: [Action; 28] = [
        Action::Quit,
        Action::Help,
        Action::FocusNext,
        Action::FocusPrevious,
        Action::Up,
        Action::Down,
        Action::Left,
        Action::Right,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::ConcurrencyDown,
        Action::ConcurrencyUp,
        Action::TimeoutUp,
        Action::TimeoutDown,
        Action::RateDown,
        Action::RateUp,
        Action::PauseResume,
        Action::ToggleAutoThrottle,
        Action::AcknowledgeAlarm,
        Action::Filter,
        Action::Sort,
        Action::CycleTheme,
        Action::NextAlarm,
        Action::PreviousAlarm,
        Action::JumpToEnd,
        Action::ChangesOnly,
    ];

    /// Every action's name, in the order of [`Action::ALL`].
    pub const NAMES: [&'static str; Action::ALL.len()] = {
        let mut names = [""; Action::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Action::ALL[i].name();
            i += 1;
        }
        names
    };

    /// The name used in the config file's `[keys]` section.
    pub const fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::FocusNext => "focus_next",
            Action::FocusPrevious => "focus_previous",
            Action::Up => "up",
            Action::Down => "down",
            Action::Left => "left",
            Action::Right => "right",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::ConcurrencyDown => "concurrency_down",
            Action::ConcurrencyUp => "concurrency_up",
            Action::TimeoutUp => "timeout_up",
            Action::TimeoutDown => "timeout_down",
            Action::RateDown => "rate_down",
            Action::RateUp => "rate_up",
            Action::PauseResume => "pause_resume",
            Action::ToggleAutoThrottle => "toggle_auto_throttle",
            Action::AcknowledgeAlarm => "acknowledge_alarm",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::CycleTheme => "cycle_theme",
            Action::NextAlarm => "next_alarm",
            Action::PreviousAlarm => "previous_alarm",
            Action::JumpToEnd => "jump_to_end",
            Action::ChangesOnly => "changes_only",
        }
    }

    /// What it does, for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit (the scan stops; results so far are kept)",
            Action::Help => "show or hide this help",
            Action::FocusNext => "focus the next pane",
            Action::FocusPrevious => "focus the previous pane",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::Left => "scroll left / back in time",
            Action::Right => "scroll right / forward; on an alarm: select its host",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "go to the top",
            Action::Bottom => "go to the bottom",
            Action::ConcurrencyDown => "halve the concurrency (replay: halve the speed)",
            Action::ConcurrencyUp => "double the concurrency (replay: double the speed)",
            Action::TimeoutUp => "raise the timeout (x1.5)",
            Action::TimeoutDown => "lower the timeout (/1.5)",
            Action::RateDown => {
                "halve the rate limit (none set: half the probes/s of the last 5 s)"
            }
            Action::RateUp => "double the rate limit (above 10,000,000/s: none)",
            Action::PauseResume => "pause or resume the scan (replay: pause or play)",
            Action::ToggleAutoThrottle => "turn auto-throttle on or off",
            Action::AcknowledgeAlarm => "acknowledge the active alarms",
            Action::Filter => "filter the hosts table",
            Action::Sort => "change the hosts table's sort order",
            Action::CycleTheme => "switch to the next theme",
            Action::NextAlarm => "replay: jump to the next alarm",
            Action::PreviousAlarm => "replay: jump back to the previous alarm",
            Action::JumpToEnd => "replay: jump to the end of the recording",
            Action::ChangesOnly => "re-check: show only what changed since the baseline",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = String;

    /// Parses a `[keys]` action name; the error lists the valid ones.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                format!("unknown action `{s}`; actions are: {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_name() {
        for action in Action::ALL {
            assert_eq!(action.name().parse::<Action>(), Ok(action));
        }
        let err = "jump".parse::<Action>().unwrap_err();
        assert!(
            err.contains("unknown action `jump`") && err.contains("quit"),
            "{err}"
        );
    }
}
