//! Millisecond timers shared by the probes of a simulated network.
//!
//! A busy simulation has thousands of probes waiting at once, most of them for the same few
//! milliseconds of virtual time. Rather than one tokio timer each, the probes waiting for the same
//! millisecond (counted from the epoch) share one: the first to wait drives it with a tokio sleep
//! and wakes the others when it fires. A tokio timer fires at a millisecond boundary of the
//! runtime's clock anyway, so with the epoch on such a boundary (as under the paused clock) every
//! wait ends exactly when its own tokio sleep would have.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// The shared timers of one network, by millisecond since its epoch.
pub(super) struct Ticks {
    epoch: Instant,
    waiting: Mutex<BTreeMap<u64, Tick>>,
}

/// The waits for one millisecond that has not fired yet.
#[derive(Default)]
struct Tick {
    wakers: Vec<Waker>,
    /// True while some wait drives this millisecond with its tokio sleep.
    driven: bool,
}

impl Ticks {
    pub(super) fn new(epoch: Instant) -> Self {
        Ticks {
            epoch,
            waiting: Mutex::new(BTreeMap::new()),
        }
    }

    /// Waits until `deadline_us` after the epoch, rounded up to a whole millisecond.
    pub(super) fn sleep_until(&self, deadline_us: u64) -> TickSleep<'_> {
        TickSleep {
            ticks: self,
            tick: deadline_us.div_ceil(1000),
            state: State::New,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Tick>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A tokio sleep until millisecond `tick` after the epoch.
    fn driver(&self, tick: u64) -> Pin<Box<Sleep>> {
        let offset = Duration::from_millis(tick);
        Box::pin(match self.epoch.checked_add(offset) {
            Some(at) => tokio::time::sleep_until(at),
            None => tokio::time::sleep(offset),
        })
    }

    /// Ends millisecond `tick`: every wait for it is woken and will find it gone.
    fn fire(&self, tick: u64) {
        let fired = self.lock().remove(&tick);
        for waker in fired.into_iter().flat_map(|t| t.wakers) {
            waker.wake();
        }
    }
}

/// A wait for one millisecond of a `Ticks`.
pub(super) struct TickSleep<'a> {
    ticks: &'a Ticks,
    tick: u64,
    state: State,
}

enum State {
    /// Not polled yet.
    New,
    /// Listed with the millisecond's other waits, for its driver to wake.
    Listed,
    /// Driving the millisecond with a tokio sleep.
    Driving(Pin<Box<Sleep>>),
    Done,
}

impl Future for TickSleep<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match &mut this.state {
            State::New | State::Listed => this.poll_listed(cx),
            State::Driving(sleep) => {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.state = State::Done;
                this.ticks.fire(this.tick);
                Poll::Ready(())
            }
            State::Done => Poll::Ready(()),
        }
    }
}

impl TickSleep<'_> {
    /// Joins the millisecond's waits, or drives it when nobody does; a listed wait whose
    /// millisecond is gone has been fired.
    fn poll_listed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut waiting = self.ticks.lock();
        if matches!(self.state, State::Listed) && !waiting.contains_key(&self.tick) {
            self.state = State::Done;
            return Poll::Ready(());
        }
        let tick = waiting.entry(self.tick).or_default();
        if tick.driven {
            tick.wakers.push(cx.waker().clone());
            self.state = State::Listed;
            return Poll::Pending;
        }
        tick.driven = true;
        drop(waiting);
        self.state = State::Driving(self.ticks.driver(self.tick));
        Pin::new(self).poll(cx)
    }
}

impl Drop for TickSleep<'_> {
    /// A driver leaving early hands its millisecond on: the waits left are woken, and the first
    /// of them to be polled drives it.
    fn drop(&mut self) {
        if !matches!(self.state, State::Driving(_)) {
            return;
        }
        let wakers = match self.ticks.lock().get_mut(&self.tick) {
            Some(tick) => {
                tick.driven = false;
                std::mem::take(&mut tick.wakers)
            }
            None => Vec::new(),
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Milliseconds since `epoch` when each of `deadlines_us` was reached, waiting all at once.
    async fn wake_times(ticks: &Arc<Ticks>, epoch: Instant, deadlines_us: &[u64]) -> Vec<u64> {
        let mut set = tokio::task::JoinSet::new();
        for (i, &deadline) in deadlines_us.iter().enumerate() {
            let ticks = Arc::clone(ticks);
            set.spawn(async move {
                ticks.sleep_until(deadline).await;
                (i, epoch.elapsed().as_millis() as u64)
            });
        }
        let mut done = set.join_all().await;
        done.sort_unstable();
        done.into_iter().map(|(_, ms)| ms).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn waits_end_at_their_millisecond_rounded_up() {
        let epoch = Instant::now();
        let ticks = Arc::new(Ticks::new(epoch));
        let deadlines = [0, 1, 999, 1000, 1001, 2500, 2500, 7000, 1];
        let times = wake_times(&ticks, epoch, &deadlines).await;
        assert_eq!(times, [0, 1, 1, 1, 2, 3, 3, 7, 1]);
        assert!(ticks.lock().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_driver_hands_its_millisecond_on() {
        let epoch = Instant::now();
        let ticks = Arc::new(Ticks::new(epoch));
        let driver = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move { ticks.sleep_until(5000).await }
        });
        tokio::task::yield_now().await;
        let followers = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move { wake_times(&ticks, epoch, &[4500, 5000]).await }
        });
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        assert_eq!(ticks.lock()[&5].wakers.len(), 2, "both follow the driver");
        driver.abort();
        assert_eq!(followers.await.unwrap(), [5, 5]);
    }
}
