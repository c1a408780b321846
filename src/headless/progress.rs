//! Progress on stderr while a headless scan runs: rate, done/total, ETA.

use crate::state::ScanState;

use super::text::thousands;

/// Rate and ETA from two observations of the done counter.
#[derive(Debug, Default)]
pub struct ProgressMeter {
    last_done: u64,
    last_us: u64,
    rate: f64,
}

/// One progress reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
    /// Probes per second over the last interval.
    pub rate: f64,
    pub eta_s: Option<f64>,
}

impl ProgressMeter {
    /// Reads the state at scan time `now_us` (the wall clock since the scan started).
    pub fn read(&mut self, state: &ScanState, now_us: u64) -> Progress {
        let done = state.probes_done();
        let dt = now_us.saturating_sub(self.last_us) as f64 / 1e6;
        if dt > 0.0 {
            let instant = done.saturating_sub(self.last_done) as f64 / dt;
            // Smooth over about three readings so one slow second does not swing the ETA.
            self.rate = if self.last_us == 0 {
                instant
            } else {
                0.6 * self.rate + 0.4 * instant
            };
        }
        self.last_done = done;
        self.last_us = now_us;
        let total = state.probes_total();
        let eta_s = total
            .filter(|_| self.rate > 0.0)
            .map(|t| t.saturating_sub(done) as f64 / self.rate);
        Progress {
            done,
            total,
            rate: self.rate,
            eta_s,
        }
    }
}

/// `[ 45.2%] 29,600/65,535 probes  35,210/s  ETA 1s  open 3  local errors 0`
pub fn format_line(p: &Progress, state: &ScanState) -> String {
    let pct = p
        .total
        .filter(|&t| t > 0)
        .map(|t| format!("{:5.1}%", p.done as f64 * 100.0 / t as f64))
        .unwrap_or_else(|| "  ?  ".into());
    let total = p.total.map_or_else(|| "?".into(), thousands);
    let eta = p.eta_s.map_or_else(|| "?".into(), format_eta);
    let paused = match state.params {
        Some(params) if params.paused => "  PAUSED",
        _ => "",
    };
    format!(
        "[{pct}] {}/{} probes  {}/s  ETA {eta}  open {}  local errors {}{paused}",
        thousands(p.done),
        total,
        thousands(p.rate as u64),
        thousands(state.totals.open),
        thousands(state.local_errors),
    )
}

fn format_eta(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_formats() {
        assert_eq!(format_eta(4.4), "4s");
        assert_eq!(format_eta(75.0), "1m15s");
        assert_eq!(format_eta(7300.0), "2h01m");
    }
}
