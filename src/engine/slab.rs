//! `TaskSlab`: many futures polled by one task, woken one by one.
//!
//! A lane runs thousands of short probe futures. Each future lives in a slot whose allocation and
//! waker are reused by the next future, so starting a probe allocates nothing once the slab has
//! grown. Waking a slot pushes its index onto a shared list, and the owning task is woken only
//! when that list goes from empty to non-empty.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// A set of futures of one type, each polled only after it was woken.
pub(crate) struct TaskSlab<F> {
    slots: Vec<Slot<F>>,
    /// Slots without a future.
    free: Vec<u32>,
    /// Slots filled since the last poll (polled once without being woken).
    fresh: Vec<u32>,
    /// The woken slots being polled (kept to reuse its allocation).
    batch: Vec<u32>,
    woken: Arc<WokenList>,
    live: usize,
}

struct Slot<F> {
    future: Pin<Box<Option<F>>>,
    handle: Arc<SlotWaker>,
    waker: Waker,
}

/// Indexes of woken slots, and the task to wake when the first one arrives.
struct WokenList {
    indexes: Mutex<Vec<u32>>,
    owner: AtomicWaker,
}

/// The waker of one slot.
struct SlotWaker {
    index: u32,
    /// Set while the slot is on the woken list or about to be polled, so it is listed once.
    queued: AtomicBool,
    list: Arc<WokenList>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let first = {
            let mut indexes = self.list.lock();
            indexes.push(self.index);
            indexes.len() == 1
        };
        if first {
            self.list.owner.wake();
        }
    }
}

impl WokenList {
    fn lock(&self) -> MutexGuard<'_, Vec<u32>> {
        self.indexes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<F: Future<Output = ()>> TaskSlab<F> {
    pub(crate) fn new() -> Self {
        TaskSlab {
            slots: Vec::new(),
            free: Vec::new(),
            fresh: Vec::new(),
            batch: Vec::new(),
            woken: Arc::new(WokenList {
                indexes: Mutex::new(Vec::new()),
                owner: AtomicWaker::new(),
            }),
            live: 0,
        }
    }

    /// True when no future is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Adds `future`; it is first polled by the next `poll_woken`.
    pub(crate) fn insert(&mut self, future: F) {
        let index = match self.free.pop() {
            Some(index) => index,
            None => self.grow(),
        };
        let slot = &mut self.slots[index as usize];
        slot.future.as_mut().set(Some(future));
        slot.handle.queued.store(true, Ordering::Release);
        self.fresh.push(index);
        self.live += 1;
    }

    /// Polls the new futures and those woken since the last call. Returns how many completed,
    /// or `Pending` (with `cx` registered for the next wake) when there was nothing to poll.
    pub(crate) fn poll_woken(&mut self, cx: &mut Context<'_>) -> Poll<usize> {
        self.woken.owner.register(cx.waker());
        std::mem::swap(&mut self.batch, &mut *self.woken.lock());
        self.batch.append(&mut self.fresh);
        if self.batch.is_empty() {
            return Poll::Pending;
        }
        let mut batch = std::mem::take(&mut self.batch);
        let completed = batch.drain(..).filter(|&i| self.poll_slot(i)).count();
        self.batch = batch;
        Poll::Ready(completed)
    }

    /// True when some future was woken and waits to be polled.
    pub(crate) fn has_woken(&self) -> bool {
        !self.fresh.is_empty() || !self.woken.lock().is_empty()
    }

    /// Polls slot `index`; true when its future completed there.
    fn poll_slot(&mut self, index: u32) -> bool {
        let slot = &mut self.slots[index as usize];
        slot.handle.queued.store(false, Ordering::Release);
        let Some(future) = slot.future.as_mut().as_pin_mut() else {
            return false;
        };
        if future
            .poll(&mut Context::from_waker(&slot.waker))
            .is_pending()
        {
            return false;
        }
        slot.future.as_mut().set(None);
        self.free.push(index);
        self.live -= 1;
        true
    }

    /// Adds an empty slot and returns its index.
    fn grow(&mut self) -> u32 {
        let index = u32::try_from(self.slots.len()).expect("fewer than 2^32 futures at once");
        let handle = Arc::new(SlotWaker {
            index,
            queued: AtomicBool::new(false),
            list: Arc::clone(&self.woken),
        });
        self.slots.push(Slot {
            future: Box::pin(None),
            waker: Waker::from(Arc::clone(&handle)),
            handle,
        });
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn runs_every_future_to_completion_and_reuses_slots() {
        let done = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let mut slab = TaskSlab::new();
        for round in 0..3u64 {
            for i in 0..100u64 {
                let done = Arc::clone(&done);
                slab.insert(Box::pin(async move {
                    tokio::time::sleep(Duration::from_millis(i % 7 + round)).await;
                    done.fetch_add(1, Ordering::Relaxed);
                })
                    as Pin<Box<dyn Future<Output = ()> + Send>>);
            }
            let mut completed = 0;
            while !slab.is_empty() {
                completed += poll_fn(|cx| slab.poll_woken(cx)).await;
            }
            assert_eq!(completed, 100);
            assert_eq!(slab.slots.len(), 100);
        }
        assert_eq!(done.load(Ordering::Relaxed), 300);
    }
}
