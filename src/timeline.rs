//! Answers and timeouts per second of scan time, for the live view's activity pane: the last
//! [`TIMELINE_SECONDS`] of the scan, so that its memory stays bounded however long the scan
//! runs, and whatever times a session log claims.

use std::collections::VecDeque;

/// Seconds of scan time kept: a day (1.4 MB).
pub const TIMELINE_SECONDS: u64 = 86_400;

/// Answers and timeouts within one second of scan time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondBucket {
    pub answers: u32,
    pub timeouts: u32,
    pub unreachable: u32,
    pub local_errors: u32,
}

/// The per-second counts of the latest [`TIMELINE_SECONDS`] seconds up to the latest event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// The scan second of `buckets[0]`.
    first: u64,
    buckets: VecDeque<SecondBucket>,
}

impl Timeline {
    /// The counts of scan second `second`: `None` when it is after the latest event or was
    /// dropped from the front.
    pub fn get(&self, second: u64) -> Option<&SecondBucket> {
        let index = second.checked_sub(self.first)?;
        self.buckets.get(usize::try_from(index).ok()?)
    }

    /// Seconds from the start of the scan to the latest event's second, inclusive (0 before any
    /// event).
    pub fn seconds(&self) -> u64 {
        self.first + self.buckets.len() as u64
    }

    /// The first second still kept.
    pub fn first_second(&self) -> u64 {
        self.first
    }

    /// The bucket for scan time `t_us`, made on demand; `None` for a second older than the
    /// ones kept. A jump far ahead costs at most [`TIMELINE_SECONDS`] buckets.
    pub fn bucket_mut(&mut self, t_us: u64) -> Option<&mut SecondBucket> {
        let second = t_us / 1_000_000;
        if second < self.first {
            return None;
        }
        if second >= self.seconds() {
            let oldest_kept = (second + 1).saturating_sub(TIMELINE_SECONDS);
            if oldest_kept >= self.seconds() {
                self.buckets.clear();
                self.first = oldest_kept;
            } else if oldest_kept > self.first {
                self.buckets.drain(..(oldest_kept - self.first) as usize);
                self.first = oldest_kept;
            }
            let len = (second - self.first + 1) as usize;
            self.buckets.resize(len, SecondBucket::default());
        }
        self.buckets.get_mut((second - self.first) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn counts_land_in_their_second() {
        let mut t = Timeline::default();
        assert_eq!(t.seconds(), 0);
        t.bucket_mut(0).unwrap().answers += 1;
        t.bucket_mut(2 * S + 5).unwrap().timeouts += 1;
        t.bucket_mut(S - 1).unwrap().answers += 1;
        assert_eq!(t.seconds(), 3);
        assert_eq!(t.get(0).unwrap().answers, 2);
        assert_eq!(*t.get(1).unwrap(), SecondBucket::default());
        assert_eq!(t.get(2).unwrap().timeouts, 1);
        assert!(t.get(3).is_none());
    }

    #[test]
    fn only_the_latest_day_is_kept() {
        let mut t = Timeline::default();
        t.bucket_mut(0).unwrap().answers = 7;
        let last = TIMELINE_SECONDS + 9;
        t.bucket_mut(last * S).unwrap().answers = 1;
        assert_eq!(t.seconds(), last + 1);
        assert_eq!(t.first_second(), 10);
        assert!(t.get(0).is_none());
        assert!(t.bucket_mut(5 * S).is_none(), "older than the window");
        assert_eq!(t.get(last).unwrap().answers, 1);
        assert_eq!(t.buckets.len() as u64, TIMELINE_SECONDS);
    }

    #[test]
    fn a_time_far_ahead_costs_one_window_not_the_gap() {
        // Found by the session_log fuzz target: a probe line 142 years into the scan asked for
        // 71 GB of buckets.
        let mut t = Timeline::default();
        t.bucket_mut(S).unwrap().answers = 1;
        t.bucket_mut(u64::MAX).unwrap().answers = 2;
        assert_eq!(t.buckets.len() as u64, TIMELINE_SECONDS);
        assert_eq!(t.get(u64::MAX / S).unwrap().answers, 2);
        assert!(t.get(1).is_none());
    }
}
