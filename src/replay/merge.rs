//! Several session logs as one scan: the shards of one scan (same targets, ports split between
//! them) or scans run side by side, merged on their timestamps.
//!
//! Each log numbers its hosts from 0, so hosts are matched by address: the first log to start
//! an address gives it its id in the merged stream, and the host is done when every log that
//! started it is done. Event times are moved onto one clock, starting at the earliest log's
//! start. One log is passed through unchanged, so replaying it rebuilds exactly the live state.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::event::{FinishReason, HostId, ScanEvent};

/// One log's events, and when it started relative to the earliest log (µs).
#[derive(Debug, Clone)]
pub struct SessionEvents {
    pub start_offset_us: u64,
    pub events: Vec<ScanEvent>,
}

/// Merges the logs into one stream in time order.
pub fn merge(mut logs: Vec<SessionEvents>) -> Vec<ScanEvent> {
    if logs.len() == 1 && logs[0].start_offset_us == 0 {
        return logs.pop().map(|l| l.events).unwrap_or_default();
    }
    let mut merger = Merger::new(&logs);
    // Every timed event, tagged with its log, sorted by its time on the common clock (stable:
    // a log's own order is kept for equal times).
    let mut timed: Vec<(u64, usize, usize)> = Vec::new();
    for (li, log) in logs.iter().enumerate() {
        let mut last = 0;
        for (ei, event) in log.events.iter().enumerate() {
            last = event.time_us().unwrap_or(last).max(last);
            timed.push((last.saturating_add(log.start_offset_us), li, ei));
        }
    }
    timed.sort_by_key(|&(t, li, ei)| (t, li, ei));
    let mut out = Vec::with_capacity(timed.len() + 1);
    if let Some(started) = merger.started() {
        out.push(started);
    }
    for (_, li, ei) in timed {
        let offset = logs[li].start_offset_us;
        if let Some(event) = merger.event(li, offset, &logs[li].events[ei]) {
            out.push(event);
        }
    }
    out
}

/// What the merge keeps track of: each log's host ids, the merged ids by address, and which
/// logs are still running.
struct Merger {
    /// (log, host id in that log) → merged id.
    ids: HashMap<(usize, HostId), HostId>,
    by_addr: HashMap<IpAddr, HostId>,
    /// Per merged host: logs that started it and have not finished it.
    open: HashMap<HostId, u32>,
    next_id: HostId,
    /// The plan lines of each log.
    started: Vec<Option<ScanEvent>>,
    counted: Vec<Option<(u64, u64)>>,
    finished: Vec<Option<FinishReason>>,
}

impl Merger {
    fn new(logs: &[SessionEvents]) -> Self {
        let started = logs
            .iter()
            .map(|l| {
                l.events
                    .iter()
                    .find(|e| matches!(e, ScanEvent::Started { .. }))
                    .cloned()
            })
            .collect();
        Merger {
            ids: HashMap::new(),
            by_addr: HashMap::new(),
            open: HashMap::new(),
            next_id: 0,
            started,
            counted: vec![None; logs.len()],
            finished: vec![None; logs.len()],
        }
    }

    /// One `Started` for the whole: the first log's parameters and seed, every log's ports and
    /// probes added up, the largest host count.
    fn started(&self) -> Option<ScanEvent> {
        let mut merged: Option<ScanEvent> = None;
        for s in self.started.iter().flatten() {
            let ScanEvent::Started {
                hosts,
                ports_per_host,
                probes,
                ..
            } = s
            else {
                continue;
            };
            match &mut merged {
                None => merged = Some(s.clone()),
                Some(ScanEvent::Started {
                    hosts: h,
                    ports_per_host: p,
                    probes: n,
                    ..
                }) => {
                    *h = match (*h, *hosts) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    *p = p.saturating_add(*ports_per_host);
                    *n = match (*n, *probes) {
                        (Some(a), Some(b)) => Some(a.saturating_add(b)),
                        _ => None,
                    };
                }
                Some(_) => {}
            }
        }
        merged
    }

    /// The merged form of one event of log `li`, if it has one.
    fn event(&mut self, li: usize, offset: u64, event: &ScanEvent) -> Option<ScanEvent> {
        let shift = |t: u64| t.saturating_add(offset);
        Some(match event {
            ScanEvent::Started { .. } => return None,
            ScanEvent::PlanCounted { hosts, probes } => {
                self.counted[li] = Some((*hosts, *probes));
                let hosts = self.counted.iter().flatten().map(|c| c.0).max()?;
                let probes = self.counted.iter().flatten().map(|c| c.1).sum();
                ScanEvent::PlanCounted { hosts, probes }
            }
            ScanEvent::HostStarted {
                host,
                addr,
                name,
                t_us,
            } => {
                let (id, first) = match self.by_addr.get(addr) {
                    Some(&id) => (id, false),
                    None => {
                        let id = self.next_id;
                        self.next_id = self.next_id.wrapping_add(1);
                        self.by_addr.insert(*addr, id);
                        (id, true)
                    }
                };
                self.ids.insert((li, *host), id);
                *self.open.entry(id).or_insert(0) += 1;
                if !first {
                    return None;
                }
                ScanEvent::HostStarted {
                    host: id,
                    addr: *addr,
                    name: name.clone(),
                    t_us: shift(*t_us),
                }
            }
            ScanEvent::Probe(r) | ScanEvent::LocalError(r) | ScanEvent::Sentinel(r) => {
                let mut r = r.clone();
                r.host = self.id(li, r.host, r.addr);
                r.t_us = shift(r.t_us);
                match event {
                    ScanEvent::Probe(_) => ScanEvent::Probe(r),
                    ScanEvent::LocalError(_) => ScanEvent::LocalError(r),
                    _ => ScanEvent::Sentinel(r),
                }
            }
            ScanEvent::HostDone { host, t_us } => {
                let id = *self.ids.get(&(li, *host))?;
                let open = self.open.get_mut(&id)?;
                *open = open.saturating_sub(1);
                if *open > 0 {
                    return None;
                }
                ScanEvent::HostDone {
                    host: id,
                    t_us: shift(*t_us),
                }
            }
            ScanEvent::ParamsChanged { params, t_us } => ScanEvent::ParamsChanged {
                params: *params,
                t_us: shift(*t_us),
            },
            ScanEvent::Finished { reason, t_us } => {
                self.finished[li] = Some(*reason);
                if self.finished.iter().any(Option::is_none) {
                    return None;
                }
                let reason = if self
                    .finished
                    .iter()
                    .flatten()
                    .all(|r| *r == FinishReason::Completed)
                {
                    FinishReason::Completed
                } else {
                    *reason
                };
                ScanEvent::Finished {
                    reason,
                    t_us: shift(*t_us),
                }
            }
        })
    }

    /// The merged id of log `li`'s host `host` (one the log never started gets one by address).
    fn id(&mut self, li: usize, host: HostId, addr: IpAddr) -> HostId {
        if let Some(&id) = self.ids.get(&(li, host)) {
            return id;
        }
        let id = *self.by_addr.entry(addr).or_insert_with(|| {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            id
        });
        self.ids.insert((li, host), id);
        id
    }
}
