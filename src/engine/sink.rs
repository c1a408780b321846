//! The engine's end of the event channel: events are queued in the order they happen and moved
//! into the channel in batches.
//!
//! Sending one event at a time wakes the consumer for nearly every event when it keeps up, which
//! costs a thread switch per event. Producers push to one shared queue instead, and flush it when
//! they are about to wait, when it has grown to `FLUSH_AT` events, or when a millisecond has
//! passed since their last flush; a consumer keeping up therefore sees events within about a
//! millisecond, in bursts. One queue for all producers keeps the order: `HostStarted` before a
//! host's probes, `HostDone` after them, `Finished` last.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TrySendError};

use crate::event::ScanEvent;

/// Queued events at which a busy producer flushes without waiting to go idle.
pub(crate) const FLUSH_AT: usize = 1024;

/// The longest a busy producer keeps events queued, in real time.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(1);

/// Ordered events on their way into the channel.
pub(crate) struct EventSink {
    queue: Mutex<VecDeque<ScanEvent>>,
    tx: mpsc::Sender<ScanEvent>,
    /// Events pushed so far (what a consumer that has caught up has folded).
    pushed: AtomicU64,
}

impl EventSink {
    pub(crate) fn new(tx: mpsc::Sender<ScanEvent>) -> Self {
        EventSink {
            queue: Mutex::new(VecDeque::new()),
            tx,
            pushed: AtomicU64::new(0),
        }
    }

    /// Queues `event` behind every event pushed before it.
    pub(crate) fn push(&self, event: ScanEvent) {
        let mut queue = self.lock();
        queue.push_back(event);
        self.pushed.fetch_add(1, Ordering::Relaxed);
    }

    /// How many events have been pushed.
    pub(crate) fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::Relaxed)
    }

    /// Whether the consumer has dropped its end of the channel.
    pub(crate) fn consumer_gone(&self) -> bool {
        self.tx.is_closed()
    }

    /// Events queued and not yet in the channel.
    pub(crate) fn queued(&self) -> usize {
        self.lock().len()
    }

    /// Moves as many queued events into the channel as it has room for, oldest first, without
    /// waiting. Returns how many are still queued. Events for a consumer that went away are
    /// dropped: a scan does not stop for want of a listener.
    pub(crate) fn try_flush(&self) -> usize {
        let mut queue = self.lock();
        if queue.is_empty() {
            return 0;
        }
        let room = queue.len().min(self.tx.capacity());
        let sent = if room == 0 {
            Err(if self.tx.is_closed() {
                TrySendError::Closed(())
            } else {
                TrySendError::Full(())
            })
        } else {
            self.tx.try_reserve_many(room)
        };
        match sent {
            Ok(permits) => permits
                .zip(queue.drain(..room))
                .for_each(|(permit, event)| permit.send(event)),
            Err(TrySendError::Closed(())) => queue.clear(),
            Err(TrySendError::Full(())) => {}
        }
        queue.len()
    }

    /// Moves every queued event into the channel, waiting for room as needed.
    pub(crate) async fn flush(&self) {
        while self.try_flush() > 0 {
            // The permit only says there is room; it goes back at once and `try_flush` takes the
            // room for the oldest events, whoever flushes them.
            if self.tx.reserve().await.is_err() {
                self.lock().clear();
                return;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<ScanEvent>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// When a busy producer last flushed, to keep events flowing while it never goes idle.
pub(crate) struct FlushClock {
    last: Instant,
}

impl FlushClock {
    pub(crate) fn new() -> Self {
        FlushClock {
            last: Instant::now(),
        }
    }

    /// True when `queued` events call for a flush now; the clock restarts when it answers yes.
    pub(crate) fn due(&mut self, queued: usize) -> bool {
        if queued == 0 {
            return false;
        }
        let now = Instant::now();
        if queued >= FLUSH_AT || now.duration_since(self.last) >= FLUSH_EVERY {
            self.last = now;
            return true;
        }
        false
    }

    /// Notes a flush made for another reason (going idle).
    pub(crate) fn reset(&mut self) {
        self.last = Instant::now();
    }
}
