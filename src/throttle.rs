//! Automatic throttling (`--auto-throttle`): when the detector raises a RATE or QOS alarm, the
//! scan slows down by itself.
//!
//! The rule, applied once per alarm raised: halve the concurrency, never below 1, and halve the
//! rate limit when one is set, never below [`MIN_RATE`] probes per second. A scan without a rate
//! limit keeps none: its pace is set by its concurrency (probes in flight over the time each
//! takes), so halving the concurrency already halves it.
//!
//! [`decide`] is a pure function of the alarm and the parameters in force; the views apply what
//! it returns through `EngineControl::set_pace` and announce it with [`describe`].

use crate::detector::{Alarm, AlarmKind};
use crate::event::ScanParams;

/// Lowest rate limit auto-throttling sets, in probes per second.
pub const MIN_RATE: f64 = 1.0;

/// Whether an alarm of `kind` slows the scan down: the network drops or delays probes because
/// of their pace (RATE: a WAF or rate limit; QOS: throttling or congestion).
pub fn throttles(kind: AlarmKind) -> bool {
    matches!(kind, AlarmKind::Rate | AlarmKind::Qos)
}

/// The pace after `alarm` was raised while `current` was in force; `None` when the alarm does
/// not call for a slower pace, or the pace is already as low as auto-throttling goes.
pub fn decide(alarm: &Alarm, current: ScanParams) -> Option<ScanParams> {
    if !throttles(alarm.kind) {
        return None;
    }
    let next = ScanParams {
        concurrency: (current.concurrency / 2).max(1),
        rate: current.rate.map(halve_rate),
        ..current
    };
    (next != current).then_some(next)
}

/// Half of `rate`, not below [`MIN_RATE`]; a rate already below it is kept.
fn halve_rate(rate: f64) -> f64 {
    if rate > MIN_RATE {
        (rate / 2.0).max(MIN_RATE)
    } else {
        rate
    }
}

/// `concurrency 200 → 100, rate 100/s → 50/s (RATE on 127.0.2.10)`: what changed and why.
pub fn describe(alarm: &Alarm, from: &ScanParams, to: &ScanParams) -> String {
    let mut changes = Vec::new();
    if from.concurrency != to.concurrency {
        changes.push(format!(
            "concurrency {} → {}",
            from.concurrency, to.concurrency
        ));
    }
    if from.rate != to.rate {
        changes.push(format!(
            "rate {} → {}",
            rate_text(from.rate),
            rate_text(to.rate)
        ));
    }
    if changes.is_empty() {
        changes.push("no change".to_string());
    }
    format!(
        "{} ({} on {})",
        changes.join(", "),
        alarm.kind.as_str(),
        alarm.scope
    )
}

fn rate_text(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{}/s", (r * 100.0).round() / 100.0),
        None => "unlimited".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::detector::Scope;

    fn alarm(kind: AlarmKind) -> Alarm {
        Alarm {
            kind,
            scope: Scope::Host {
                addr: "127.0.2.10".parse().unwrap(),
            },
            since_us: 1_000_000,
            raised_us: 2_000_000,
            cleared_us: None,
            evidence: String::new(),
        }
    }

    fn params(concurrency: u32, rate: Option<f64>) -> ScanParams {
        ScanParams {
            concurrency,
            max_per_host: 512,
            timeout: Duration::from_millis(1500),
            retries: 1,
            rate,
            paused: false,
        }
    }

    #[test]
    fn rate_and_qos_halve_the_concurrency() {
        for kind in [AlarmKind::Rate, AlarmKind::Qos] {
            let next = decide(&alarm(kind), params(200, None)).unwrap();
            assert_eq!(
                next,
                params(100, None),
                "{kind:?}: no rate limit is invented"
            );
        }
        assert_eq!(
            decide(&alarm(AlarmKind::Rate), params(101, None)),
            Some(params(50, None))
        );
    }

    #[test]
    fn a_rate_limit_is_halved_too() {
        let next = decide(&alarm(AlarmKind::Rate), params(100, Some(100.0))).unwrap();
        assert_eq!(next, params(50, Some(50.0)));
        let next = decide(&alarm(AlarmKind::Qos), params(1, Some(3.0))).unwrap();
        assert_eq!(next, params(1, Some(1.5)));
    }

    #[test]
    fn never_below_one() {
        assert_eq!(
            decide(&alarm(AlarmKind::Rate), params(3, Some(1.5))),
            Some(params(1, Some(MIN_RATE)))
        );
        assert_eq!(
            decide(&alarm(AlarmKind::Rate), params(1, Some(MIN_RATE))),
            None
        );
        assert_eq!(decide(&alarm(AlarmKind::Rate), params(1, None)), None);
        assert_eq!(
            decide(&alarm(AlarmKind::Rate), params(2, Some(0.5))),
            Some(params(1, Some(0.5))),
            "a rate already below the floor is kept"
        );
    }

    #[test]
    fn other_alarms_change_nothing() {
        for kind in [
            AlarmKind::Shun,
            AlarmKind::Range,
            AlarmKind::Lost,
            AlarmKind::Deception,
            AlarmKind::RstLimit,
            AlarmKind::Recheck,
            AlarmKind::Local,
        ] {
            assert!(!throttles(kind), "{kind:?}");
            assert_eq!(decide(&alarm(kind), params(200, Some(100.0))), None);
        }
    }

    #[test]
    fn only_concurrency_and_rate_change() {
        let current = ScanParams {
            max_per_host: 7,
            timeout: Duration::from_secs(3),
            retries: 2,
            paused: true,
            ..params(64, Some(40.0))
        };
        let next = decide(&alarm(AlarmKind::Rate), current).unwrap();
        assert_eq!(
            next,
            ScanParams {
                concurrency: 32,
                rate: Some(20.0),
                ..current
            }
        );
    }

    #[test]
    fn the_description_names_the_changes_and_the_alarm() {
        let a = alarm(AlarmKind::Rate);
        assert_eq!(
            describe(&a, &params(200, None), &params(100, None)),
            "concurrency 200 → 100 (RATE on 127.0.2.10)"
        );
        assert_eq!(
            describe(&a, &params(1, Some(12.5)), &params(1, Some(6.25))),
            "rate 12.5/s → 6.25/s (RATE on 127.0.2.10)"
        );
        assert_eq!(
            describe(&a, &params(100, Some(100.0)), &params(50, Some(50.0))),
            "concurrency 100 → 50, rate 100/s → 50/s (RATE on 127.0.2.10)"
        );
    }
}
