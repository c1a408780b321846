//! Several session logs as one scan: the shards of one scan (same targets, ports split between
//! them) or scans run side by side, merged on their timestamps.
//!
//! Each log numbers its hosts from 0, so hosts are matched by address: the first log to start
//! an address gives it its id in the merged stream, and the host is done when every log that
//! started it is done. Event times are moved onto one clock, starting at the earliest log's
//! start. One log is passed through unchanged, so replaying it rebuilds exactly the live state.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::event::{FinishReason, HostId, ScanEvent};

/// One log's events, and when it started relative to the earliest log (µs).
#[derive(Debug, Clone)]
pub struct SessionEvents {
    pub start_offset_us: u64,
    pub events: Vec<ScanEvent>,
}

/// Merges the logs into one stream in time order.
pub fn merge(logs: Vec<SessionEvents>) -> Vec<ScanEvent> {
    let sources = logs
        .into_iter()
        .map(|log| {
            let events = log
                .events
                .into_iter()
                .map(Ok::<_, std::convert::Infallible>);
            (log.start_offset_us, events)
        })
        .collect();
    MergeStream::new(sources)
        .map(|event| match event {
            Ok(event) => event,
            Err(never) => match never {},
        })
        .collect()
}

/// The merge of logs read lazily, one event ahead per log, so that logs of any length merge
/// in constant memory: the same events in the same order as [`merge`]. Each source is a log's
/// start offset (µs after the earliest log's start) and its events, in the log's order; the
/// first error a source yields ends the stream.
pub struct MergeStream<I> {
    sources: Vec<Source<I>>,
    /// `None` when there is a single log at offset 0, which passes through unchanged.
    merger: Option<Merger>,
    /// The merged `Started`, given out first.
    started: Option<ScanEvent>,
    failed: bool,
}

/// One log in a [`MergeStream`]: its events, and the next one with its time on the common
/// clock.
struct Source<I> {
    events: I,
    offset: u64,
    /// Latest event time seen (plan lines take the time of the event before them).
    last: u64,
    /// Events read ahead (the ones before and including its `Started`), oldest first.
    ahead: VecDeque<ScanEvent>,
    done: bool,
}

impl<I, E> Source<I>
where
    I: Iterator<Item = Result<ScanEvent, E>>,
{
    /// Reads events ahead until its `Started` (the first event of every log) or its end.
    fn read_to_started(&mut self) -> Result<Option<ScanEvent>, E> {
        while !self.done {
            match self.events.next() {
                Some(event) => {
                    let event = event?;
                    let started = matches!(event, ScanEvent::Started { .. }).then(|| event.clone());
                    self.ahead.push_back(event);
                    if started.is_some() {
                        return Ok(started);
                    }
                }
                None => self.done = true,
            }
        }
        Ok(None)
    }

    /// The next event, without taking it.
    fn peek(&mut self) -> Result<Option<&ScanEvent>, E> {
        if self.ahead.is_empty() && !self.done {
            match self.events.next() {
                Some(event) => self.ahead.push_back(event?),
                None => self.done = true,
            }
        }
        Ok(self.ahead.front())
    }

    /// The time on the common clock of the next event (call after `peek` found one).
    fn next_time(&self) -> u64 {
        let event = self.ahead.front().expect("peeked");
        let t = event.time_us().unwrap_or(self.last).max(self.last);
        t.saturating_add(self.offset)
    }

    fn take(&mut self) -> Option<ScanEvent> {
        let event = self.ahead.pop_front()?;
        self.last = event.time_us().unwrap_or(self.last).max(self.last);
        Some(event)
    }
}

impl<I, E> MergeStream<I>
where
    I: Iterator<Item = Result<ScanEvent, E>>,
{
    pub fn new(sources: Vec<(u64, I)>) -> Self {
        let single = sources.len() == 1 && sources[0].0 == 0;
        let sources: Vec<Source<I>> = sources
            .into_iter()
            .map(|(offset, events)| Source {
                events,
                offset,
                last: 0,
                ahead: VecDeque::new(),
                done: false,
            })
            .collect();
        MergeStream {
            merger: (!single).then(|| Merger::new(sources.len())),
            sources,
            started: None,
            failed: false,
        }
    }

    /// Reads every log up to its `Started`, and makes the merged one.
    fn start(&mut self) -> Result<(), E> {
        let Some(merger) = &mut self.merger else {
            return Ok(());
        };
        if merger.started.iter().any(Option::is_some) || self.sources.is_empty() {
            return Ok(());
        }
        for (li, source) in self.sources.iter_mut().enumerate() {
            merger.started[li] = source.read_to_started()?;
        }
        self.started = merger.started();
        Ok(())
    }

    /// The next merged event: the earliest next event of any log (the lower log index first
    /// at equal times), in its merged form.
    fn next_merged(&mut self) -> Result<Option<ScanEvent>, E> {
        self.start()?;
        if let Some(started) = self.started.take() {
            return Ok(Some(started));
        }
        loop {
            let mut earliest: Option<(u64, usize)> = None;
            for (li, source) in self.sources.iter_mut().enumerate() {
                if source.peek()?.is_some() {
                    let t = source.next_time();
                    if earliest.is_none_or(|(best, _)| t < best) {
                        earliest = Some((t, li));
                    }
                }
            }
            let Some((_, li)) = earliest else {
                return Ok(None);
            };
            let source = &mut self.sources[li];
            let offset = source.offset;
            let event = source.take().expect("peeked");
            match &mut self.merger {
                None => return Ok(Some(event)),
                Some(merger) => {
                    if let Some(merged) = merger.event(li, offset, &event) {
                        return Ok(Some(merged));
                    }
                }
            }
        }
    }
}

impl<I, E> Iterator for MergeStream<I>
where
    I: Iterator<Item = Result<ScanEvent, E>>,
{
    type Item = Result<ScanEvent, E>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_merged();
        self.failed = next.is_err();
        next.transpose()
    }
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
    fn new(logs: usize) -> Self {
        Merger {
            ids: HashMap::new(),
            by_addr: HashMap::new(),
            open: HashMap::new(),
            next_id: 0,
            started: vec![None; logs],
            counted: vec![None; logs],
            finished: vec![None; logs],
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
