//! The `Monitor`: the only place `ScanEvent`s are folded into `ScanState`.
//!
//! Live scans, headless scans, the demo and replays all feed their events through here, so a
//! replayed session rebuilds exactly the state the live run had.

use crate::detector::{AlarmThresholds, Detector};
use crate::engine::SentinelRequest;
use crate::event::{FilterReason, ProbeOutcome, ProbeRecord, ScanEvent};
use crate::state::{HostState, MAX_CONNECT_US, PlanInfo, SILENT_HOST_SAMPLE, ScanState};

/// Folds events into a `ScanState`, and feeds the `Detector` with every one.
#[derive(Debug)]
pub struct Monitor {
    state: ScanState,
    /// `None` only to measure what the detector costs.
    detector: Option<Detector>,
    alarms_version: u64,
    /// Events folded so far (reported to the engine by `forward_requests`).
    applied: u64,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor::new()
    }
}

impl Monitor {
    pub fn new() -> Self {
        Monitor::with_thresholds(AlarmThresholds::default())
    }

    pub fn with_thresholds(thresholds: AlarmThresholds) -> Self {
        Monitor {
            state: ScanState::default(),
            detector: Some(Detector::new(thresholds)),
            alarms_version: 0,
            applied: 0,
        }
    }

    /// A Monitor that folds state but detects nothing: the baseline the detector's cost is
    /// measured against (`cargo bench --bench detector`).
    pub fn without_detector() -> Self {
        Monitor {
            state: ScanState::default(),
            detector: None,
            alarms_version: 0,
            applied: 0,
        }
    }

    /// A Monitor with the detector's `thresholds`, and a re-check's `recheck` when the scan is
    /// one: what the live loops, a replay and a session log's reader all start from.
    pub fn for_scan(
        thresholds: AlarmThresholds,
        recheck: Option<crate::recheck::Rechecker>,
    ) -> Self {
        let monitor = Monitor::with_thresholds(thresholds);
        match recheck {
            Some(r) => monitor.with_recheck(r),
            None => monitor,
        }
    }

    /// Makes this scan a re-check of a baseline: every event is fed to `rechecker` too, its
    /// verdicts are in the state, and its RECHECK alarms join the detector's.
    pub fn with_recheck(mut self, rechecker: crate::recheck::Rechecker) -> Self {
        self.state.recheck = Some(rechecker);
        self
    }

    /// Sentinel re-probes the detector (and a re-check) want sent (live scans pass them to
    /// `EngineControl`).
    pub fn take_sentinel_requests(&mut self) -> Vec<SentinelRequest> {
        let mut requests = self
            .detector
            .as_mut()
            .map(Detector::take_sentinel_requests)
            .unwrap_or_default();
        if let Some(recheck) = &mut self.state.recheck {
            requests.extend(recheck.take_requests());
        }
        requests
    }

    /// Re-probes a re-check wants after a delay (µs): pass them to
    /// `EngineControl::sentinel_after`.
    pub fn take_delayed_requests(&mut self) -> Vec<(SentinelRequest, u64)> {
        self.state
            .recheck
            .as_mut()
            .map(crate::recheck::Rechecker::take_delayed_requests)
            .unwrap_or_default()
    }

    /// Folds one event of a recorded run (a session log, a replay): the re-probes the detector
    /// or a re-check would ask for are dropped, the live run sent them and their answers are
    /// among the recorded events.
    pub fn apply_recorded(&mut self, event: &ScanEvent) {
        self.apply(event);
        drop(self.take_sentinel_requests());
        drop(self.take_delayed_requests());
    }

    /// Sends the re-probes the detector and a re-check want through `control` (the delayed ones
    /// after their delay), lets a re-check's held scan finish once every baseline port has its
    /// verdict, and tells the engine how far the folding has got (`EngineControl::caught_up`),
    /// so that a scan does not finish before the re-probes its last events call for are sent.
    pub fn forward_requests(&mut self, control: &crate::engine::EngineControl) {
        for request in self.take_sentinel_requests() {
            control.sentinel(request);
        }
        for (request, delay_us) in self.take_delayed_requests() {
            control.sentinel_after(request, std::time::Duration::from_micros(delay_us));
        }
        if self
            .state
            .recheck
            .as_ref()
            .is_some_and(crate::recheck::Rechecker::all_decided)
        {
            control.release();
        }
        control.caught_up(self.applied);
    }

    pub fn state(&self) -> &ScanState {
        &self.state
    }

    pub fn into_state(self) -> ScanState {
        self.state
    }

    /// Folds one event.
    pub fn apply(&mut self, event: &ScanEvent) {
        self.applied += 1;
        let recheck_alarms = match &mut self.state.recheck {
            Some(recheck) => {
                let before = recheck.alarms().len();
                recheck.observe(event);
                recheck.alarms().len() != before
            }
            None => false,
        };
        if let Some(detector) = &mut self.detector {
            detector.observe(event);
            if detector.version() != self.alarms_version || recheck_alarms {
                self.alarms_version = detector.version();
                let known = self.state.alarms.len();
                let mut alarms = detector.alarms().to_vec();
                if let Some(recheck) = &self.state.recheck {
                    alarms.extend(recheck.alarms().iter().cloned());
                    // In the order raised (the detector's own are already).
                    alarms.sort_by_key(|a| a.raised_us);
                }
                self.state.alarms = alarms;
                for alarm in &self.state.alarms[known.min(self.state.alarms.len())..] {
                    tracing::info!(alarm = %alarm.line(), "alarm raised");
                }
            }
        }
        let s = &mut self.state;
        match event {
            ScanEvent::Started {
                hosts,
                ports_per_host,
                probes,
                params,
                seed,
            } => {
                s.plan = Some(PlanInfo {
                    hosts: *hosts,
                    ports_per_host: *ports_per_host,
                    probes: *probes,
                    seed: *seed,
                    initial: *params,
                });
                s.params = Some(*params);
            }
            ScanEvent::PlanCounted { hosts, probes } => {
                if let Some(plan) = &mut s.plan {
                    plan.hosts = Some(*hosts);
                    plan.probes = Some(*probes);
                }
            }
            ScanEvent::HostStarted {
                host,
                addr,
                name,
                t_us,
            } => {
                s.now_us = s.now_us.max(*t_us);
                s.hosts_started += 1;
                s.hosts
                    .insert(*host, HostState::new(*host, *addr, name.clone(), *t_us));
            }
            ScanEvent::Probe(record) => self.fold_probe(record),
            ScanEvent::Sentinel(r) => {
                s.now_us = s.now_us.max(r.t_us);
                if let Some(h) = s.hosts.get_mut(&r.host) {
                    h.sentinels += 1;
                    if r.outcome == ProbeOutcome::Filtered(FilterReason::NoResponse) {
                        h.sentinels_silent += 1;
                    }
                }
            }
            ScanEvent::LocalError(record) => {
                s.now_us = s.now_us.max(record.t_us);
                s.local_errors += 1;
                if let Some(bucket) = s.bucket_mut(record.t_us) {
                    bucket.local_errors += 1;
                }
            }
            ScanEvent::HostDone { host, t_us } => {
                s.now_us = s.now_us.max(*t_us);
                s.hosts_done += 1;
                let silent = match s.hosts.get_mut(host) {
                    Some(h) => {
                        h.done = true;
                        !h.is_up()
                    }
                    None => false,
                };
                if silent && let Some(h) = s.hosts.remove(host) {
                    s.silent_hosts += 1;
                    if s.silent_sample.len() < SILENT_HOST_SAMPLE {
                        s.silent_sample.push(h.addr);
                    }
                }
            }
            ScanEvent::ParamsChanged { params, t_us } => {
                tracing::info!(t_us, ?params, "parameters changed");
                s.now_us = s.now_us.max(*t_us);
                s.params = Some(*params);
                s.param_changes.push((*t_us, *params));
            }
            ScanEvent::Finished { reason, t_us } => {
                s.now_us = s.now_us.max(*t_us);
                s.finished = Some((*reason, *t_us));
            }
        }
    }

    fn fold_probe(&mut self, r: &ProbeRecord) {
        let s = &mut self.state;
        s.now_us = s.now_us.max(r.t_us);
        s.totals.add(r.outcome);
        if let Some(bucket) = s.bucket_mut(r.t_us) {
            match r.outcome {
                ProbeOutcome::Open | ProbeOutcome::Closed => bucket.answers += 1,
                ProbeOutcome::Filtered(FilterReason::NoResponse) => bucket.timeouts += 1,
                ProbeOutcome::Filtered(_) => bucket.unreachable += 1,
                ProbeOutcome::LocalError(_) => {}
            }
        }
        let host = s
            .hosts
            .entry(r.host)
            .or_insert_with(|| HostState::new(r.host, r.addr, None, r.t_us));
        host.counts.add(r.outcome);
        if r.outcome == ProbeOutcome::Filtered(FilterReason::NoResponse)
            && self.detector.as_ref().is_some_and(|d| d.is_suspect(r.host))
        {
            host.suspect += 1;
            s.suspect += 1;
        }
        if r.outcome.is_answer() {
            let us = r.connect_us.clamp(1, MAX_CONNECT_US);
            host.last_answer_us = Some(r.t_us);
            // Saturation only clamps; recording into an auto-resizing histogram cannot fail.
            let _ = host.latency.record(us);
            let _ = s.latency.record(us);
        }
        if r.outcome == ProbeOutcome::Open {
            host.open_ports.push(crate::state::OpenPort {
                port: r.port,
                connect_us: r.connect_us,
                attempt: r.attempt,
                after_connect: r.after_connect.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use super::*;
    use crate::event::{AfterConnect, FilterReason, FinishReason, ScanParams};

    fn record(host: u32, port: u16, outcome: ProbeOutcome, t_us: u64) -> ScanEvent {
        ScanEvent::Probe(ProbeRecord {
            host,
            addr: IpAddr::V4(Ipv4Addr::from(0x7f00_0001 + host)),
            port,
            outcome,
            connect_us: 120,
            attempt: 1,
            seq: u64::from(port),
            t_us,
            after_connect: AfterConnect::NotRead,
        })
    }

    fn started(host: u32) -> ScanEvent {
        ScanEvent::HostStarted {
            host,
            addr: IpAddr::V4(Ipv4Addr::from(0x7f00_0001 + host)),
            name: None,
            t_us: 0,
        }
    }

    #[test]
    fn folds_outcomes_and_drops_silent_hosts() {
        let mut m = Monitor::new();
        m.apply(&ScanEvent::Started {
            hosts: Some(2),
            ports_per_host: 3,
            probes: Some(6),
            params: ScanParams {
                concurrency: 10,
                max_per_host: 5,
                timeout: Duration::from_secs(1),
                retries: 1,
                rate: None,
                paused: false,
            },
            seed: 1,
        });
        m.apply(&started(0));
        m.apply(&started(1));
        m.apply(&record(0, 22, ProbeOutcome::Open, 10));
        m.apply(&record(0, 23, ProbeOutcome::Closed, 20));
        m.apply(&record(
            0,
            24,
            ProbeOutcome::Filtered(FilterReason::NoResponse),
            1_500_000,
        ));
        for port in [22, 23, 24] {
            m.apply(&record(
                1,
                port,
                ProbeOutcome::Filtered(FilterReason::NoResponse),
                1_000_000,
            ));
        }
        m.apply(&ScanEvent::HostDone {
            host: 0,
            t_us: 1_500_000,
        });
        m.apply(&ScanEvent::HostDone {
            host: 1,
            t_us: 1_500_000,
        });
        m.apply(&ScanEvent::Finished {
            reason: FinishReason::Completed,
            t_us: 1_600_000,
        });
        let s = m.state();
        assert_eq!(s.probes_done(), 6);
        assert_eq!(s.probes_total(), Some(6));
        assert_eq!(s.totals.open, 1);
        assert_eq!(s.totals.closed, 1);
        assert_eq!(s.totals.timed_out, 4);
        assert_eq!(s.hosts.len(), 1, "the silent host is reduced to a counter");
        assert_eq!(s.silent_hosts, 1);
        assert_eq!(s.up_hosts()[0].open_ports[0].port, 22);
        assert_eq!(s.timeline.seconds(), 2);
        assert_eq!(s.timeline.get(0).unwrap().answers, 2);
        assert_eq!(s.timeline.get(1).unwrap().timeouts, 4);
        assert_eq!(s.latency.len(), 2);
        assert_eq!(s.finished, Some((FinishReason::Completed, 1_600_000)));
    }

    #[test]
    fn memory_grows_with_responsive_hosts_not_with_probes() {
        let mut m = Monitor::new();
        let silent_hosts = (SILENT_HOST_SAMPLE + 500) as u32;
        for host in 0..silent_hosts {
            m.apply(&ScanEvent::HostStarted {
                host,
                addr: IpAddr::V4(Ipv4Addr::from(0x7f01_0000 + host)),
                name: None,
                t_us: 0,
            });
            for port in 0..20 {
                m.apply(&record(
                    host,
                    port,
                    ProbeOutcome::Filtered(FilterReason::NoResponse),
                    5,
                ));
            }
            m.apply(&ScanEvent::HostDone { host, t_us: 5 });
        }
        // One responsive host with many closed ports and two open ones.
        m.apply(&started(0));
        for port in 1..=50_000 {
            let outcome = if port % 25_000 == 0 {
                ProbeOutcome::Open
            } else {
                ProbeOutcome::Closed
            };
            m.apply(&record(0, port, outcome, 6));
        }
        let s = m.state();
        assert_eq!(s.probes_done(), u64::from(silent_hosts) * 20 + 50_000);
        assert_eq!(s.hosts.len(), 1, "silent hosts are reduced to a counter");
        assert_eq!(s.silent_hosts, u64::from(silent_hosts));
        assert_eq!(
            s.silent_sample.len(),
            SILENT_HOST_SAMPLE,
            "the address sample is capped"
        );
        assert_eq!(
            s.hosts[&0].open_ports.len(),
            2,
            "closed ports are counted, not listed"
        );
        assert_eq!(s.hosts[&0].counts.closed, 49_998);
    }
}
