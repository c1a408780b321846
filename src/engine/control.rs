//! `EngineControl`: changes the pace of a running scan (what the TUI's keys drive).
//!
//! Every setter publishes new `ScanParams` on a watch channel; the engine picks them up at its
//! next dispatch decision, records a `ParamsChanged` event, and applies them to the live scan:
//! a lowered concurrency is honoured as soon as in-flight probes drain below it, a new timeout
//! applies to every probe attempt started afterwards, and pause stops new probes at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use std::net::IpAddr;

use crate::event::{HostId, ScanParams};

/// A request to re-probe a port a host answered on before (see `EngineControl::sentinel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentinelRequest {
    pub host: HostId,
    pub addr: IpAddr,
    pub port: u16,
}

/// Bounds the control enforces on every change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlLimits {
    /// The most probes in flight the process can hold (from the open-file limit).
    pub max_concurrency: u32,
    pub min_timeout: Duration,
    pub max_timeout: Duration,
}

impl Default for ControlLimits {
    fn default() -> Self {
        ControlLimits {
            max_concurrency: 100_000,
            min_timeout: Duration::from_millis(1),
            max_timeout: Duration::from_secs(600),
        }
    }
}

/// A cloneable handle that steers one running scan.
#[derive(Debug, Clone)]
pub struct EngineControl {
    params: Arc<watch::Sender<ScanParams>>,
    sentinels: mpsc::UnboundedSender<SentinelRequest>,
    stop: CancellationToken,
    limits: ControlLimits,
    held: Arc<watch::Sender<bool>>,
    seen: Arc<watch::Sender<Option<u64>>>,
}

/// The engine's side of the control channel.
pub(crate) struct ControlReceiver {
    pub params: watch::Receiver<ScanParams>,
    pub sentinels: mpsc::UnboundedReceiver<SentinelRequest>,
    pub stop: CancellationToken,
    pub held: watch::Receiver<bool>,
    /// Events the consumer has folded (`None` until it first says so).
    pub seen: watch::Receiver<Option<u64>>,
}

impl EngineControl {
    pub(crate) fn new(initial: ScanParams, limits: ControlLimits) -> (Self, ControlReceiver) {
        let initial = clamp(initial, limits);
        let (tx, rx) = watch::channel(initial);
        let (sentinel_tx, sentinel_rx) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (held_tx, held_rx) = watch::channel(false);
        let (seen_tx, seen_rx) = watch::channel(None);
        let control = EngineControl {
            params: Arc::new(tx),
            sentinels: sentinel_tx,
            stop: stop.clone(),
            limits,
            held: Arc::new(held_tx),
            seen: Arc::new(seen_tx),
        };
        let receiver = ControlReceiver {
            params: rx,
            sentinels: sentinel_rx,
            stop,
            held: held_rx,
            seen: seen_rx,
        };
        (control, receiver)
    }

    /// The parameters as last set.
    pub fn params(&self) -> ScanParams {
        *self.params.borrow()
    }

    pub fn limits(&self) -> ControlLimits {
        self.limits
    }

    /// Sets the global cap on probes in flight (at least 1, at most what the fd limit allows).
    pub fn set_concurrency(&self, n: u32) -> ScanParams {
        self.update(|p| p.concurrency = n)
    }

    /// Sets the cap on probes in flight to one host.
    pub fn set_max_per_host(&self, n: u32) -> ScanParams {
        self.update(|p| p.max_per_host = n)
    }

    /// Sets the connect timeout for attempts started from now on.
    pub fn set_timeout(&self, timeout: Duration) -> ScanParams {
        self.update(|p| p.timeout = timeout)
    }

    /// Sets the retries after a timeout for probes started from now on.
    pub fn set_retries(&self, retries: u32) -> ScanParams {
        self.update(|p| p.retries = retries)
    }

    /// Sets the probes-per-second cap (`None`: unlimited).
    pub fn set_rate(&self, rate: Option<f64>) -> ScanParams {
        self.update(|p| p.rate = rate)
    }

    /// Sets the cap on probes in flight and the probes-per-second cap together, as one change
    /// (one `ParamsChanged`): what auto-throttling does.
    pub fn set_pace(&self, concurrency: u32, rate: Option<f64>) -> ScanParams {
        self.update(|p| {
            p.concurrency = concurrency;
            p.rate = rate;
        })
    }

    /// Stops sending new probes; probes in flight finish.
    pub fn pause(&self) -> ScanParams {
        self.update(|p| p.paused = true)
    }

    pub fn resume(&self) -> ScanParams {
        self.update(|p| p.paused = false)
    }

    /// Re-probes `port` of a host once, outside the plan and its limits, and reports the result
    /// as `ScanEvent::Sentinel`: the detector's way to ask "does this host still answer on a port
    /// it answered on before?". Ignored once the scan has ended.
    pub fn sentinel(&self, request: SentinelRequest) {
        let _ = self.sentinels.send(request);
    }

    /// Ends the scan: no new probes; probes in flight are abandoned.
    /// Asks for a sentinel re-probe `delay` from now (a re-check's cool-down). Needs a tokio
    /// runtime; the scan should be held open (`hold`) if its plan may end before then.
    pub fn sentinel_after(&self, request: SentinelRequest, delay: Duration) {
        if delay.is_zero() {
            self.sentinel(request);
            return;
        }
        let sentinels = self.sentinels.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = sentinels.send(request);
        });
    }

    /// Keeps the scan open after its plan is done, for re-probes still to come (a re-check's
    /// cool-down), until `release`. Stopping ends it whatever the hold.
    pub fn hold(&self) {
        self.held.send_replace(true);
    }

    /// Tells the engine that the consumer has folded the first `events` events of the scan and
    /// sent the re-probes they asked for (`Monitor::forward_requests` does). From the first
    /// call on, a scan whose plan is done finishes only once the consumer has caught up and
    /// every re-probe it asked for has been answered, so that the sentinels the last events
    /// ask for (a ban that starts near the end of the plan) are still sent.
    pub fn caught_up(&self, events: u64) {
        self.seen.send_if_modified(|seen| {
            let changed = *seen != Some(events);
            *seen = Some(events);
            changed
        });
    }

    /// Lets a held scan finish once its plan and re-probes are done.
    pub fn release(&self) {
        self.held.send_replace(false);
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    fn update(&self, change: impl FnOnce(&mut ScanParams)) -> ScanParams {
        let limits = self.limits;
        let mut result = self.params();
        self.params.send_if_modified(|p| {
            let before = *p;
            change(p);
            *p = clamp(*p, limits);
            result = *p;
            *p != before
        });
        result
    }
}

fn clamp(mut p: ScanParams, limits: ControlLimits) -> ScanParams {
    p.concurrency = p.concurrency.clamp(1, limits.max_concurrency.max(1));
    p.max_per_host = p.max_per_host.max(1);
    p.timeout = p.timeout.clamp(limits.min_timeout, limits.max_timeout);
    p.rate = p.rate.filter(|r| r.is_finite() && *r > 0.0);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ScanParams {
        ScanParams {
            concurrency: 100,
            max_per_host: 10,
            timeout: Duration::from_secs(1),
            retries: 1,
            rate: None,
            paused: false,
        }
    }

    #[test]
    fn setters_clamp_and_publish() {
        let limits = ControlLimits {
            max_concurrency: 500,
            ..ControlLimits::default()
        };
        let (control, rx) = EngineControl::new(params(), limits);
        assert_eq!(control.set_concurrency(0).concurrency, 1);
        assert_eq!(control.set_concurrency(10_000).concurrency, 500);
        assert_eq!(control.set_rate(Some(-3.0)).rate, None);
        assert_eq!(control.set_rate(Some(50.0)).rate, Some(50.0));
        let paced = control.set_pace(0, Some(25.0));
        assert_eq!((paced.concurrency, paced.rate), (1, Some(25.0)));
        assert!(control.pause().paused);
        assert_eq!(*rx.params.borrow(), control.params());
        assert!(!control.resume().paused);
        control.stop();
        assert!(rx.stop.is_cancelled());
    }
}
