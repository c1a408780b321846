//! The scan engine: runs the plan through a `Prober`, bounded by live-changeable limits.
//!
//! One scheduler task owns the plan. It keeps a window of active hosts and hands out probes to
//! them round-robin, so concurrency is spread across hosts. Probes run in *lanes*, one task per
//! runtime worker thread, each polling its probes together (no task per probe: a probe costs a
//! future, not a spawn); a probe does its own retries and reports its final outcome as a
//! `ScanEvent`. The scheduler never waits on the consumer except through the bounded event
//! channel, and picks up `EngineControl` changes at every dispatch decision.

pub mod control;
pub mod permute;
pub mod plan;
mod sink;
mod slab;

use std::future::{Future, poll_fn};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use control::{ControlLimits, EngineControl, SentinelRequest};
pub use plan::{ScanPlan, Shard};

use crate::event::{
    FilterReason, FinishReason, HostId, ProbeOutcome, ProbeRecord, ScanEvent, ScanParams,
};
use crate::probe::Prober;
use control::ControlReceiver;
use plan::HostOrder;
use sink::{EventSink, FlushClock};
use slab::TaskSlab;

/// Events buffered between the engine and the monitor before the engine waits.
pub const EVENT_CAPACITY: usize = 16 * 1024;
/// Most hosts probed at once (the dispatch window), whatever the concurrency.
pub const MAX_WINDOW: usize = 4096;
/// Attempts that fail on the scanner's side before a probe is given up (not a port state).
pub const MAX_LOCAL_ATTEMPTS: u32 = 20;

/// A scan in progress.
pub struct RunningScan {
    /// Steers the scan while it runs.
    pub control: EngineControl,
    /// Every event, in order; ends after `ScanEvent::Finished`.
    pub events: mpsc::Receiver<ScanEvent>,
    /// Resolves when the engine is done.
    pub task: JoinHandle<FinishReason>,
}

/// Options beyond the plan and the parameters.
#[derive(Default)]
pub struct EngineOptions {
    pub limits: ControlLimits,
    /// Delivers the exact host count later (counting exclusions can take a while on big scopes).
    pub host_count_later: Option<oneshot::Receiver<u64>>,
    /// Starts held (`EngineControl::hold`): the scan stays open after its plan until released.
    /// Set here rather than with `hold` after `start`, which a short plan can finish before.
    pub held: bool,
}

/// Starts scanning `plan` with `prober`. Must be called inside a tokio runtime.
pub fn start<P: Prober>(
    prober: P,
    plan: ScanPlan,
    params: ScanParams,
    options: EngineOptions,
) -> RunningScan {
    let (control, ctl) = EngineControl::new(params, options.limits);
    if options.held {
        control.hold();
    }
    let params = control.params();
    let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
    let shared = Arc::new(Shared {
        prober,
        events: EventSink::new(tx),
        in_flight: AtomicU32::new(0),
        sentinels_in_flight: AtomicU32::new(0),
        slot_freed: Notify::new(),
        timeout_us: AtomicU64::new(params.timeout.as_micros() as u64),
        retries: AtomicU32::new(params.retries),
        start: Instant::now(),
        stop: ctl.stop.clone(),
    });
    let lanes = Lanes::start(&shared);
    let scheduler = Scheduler {
        lanes,
        shared: Arc::clone(&shared),
        plan,
        ctl,
        params,
        window: Vec::new(),
        cursor: 0,
        host_index: 0,
        next_host_id: 0,
        plan_done: false,
        seq: 0,
        bucket: RateBucket::new(params.rate),
        control_gone: false,
        host_count_later: options.host_count_later,
    };
    let task = tokio::spawn(async move {
        let reason = scheduler.run().await;
        let t_us = shared.now_us();
        shared.events.push(ScanEvent::Finished { reason, t_us });
        shared.events.flush().await;
        reason
    });
    RunningScan {
        control,
        events: rx,
        task,
    }
}

/// State shared by the scheduler and the probe tasks.
struct Shared<P> {
    prober: P,
    events: EventSink,
    in_flight: AtomicU32,
    /// Sentinel re-probes handed out and not yet reported.
    sentinels_in_flight: AtomicU32,
    /// Signalled when probes finish, so the scheduler can hand out their slots.
    slot_freed: Notify,
    timeout_us: AtomicU64,
    retries: AtomicU32,
    start: Instant,
    stop: CancellationToken,
}

impl<P> Shared<P> {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Queues `event` for the consumer (see `EventSink` for when it is sent).
    fn emit(&self, event: ScanEvent) {
        self.events.push(event);
    }
}

/// Per-host counters shared with that host's probe tasks.
struct HostSlot {
    id: HostId,
    addr: IpAddr,
    in_flight: AtomicU32,
    /// Probes not yet finished; the task that takes it to zero reports `HostDone`.
    pending: AtomicU32,
}

struct ActiveHost {
    slot: Arc<HostSlot>,
    order: HostOrder,
    next: u32,
}

struct Scheduler<P> {
    shared: Arc<Shared<P>>,
    plan: ScanPlan,
    ctl: ControlReceiver,
    params: ScanParams,
    window: Vec<ActiveHost>,
    cursor: usize,
    host_index: u64,
    next_host_id: HostId,
    plan_done: bool,
    seq: u64,
    bucket: RateBucket,
    control_gone: bool,
    host_count_later: Option<oneshot::Receiver<u64>>,
    lanes: Lanes,
}

/// A probe handed to a lane.
struct Job {
    host: Arc<HostSlot>,
    port: u16,
    seq: u64,
    kind: JobKind,
}

/// Why a probe is sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JobKind {
    /// Part of the plan: counted, retried, reported as `Probe`.
    Plan,
    /// A sentinel re-probe: one attempt, outside the limits, reported as `Sentinel`.
    Sentinel,
}

/// Jobs to be sent to the lanes, gathered per dispatch round and sent as one batch per lane.
struct Lanes {
    senders: Vec<mpsc::UnboundedSender<Vec<Job>>>,
    pending: Vec<Vec<Job>>,
    handles: Vec<JoinHandle<()>>,
    next: usize,
}

impl Lanes {
    fn start<P: Prober>(shared: &Arc<Shared<P>>) -> Self {
        let count = tokio::runtime::Handle::current()
            .metrics()
            .num_workers()
            .max(1);
        let mut senders = Vec::with_capacity(count);
        let mut handles = Vec::with_capacity(count);
        for _ in 0..count {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            handles.push(tokio::spawn(lane(Arc::clone(shared), rx)));
        }
        Lanes {
            pending: (0..count).map(|_| Vec::new()).collect(),
            senders,
            handles,
            next: 0,
        }
    }

    fn push(&mut self, job: Job) {
        self.pending[self.next].push(job);
        self.next = (self.next + 1) % self.pending.len();
    }

    fn flush(&mut self) {
        for (tx, jobs) in self.senders.iter().zip(&mut self.pending) {
            if !jobs.is_empty() {
                // A lane only ends after its sender is dropped or the scan is stopped.
                let _ = tx.send(std::mem::take(jobs));
            }
        }
    }

    /// Closes the lanes and waits until they are done (at once when stopped).
    async fn close(&mut self) {
        self.flush();
        self.senders.clear();
        for handle in self.handles.drain(..) {
            let _ = handle.await;
        }
    }
}

/// Runs the probes handed to it, many at once, until its job channel closes and its probes are
/// done, or the scan is stopped (probes in flight are then dropped).
async fn lane<P: Prober>(shared: Arc<Shared<P>>, jobs: mpsc::UnboundedReceiver<Vec<Job>>) {
    let stop = shared.stop.clone();
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    let mut lane = Lane {
        shared: &shared,
        start_probe: |job| run_probe(&shared, job),
        jobs,
        open: true,
        running: TaskSlab::new(),
        flush_clock: FlushClock::new(),
    };
    loop {
        match poll_fn(|cx| lane.poll_round(cx, stopped.as_mut())).await {
            LaneStep::Stopped => return,
            LaneStep::Backlog => {
                // Wait for the consumer to make room, but keep polling the probes in flight: a
                // connect time is read when its probe is polled, so a lane that stopped polling
                // would inflate them, and a slow consumer would look like a slow network. No
                // new probe starts until the queue is flushed, so what the probes in flight add
                // meanwhile is bounded by the concurrency.
                let flush = shared.events.flush();
                tokio::pin!(flush);
                loop {
                    tokio::select! {
                        biased;
                        () = &mut flush => break,
                        () = stopped.as_mut() => return,
                        () = poll_fn(|cx| lane.poll_in_flight(cx)) => {}
                    }
                }
            }
            LaneStep::Done => {
                shared.events.flush().await;
                return;
            }
        }
    }
}

/// What interrupts a lane's polling.
enum LaneStep {
    /// The scan was stopped.
    Stopped,
    /// The event channel is full: the lane waits for the consumer before going on.
    Backlog,
    /// No more jobs will come and every probe is done.
    Done,
}

/// A lane's state: its probes and where their jobs come from.
struct Lane<'a, P, S, F> {
    shared: &'a Shared<P>,
    /// Makes the future that runs one job.
    start_probe: S,
    jobs: mpsc::UnboundedReceiver<Vec<Job>>,
    open: bool,
    running: TaskSlab<F>,
    flush_clock: FlushClock,
}

impl<P: Prober, S: Fn(Job) -> F, F: Future<Output = ()>> Lane<'_, P, S, F> {
    /// Takes new jobs and polls the woken probes once, then yields to the runtime.
    fn poll_round(
        &mut self,
        cx: &mut Context<'_>,
        stopped: Pin<&mut impl Future<Output = ()>>,
    ) -> Poll<LaneStep> {
        if stopped.poll(cx).is_ready() {
            return Poll::Ready(LaneStep::Stopped);
        }
        self.take_jobs(cx);
        if let Poll::Ready(completed) = self.running.poll_woken(cx) {
            if completed > 0 {
                self.shared.slot_freed.notify_one();
            }
            if self.running.has_woken() {
                return self.yield_busy(cx);
            }
        }
        self.go_idle()
    }

    /// Polls the probes in flight that were woken, without starting new ones; ready when some
    /// were polled.
    fn poll_in_flight(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.running.poll_woken(cx) {
            Poll::Ready(completed) => {
                if completed > 0 {
                    self.shared.slot_freed.notify_one();
                }
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Starts the jobs the scheduler has sent.
    fn take_jobs(&mut self, cx: &mut Context<'_>) {
        while self.open {
            match self.jobs.poll_recv(cx) {
                Poll::Ready(Some(batch)) => {
                    for job in batch {
                        self.running.insert((self.start_probe)(job));
                    }
                }
                Poll::Ready(None) => self.open = false,
                Poll::Pending => break,
            }
        }
    }

    /// More probes are woken: flush if events have waited long enough, and come back soon.
    fn yield_busy(&mut self, cx: &mut Context<'_>) -> Poll<LaneStep> {
        let events = &self.shared.events;
        if self.flush_clock.due(events.queued()) && events.try_flush() >= EVENT_CAPACITY {
            return Poll::Ready(LaneStep::Backlog);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Nothing to poll: hand every queued event to the consumer before waiting.
    fn go_idle(&mut self) -> Poll<LaneStep> {
        if self.shared.events.try_flush() > 0 {
            return Poll::Ready(LaneStep::Backlog);
        }
        self.flush_clock.reset();
        if !self.open && self.running.is_empty() {
            return Poll::Ready(LaneStep::Done);
        }
        Poll::Pending
    }
}

impl<P: Prober> Scheduler<P> {
    async fn run(mut self) -> FinishReason {
        self.shared.emit(ScanEvent::Started {
            hosts: self.plan.host_count,
            ports_per_host: self.plan.ports_for_host(0),
            probes: self.plan.probe_count(),
            params: self.params,
            seed: self.plan.seed(),
        });
        loop {
            if self.shared.stop.is_cancelled() {
                return self.drain(FinishReason::Stopped).await;
            }
            self.take_param_changes().await;
            if self.params.paused {
                self.wait(None).await;
                continue;
            }
            self.refill_window().await;
            if self.window.is_empty() && self.plan_done {
                if self.may_finish() {
                    return self.drain(FinishReason::Completed).await;
                }
                self.wait(None).await;
                continue;
            }
            let rate_wait = self.dispatch().await;
            if self.window.is_empty() && self.plan_done && self.may_finish() {
                return self.drain(FinishReason::Completed).await;
            }
            self.wait(rate_wait).await;
        }
    }

    /// Whether a scan whose plan is done may finish: not held (`EngineControl::hold`), no
    /// sentinel re-probe asked for or in flight, and the consumer, if it reports its progress
    /// (`EngineControl::caught_up`), has folded every event, so that it has asked for every
    /// re-probe those events call for.
    fn may_finish(&mut self) -> bool {
        if self.control_gone {
            return true;
        }
        if *self.ctl.held.borrow() {
            return false;
        }
        if !self.ctl.sentinels.is_empty() {
            self.dispatch_sentinels();
            self.lanes.flush();
        }
        if self.shared.sentinels_in_flight.load(Ordering::Acquire) > 0 {
            return false;
        }
        match *self.ctl.seen.borrow() {
            None => true,
            Some(seen) => seen >= self.shared.events.pushed() || self.shared.events.consumer_gone(),
        }
    }

    /// Applies parameter changes published through `EngineControl` and records them.
    async fn take_param_changes(&mut self) {
        // Compare values rather than asking `has_changed`: `wait` consumes change notifications.
        let params = *self.ctl.params.borrow_and_update();
        if params == self.params {
            return;
        }
        self.params = params;
        self.shared
            .timeout_us
            .store(params.timeout.as_micros() as u64, Ordering::Relaxed);
        self.shared.retries.store(params.retries, Ordering::Relaxed);
        self.bucket.set_rate(params.rate);
        let t_us = self.shared.now_us();
        self.shared.emit(ScanEvent::ParamsChanged { params, t_us });
    }

    fn window_target(&self) -> usize {
        (self.params.concurrency as usize).clamp(1, MAX_WINDOW)
    }

    async fn refill_window(&mut self) {
        while !self.plan_done && self.window.len() < self.window_target() {
            let Some(order) = self.plan.next_host(&mut self.host_index) else {
                self.plan_done = true;
                break;
            };
            let id = self.next_host_id;
            self.next_host_id = self.next_host_id.wrapping_add(1);
            let slot = Arc::new(HostSlot {
                id,
                addr: order.target.addr,
                in_flight: AtomicU32::new(0),
                pending: AtomicU32::new(order.len()),
            });
            let event = ScanEvent::HostStarted {
                host: id,
                addr: order.target.addr,
                name: order.target.name.clone(),
                t_us: self.shared.now_us(),
            };
            self.window.push(ActiveHost {
                slot,
                order,
                next: 0,
            });
            self.shared.emit(event);
        }
    }

    /// Sends probes while limits allow. Returns when the rate limit asks to wait until then.
    async fn dispatch(&mut self) -> Option<Instant> {
        let wait = self.dispatch_round().await;
        self.lanes.flush();
        wait
    }

    /// Hands out the sentinel re-probes asked for since the last round.
    fn dispatch_sentinels(&mut self) {
        while let Ok(request) = self.ctl.sentinels.try_recv() {
            self.push_sentinel(request);
        }
    }

    /// Queues one sentinel re-probe for the lanes (outside the plan's counts and limits).
    fn push_sentinel(&mut self, request: SentinelRequest) {
        let slot = Arc::new(HostSlot {
            id: request.host,
            addr: request.addr,
            in_flight: AtomicU32::new(0),
            pending: AtomicU32::new(0),
        });
        let seq = self.seq;
        self.seq += 1;
        self.shared
            .sentinels_in_flight
            .fetch_add(1, Ordering::AcqRel);
        self.lanes.push(Job {
            host: slot,
            port: request.port,
            seq,
            kind: JobKind::Sentinel,
        });
    }

    async fn dispatch_round(&mut self) -> Option<Instant> {
        self.dispatch_sentinels();
        loop {
            if self.shared.in_flight.load(Ordering::Acquire) >= self.params.concurrency {
                return None;
            }
            let i = self.next_ready_host()?;
            if let Some(at) = self.bucket.take_limited() {
                return Some(at);
            }
            let host = &mut self.window[i];
            let port = host.order.port(host.next);
            host.next += 1;
            let exhausted = host.next == host.order.len();
            let slot = Arc::clone(&host.slot);
            slot.in_flight.fetch_add(1, Ordering::AcqRel);
            self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
            let seq = self.seq;
            self.seq += 1;
            self.lanes.push(Job {
                host: slot,
                port,
                seq,
                kind: JobKind::Plan,
            });
            if exhausted {
                self.window.remove(i);
                self.cursor = if i < self.window.len() { i } else { 0 };
                // Hand out what is gathered before announcing new hosts, so events stay in order.
                self.lanes.flush();
                self.refill_window().await;
            } else {
                self.cursor = (i + 1) % self.window.len();
            }
        }
    }

    /// The next host, round-robin from the cursor, that is below the per-host cap.
    fn next_ready_host(&self) -> Option<usize> {
        let len = self.window.len();
        let cap = self.params.max_per_host;
        (0..len)
            .map(|step| (self.cursor + step) % len)
            .find(|&i| self.window[i].slot.in_flight.load(Ordering::Acquire) < cap)
    }

    /// Waits until a probe finishes, the parameters change, the scan is stopped, the exact host
    /// count arrives, or (when given) the rate limit allows the next probe.
    async fn wait(&mut self, until: Option<Instant>) {
        enum Woken {
            Other,
            ControlGone,
            Counted(Option<u64>),
            Sentinel(SentinelRequest),
        }
        // Whatever wakes the scheduler, the consumer sees what happened up to now.
        self.shared.events.flush().await;
        let control_open = !self.control_gone;
        let shared = Arc::clone(&self.shared);
        let params = &mut self.ctl.params;
        let sentinels = &mut self.ctl.sentinels;
        let held = &mut self.ctl.held;
        let seen = &mut self.ctl.seen;
        let later = &mut self.host_count_later;
        let counting = later.is_some();
        let woken = tokio::select! {
            biased;
            _ = shared.stop.cancelled() => Woken::Other,
            changed = params.changed(), if control_open => match changed {
                Ok(()) => Woken::Other,
                Err(_) => Woken::ControlGone,
            },
            count = async { later.as_mut().expect("guarded by `counting`").await }, if counting => {
                Woken::Counted(count.ok())
            }
            _ = shared.slot_freed.notified() => Woken::Other,
            changed = held.changed(), if control_open => match changed {
                Ok(()) => Woken::Other,
                Err(_) => Woken::ControlGone,
            },
            changed = seen.changed(), if control_open => match changed {
                Ok(()) => Woken::Other,
                Err(_) => Woken::ControlGone,
            },
            request = sentinels.recv(), if control_open => match request {
                Some(request) => Woken::Sentinel(request),
                None => Woken::ControlGone,
            },
            _ = tokio::time::sleep_until(until.unwrap_or_else(Instant::now)), if until.is_some() => {
                Woken::Other
            }
        };
        match woken {
            Woken::Other => {}
            Woken::ControlGone => self.control_gone = true,
            Woken::Sentinel(request) => {
                self.push_sentinel(request);
                self.dispatch_sentinels();
                self.lanes.flush();
            }
            Woken::Counted(count) => {
                self.host_count_later = None;
                if let Some(hosts) = count {
                    let probes = self.plan.probe_count_for(hosts);
                    self.shared.emit(ScanEvent::PlanCounted { hosts, probes });
                }
            }
        }
    }

    /// Waits for the probes still in flight (stopped ones end at once).
    async fn drain(&mut self, reason: FinishReason) -> FinishReason {
        self.lanes.close().await;
        reason
    }
}

/// One (host, port) pair from dispatch to final outcome, with its retries.
async fn run_probe<P: Prober>(shared: &Shared<P>, job: Job) {
    let Job {
        host,
        port,
        seq,
        kind,
    } = job;
    if kind == JobKind::Sentinel {
        return sentinel(shared, &host, port, seq).await;
    }
    attempts(shared, &host, port, seq).await;
    shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    host.in_flight.fetch_sub(1, Ordering::AcqRel);
    if host.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
        let t_us = shared.now_us();
        shared.emit(ScanEvent::HostDone {
            host: host.id,
            t_us,
        });
    }
}

async fn attempts<P: Prober>(shared: &Shared<P>, host: &HostSlot, port: u16, seq: u64) {
    let addr = SocketAddr::new(host.addr, port);
    let mut attempt = 0u32;
    let mut local_failures = 0u32;
    loop {
        attempt += 1;
        let timeout = Duration::from_micros(shared.timeout_us.load(Ordering::Relaxed));
        let result = shared.prober.probe(addr, timeout).await;
        let record = ProbeRecord {
            host: host.id,
            addr: host.addr,
            port,
            outcome: result.outcome,
            connect_us: result.connect_time.as_micros() as u64,
            attempt,
            seq,
            t_us: shared.now_us(),
            after_connect: result.after_connect,
        };
        match result.outcome {
            ProbeOutcome::LocalError(_) => {
                local_failures += 1;
                attempt -= 1;
                if local_failures >= MAX_LOCAL_ATTEMPTS {
                    // Given up: reported once more as a final local error, never a port state.
                    shared.emit(ScanEvent::Probe(record));
                    return;
                }
                shared.emit(ScanEvent::LocalError(record));
                tokio::time::sleep(local_backoff(local_failures)).await;
            }
            ProbeOutcome::Filtered(FilterReason::NoResponse)
                if attempt <= shared.retries.load(Ordering::Relaxed) => {}
            _ => {
                shared.emit(ScanEvent::Probe(record));
                return;
            }
        }
    }
}

/// One sentinel attempt; a local error is reported as it is (the detector ignores it).
async fn sentinel<P: Prober>(shared: &Shared<P>, host: &HostSlot, port: u16, seq: u64) {
    let timeout = Duration::from_micros(shared.timeout_us.load(Ordering::Relaxed));
    let result = shared
        .prober
        .probe(SocketAddr::new(host.addr, port), timeout)
        .await;
    shared.emit(ScanEvent::Sentinel(ProbeRecord {
        host: host.id,
        addr: host.addr,
        port,
        outcome: result.outcome,
        connect_us: result.connect_time.as_micros() as u64,
        attempt: 1,
        seq,
        t_us: shared.now_us(),
        after_connect: result.after_connect,
    }));
    shared.sentinels_in_flight.fetch_sub(1, Ordering::AcqRel);
}

/// 5 ms, 10 ms, 20 ms … up to 1 s: gives the kernel time to free descriptors or ports.
fn local_backoff(failures: u32) -> Duration {
    Duration::from_millis(5u64 << failures.saturating_sub(1).min(10)).min(Duration::from_secs(1))
}

/// Token bucket for `--rate`: bursts of at most 20 ms worth of probes.
struct RateBucket {
    rate: Option<f64>,
    tokens: f64,
    last: Instant,
}

impl RateBucket {
    fn new(rate: Option<f64>) -> Self {
        RateBucket {
            rate,
            tokens: 1.0,
            last: Instant::now(),
        }
    }

    fn set_rate(&mut self, rate: Option<f64>) {
        self.rate = rate;
        self.tokens = self.tokens.min(Self::capacity(rate));
    }

    fn capacity(rate: Option<f64>) -> f64 {
        rate.map_or(f64::INFINITY, |r| (r * 0.02).max(1.0))
    }

    /// Takes one token when a rate is set (reading the clock only then); `Some(t)` means none is
    /// available before `t`.
    fn take_limited(&mut self) -> Option<Instant> {
        self.rate?;
        self.take(Instant::now())
    }

    /// Takes one token; `Some(t)` means none is available before `t`.
    fn take(&mut self, now: Instant) -> Option<Instant> {
        let rate = self.rate?;
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * rate).min(Self::capacity(self.rate));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            // At least a microsecond: a wait that rounds to zero would never let a paused
            // (simulated) clock move.
            let missing = Duration::from_secs_f64((1.0 - self.tokens) / rate);
            Some(now + missing.max(Duration::from_micros(1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(local_backoff(1), Duration::from_millis(5));
        assert_eq!(local_backoff(2), Duration::from_millis(10));
        assert_eq!(local_backoff(50), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_bucket_paces() {
        let mut bucket = RateBucket::new(Some(100.0));
        let start = Instant::now();
        let mut sent = 0;
        while Instant::now() < start + Duration::from_secs(10) {
            match bucket.take(Instant::now()) {
                None => sent += 1,
                Some(at) => tokio::time::sleep_until(at).await,
            }
        }
        assert!((995..=1005).contains(&sent), "sent {sent}");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_bucket_never_asks_for_a_zero_wait() {
        let mut bucket = RateBucket::new(Some(50.0));
        let start = Instant::now();
        let mut sent = 0;
        let mut steps = 0;
        while Instant::now() < start + Duration::from_secs(2) {
            steps += 1;
            assert!(
                steps < 100_000,
                "the bucket spins without letting time pass"
            );
            match bucket.take(Instant::now()) {
                None => sent += 1,
                Some(at) => {
                    assert!(at > Instant::now());
                    tokio::time::sleep_until(at).await;
                }
            }
        }
        assert!((95..=105).contains(&sent), "sent {sent}");
    }
}
