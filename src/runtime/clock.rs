//! Coarse per-thread deadlines for connection timeouts (idle, read, write,
//! response header). monoio's `Sleep` is 640 bytes and lives inside every
//! connection future that can time out; a [`Deadline`] here is a few words, and
//! one ticker task per worker wakes the expired ones every [`RESOLUTION`]. Timeouts
//! of seconds do not need better than that; fine-grained timers stay on monoio's.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How late a deadline may fire.
pub const RESOLUTION: Duration = Duration::from_millis(25);

/// A waiting future's deadline and waker (taken when it fires).
type Entry = (Instant, Option<Waker>);

struct Clock {
    /// The time at the last tick: deadlines compare against it instead of reading
    /// the clock on every poll (a deadline fires at a tick anyway).
    now: Cell<Instant>,
    /// (deadline, waker) per waiting future; `None` slots are free.
    entries: RefCell<Vec<Option<Entry>>>,
    free: RefCell<Vec<usize>>,
    waiting: Cell<usize>,
    ticking: Cell<bool>,
}

thread_local! {
    static CLOCK: Clock = Clock {
        now: Cell::new(Instant::now()),
        entries: RefCell::default(),
        free: RefCell::default(),
        waiting: Cell::new(0),
        ticking: Cell::new(false),
    };
}

impl Clock {
    fn register(&self, slot: Option<usize>, at: Instant, waker: &Waker) -> usize {
        let mut entries = self.entries.borrow_mut();
        if let Some(i) = slot {
            if let Some((_, w)) = entries[i].as_mut()
                && !w.as_ref().is_some_and(|w| w.will_wake(waker))
            {
                *w = Some(waker.clone());
            }
            return i;
        }
        let entry = Some((at, Some(waker.clone())));
        self.waiting.set(self.waiting.get() + 1);
        match self.free.borrow_mut().pop() {
            Some(i) => {
                entries[i] = entry;
                i
            }
            None => {
                entries.push(entry);
                entries.len() - 1
            }
        }
    }

    fn release(&self, slot: usize) {
        self.entries.borrow_mut()[slot] = None;
        self.free.borrow_mut().push(slot);
        self.waiting.set(self.waiting.get() - 1);
    }

    /// Wakes every expired waiter. A linear scan: with 10k waiting connections it
    /// costs well under a millisecond per tick, and needs no ordering structure.
    fn tick(&self, now: Instant) {
        self.now.set(now);
        let mut expired = Vec::new();
        for (at, waker) in self.entries.borrow_mut().iter_mut().flatten() {
            if *at <= now
                && let Some(w) = waker.take()
            {
                expired.push(w);
            }
        }
        expired.into_iter().for_each(Waker::wake);
    }
}

/// Starts the ticker on this thread's runtime if it is not running. It stops by
/// itself when nothing is waiting.
fn ensure_ticker() {
    CLOCK.with(|c| {
        if c.ticking.replace(true) {
            return;
        }
        monoio::spawn(async {
            loop {
                monoio::time::sleep(RESOLUTION).await;
                let idle = CLOCK.with(|c| {
                    c.tick(Instant::now());
                    let idle = c.waiting.get() == 0;
                    if idle {
                        c.ticking.set(false);
                    }
                    idle
                });
                if idle {
                    return;
                }
            }
        });
    });
}

/// Resolves at (or up to [`RESOLUTION`] after) `at`.
pub struct Deadline {
    at: Instant,
    slot: Option<usize>,
}

pub fn deadline(at: Instant) -> Deadline {
    Deadline { at, slot: None }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let (at, slot) = (self.at, self.slot);
        let registered =
            CLOCK.with(|c| (c.now.get() < at).then(|| c.register(slot, at, cx.waker())));
        let Some(registered) = registered else {
            return Poll::Ready(());
        };
        self.slot = Some(registered);
        ensure_ticker();
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            CLOCK.with(|c| c.release(slot));
        }
    }
}

pin_project_lite::pin_project! {
    /// `fut`, or `Err(Elapsed)` once `at` has passed.
    pub struct Until<F> {
        #[pin]
        fut: F,
        deadline: Option<Deadline>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

pub fn until<F: Future>(at: Option<Instant>, fut: F) -> Until<F> {
    Until {
        fut,
        deadline: at.map(deadline),
    }
}

impl<F: Future> Future for Until<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.deadline.as_mut().map(|d| Pin::new(d).poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Err(Elapsed)),
            _ => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> monoio::Runtime<monoio::time::TimeDriver<monoio::LegacyDriver>> {
        monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .unwrap()
    }

    #[test]
    fn deadline_fires_within_resolution_and_frees_its_slot() {
        runtime().block_on(async {
            let start = Instant::now();
            deadline(start + Duration::from_millis(60)).await;
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(60), "{took:?}");
            assert!(
                took < Duration::from_millis(60) + RESOLUTION * 4,
                "{took:?}"
            );
            CLOCK.with(|c| assert_eq!(c.waiting.get(), 0));
        });
    }

    #[test]
    fn until_returns_the_value_or_elapsed() {
        runtime().block_on(async {
            let soon = Some(Instant::now() + Duration::from_millis(30));
            assert_eq!(until(soon, async { 7 }).await, Ok(7));
            let never = std::future::pending::<()>();
            assert_eq!(until(soon, never).await, Err(Elapsed));
            assert_eq!(until(None, async { 1 }).await, Ok(1));
            CLOCK.with(|c| assert_eq!(c.waiting.get(), 0));
        });
    }

    #[test]
    fn a_deadline_is_small() {
        assert!(std::mem::size_of::<Deadline>() <= 32);
    }
}
