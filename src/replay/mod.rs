//! Replaying recorded sessions: merging several logs (the shards of one scan) into one event
//! stream, and the replay clock that plays it at a chosen speed, pauses, and jumps to alarms.
//!
//! A replay feeds the same `Monitor` a live scan does, so what it shows is what the live run
//! showed at that moment of scan time.

pub mod command;
pub mod merge;

use crate::event::ScanEvent;
use crate::monitor::Monitor;
use crate::state::ScanState;

pub use merge::{MergeStream, SessionEvents, merge};

/// Slowest and fastest replay speeds (scan seconds per real second).
pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 64.0;

/// A recorded scan being played back: its events, where the playhead is, how fast it moves,
/// and the state folded up to the playhead.
pub struct Replay {
    events: Vec<ScanEvent>,
    /// Scan time of each event (plan lines take the time of the event before them).
    times: Vec<u64>,
    /// Events before this index are folded into `monitor`.
    cursor: usize,
    /// The playhead, in µs of scan time.
    position_us: f64,
    speed: f64,
    paused: bool,
    monitor: Monitor,
    thresholds: crate::detector::AlarmThresholds,
    /// The re-check the recording was, if it was one.
    recheck: Option<crate::recheck::Rechecker>,
    /// When each alarm of the whole session was raised (µs), in order.
    alarm_times: Vec<u64>,
}

impl Replay {
    /// A replay of `events` (in order) with the detector's `thresholds` of the recording, at
    /// the start, playing at speed 1.
    pub fn new(events: Vec<ScanEvent>, thresholds: crate::detector::AlarmThresholds) -> Self {
        Replay::of_recheck(events, thresholds, None)
    }

    /// A replay of a re-check: its verdicts are rebuilt with the state.
    pub fn of_recheck(
        events: Vec<ScanEvent>,
        thresholds: crate::detector::AlarmThresholds,
        recheck: Option<crate::recheck::Rechecker>,
    ) -> Self {
        let fresh = || Monitor::for_scan(thresholds, recheck.clone());
        let mut last = 0;
        let times: Vec<u64> = events
            .iter()
            .map(|e| {
                last = e.time_us().unwrap_or(last).max(last);
                last
            })
            .collect();
        // When each alarm appears while playing: the time of the event that raised it.
        let mut whole = fresh();
        let mut alarm_times = Vec::new();
        for (event, &t) in events.iter().zip(&times) {
            let before = whole.state().alarms.len();
            whole.apply_recorded(event);
            let raised = whole.state().alarms.len().saturating_sub(before);
            alarm_times.extend(std::iter::repeat_n(t, raised));
        }
        let mut replay = Replay {
            events,
            times,
            cursor: 0,
            position_us: 0.0,
            speed: 1.0,
            paused: false,
            monitor: fresh(),
            thresholds,
            recheck: recheck.clone(),
            alarm_times,
        };
        // The plan lines at time 0 belong to the start.
        replay.fold_to(0);
        replay
    }

    pub fn state(&self) -> &ScanState {
        self.monitor.state()
    }

    /// The playhead, µs of scan time.
    pub fn position_us(&self) -> u64 {
        self.position_us as u64
    }

    /// Scan time of the last event.
    pub fn end_us(&self) -> u64 {
        self.times.last().copied().unwrap_or(0)
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Every event has been played.
    pub fn at_end(&self) -> bool {
        self.cursor == self.events.len()
    }

    /// When the alarms of the whole recording were raised, µs of scan time.
    pub fn alarm_times(&self) -> &[u64] {
        &self.alarm_times
    }

    pub fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if !self.paused && self.at_end() {
            // Play again from the start.
            self.seek(0);
        }
    }

    /// Sets the speed, within `MIN_SPEED` and `MAX_SPEED`.
    pub fn set_speed(&mut self, speed: f64) {
        if speed.is_finite() {
            self.speed = speed.clamp(MIN_SPEED, MAX_SPEED);
        }
    }

    /// Doubles the speed, up to `MAX_SPEED`.
    pub fn faster(&mut self) {
        self.speed = (self.speed * 2.0).min(MAX_SPEED);
    }

    /// Halves the speed, down to `MIN_SPEED`.
    pub fn slower(&mut self) {
        self.speed = (self.speed / 2.0).max(MIN_SPEED);
    }

    /// Moves the playhead on by `real_seconds` of real time at the current speed and folds the
    /// events that came due. Returns how many were folded.
    pub fn advance(&mut self, real_seconds: f64) -> usize {
        if self.paused || !real_seconds.is_finite() || real_seconds <= 0.0 {
            return 0;
        }
        let end = self.end_us() as f64;
        self.position_us = (self.position_us + real_seconds * self.speed * 1e6).min(end);
        let before = self.cursor;
        self.fold_to(self.position_us as u64);
        if self.at_end() {
            self.position_us = end;
            self.paused = true;
        }
        self.cursor - before
    }

    /// Puts the playhead at `t_us` of scan time: the state is what it was then (folded again
    /// from the start when going back).
    pub fn seek(&mut self, t_us: u64) {
        let t_us = t_us.min(self.end_us());
        let folded_until = self.cursor.checked_sub(1).map(|i| self.times[i]);
        if folded_until.is_some_and(|t| t > t_us) {
            self.monitor = Monitor::for_scan(self.thresholds, self.recheck.clone());
            self.cursor = 0;
        }
        self.position_us = t_us as f64;
        self.fold_to(t_us);
    }

    /// Jumps to the next alarm after the playhead, paused there. False when there is none.
    pub fn next_alarm(&mut self) -> bool {
        let now = self.position_us();
        match self.alarm_times.iter().copied().find(|&t| t > now) {
            Some(t) => {
                self.seek(t);
                self.paused = true;
                true
            }
            None => false,
        }
    }

    /// Jumps to the alarm before the playhead, paused there. False when there is none.
    pub fn previous_alarm(&mut self) -> bool {
        let now = self.position_us();
        match self.alarm_times.iter().copied().rev().find(|&t| t < now) {
            Some(t) => {
                self.seek(t);
                self.paused = true;
                true
            }
            None => false,
        }
    }

    /// Jumps to the end of the recording, paused.
    pub fn jump_to_end(&mut self) {
        self.seek(self.end_us());
        self.fold_to(u64::MAX);
        self.paused = true;
    }

    /// Folds every event up to and including scan time `t_us`.
    fn fold_to(&mut self, t_us: u64) {
        while self.cursor < self.events.len() && self.times[self.cursor] <= t_us {
            self.monitor.apply_recorded(&self.events[self.cursor]);
            self.cursor += 1;
        }
    }
}

#[cfg(test)]
mod tests;
