//! Bernoulli CUSUM: detects when a host's timeout probability rises above its own baseline.
//!
//! Page's cumulative-sum test (E. S. Page, "Continuous inspection schemes", Biometrika 41, 1954)
//! for a Bernoulli stream: each probe adds the log-likelihood ratio of "timeout probability is
//! `p1`" against "it is still the baseline `p0`"; the sum is floored at zero and signals a change
//! when it exceeds `h`. With `p0` = 2 % and `p1` = 90 %, a timeout adds ln(0.9/0.02) ≈ 3.8 and an
//! answer subtracts ln(0.98/0.1) ≈ 2.3, so a few consecutive timeouts after a run of answers
//! signal, while scattered losses never accumulate.

/// The lowest baseline timeout probability used (a host with no loss at all still gets one).
pub const MIN_BASELINE: f64 = 0.02;
/// The highest baseline for which a change is still detectable.
pub const MAX_BASELINE: f64 = 0.8;

/// A running Bernoulli CUSUM.
#[derive(Debug, Clone, PartialEq)]
pub struct BernoulliCusum {
    up: f64,
    down: f64,
    threshold: f64,
    sum: f64,
}

impl BernoulliCusum {
    /// A test for a rise of the event probability from `p0` to `p1`, signalling above `threshold`.
    /// `p0` is clamped to [`MIN_BASELINE`]..=[`MAX_BASELINE`]; `p1` must exceed it.
    pub fn new(p0: f64, p1: f64, threshold: f64) -> Self {
        let p0 = p0.clamp(MIN_BASELINE, MAX_BASELINE);
        let p1 = p1.clamp(p0 + 0.01, 0.999);
        BernoulliCusum {
            up: (p1 / p0).ln(),
            down: ((1.0 - p1) / (1.0 - p0)).ln(),
            threshold,
            sum: 0.0,
        }
    }

    /// Adds one observation (`true`: the event, a timeout). Returns true when the sum is above
    /// the threshold. The sum is capped at twice the threshold, so that once the events stop a
    /// handful of normal observations bring it back to zero.
    pub fn observe(&mut self, event: bool) -> bool {
        let next = self.sum + if event { self.up } else { self.down };
        self.sum = next.clamp(0.0, 2.0 * self.threshold);
        self.signalled()
    }

    pub fn signalled(&self) -> bool {
        self.sum > self.threshold
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Starts over (after a change was acted on).
    pub fn reset(&mut self) {
        self.sum = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_signal(
        c: &mut BernoulliCusum,
        stream: impl IntoIterator<Item = bool>,
    ) -> Option<usize> {
        stream.into_iter().position(|x| c.observe(x))
    }

    #[test]
    fn signals_a_few_timeouts_after_the_host_goes_silent() {
        let mut c = BernoulliCusum::new(0.0, 0.9, 10.0);
        let answers = std::iter::repeat_n(false, 200);
        assert_eq!(first_signal(&mut c, answers), None);
        let at = first_signal(&mut c, std::iter::repeat_n(true, 20)).unwrap();
        assert_eq!(at, 2, "the third consecutive timeout signals");
    }

    #[test]
    fn light_random_loss_never_signals() {
        // 5 % loss spread evenly, against a baseline of 5 %.
        let mut c = BernoulliCusum::new(0.05, 0.9, 10.0);
        let stream = (0..100_000).map(|i| i % 20 == 0);
        assert_eq!(first_signal(&mut c, stream), None);
    }

    #[test]
    fn a_mostly_filtered_host_needs_more_evidence() {
        // Baseline 70 % timeouts: a move to all timeouts takes longer to be sure of.
        let mut c = BernoulliCusum::new(0.7, 0.95, 10.0);
        let at = first_signal(&mut c, std::iter::repeat_n(true, 100)).unwrap();
        assert!(at > 20, "{at}");
    }

    #[test]
    fn a_long_silence_clears_after_a_few_answers() {
        let mut c = BernoulliCusum::new(0.02, 0.9, 10.0);
        for _ in 0..5000 {
            c.observe(true);
        }
        assert_eq!(c.sum(), 20.0, "capped at twice the threshold");
        let answers_to_clear = (0..100).position(|_| {
            c.observe(false);
            c.sum() == 0.0
        });
        assert_eq!(answers_to_clear, Some(8));
    }

    #[test]
    fn reset_starts_over() {
        let mut c = BernoulliCusum::new(0.02, 0.9, 10.0);
        assert!(first_signal(&mut c, std::iter::repeat_n(true, 10)).is_some());
        c.reset();
        assert_eq!(c.sum(), 0.0);
        assert!(!c.signalled());
    }
}
