//! Worker-local shutdown signal: connection tasks wait on it while idle so a graceful
//! stop closes keep-alive connections at once instead of at their idle timeout.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Process-wide shutdown phases, written by the main thread, read by workers' tickers.
pub mod phase {
    /// Serving normally.
    pub const RUNNING: u8 = 0;
    /// SIGTERM received; still accepting during `requestAcceptGraceTimeout`.
    pub const DRAINING: u8 = 1;
    /// Stop accepting, close idle connections, let in-flight requests finish.
    pub const STOPPING: u8 = 2;
    /// Grace time over: drop everything.
    pub const ABORT: u8 = 3;
}

/// One waiter slot per waiting connection; a slot is freed when its `Wait` drops, so
/// connections that come and go leave nothing behind.
#[derive(Default)]
pub struct Shutdown {
    fired: Cell<bool>,
    slots: RefCell<Slots>,
}

#[derive(Default)]
struct Slots {
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Shutdown {
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    #[inline]
    pub fn is_fired(&self) -> bool {
        self.fired.get()
    }

    pub fn fire(&self) {
        self.fired.set(true);
        let mut slots = self.slots.borrow_mut();
        for w in slots.wakers.iter_mut().filter_map(Option::take) {
            w.wake();
        }
    }

    /// Resolves once `fire` has been called.
    pub fn wait(self: &Rc<Self>) -> Wait {
        Wait {
            shutdown: self.clone(),
            slot: None,
        }
    }
}

pub struct Wait {
    shutdown: Rc<Shutdown>,
    slot: Option<usize>,
}

impl Future for Wait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shutdown.fired.get() {
            return Poll::Ready(());
        }
        let waker = Some(cx.waker().clone());
        let mut slots = self.shutdown.slots.borrow_mut();
        let slot = match self.slot {
            Some(i) => i,
            None => match slots.free.pop() {
                Some(i) => i,
                None => {
                    slots.wakers.push(None);
                    slots.wakers.len() - 1
                }
            },
        };
        slots.wakers[slot] = waker;
        drop(slots);
        self.slot = Some(slot);
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let mut slots = self.shutdown.slots.borrow_mut();
            slots.wakers[i] = None;
            slots.free.push(i);
        }
    }
}
