//! The worker's parking lot: where quiet plaintext keep-alive connections wait for
//! their next request with no task, no buffer and no io_uring op of their own.
//!
//! A connection that has been quiet for `IDLE_HOLD` gives its socket to the lot and
//! its task ends. The lot keeps the socket in a slab and registers it with one
//! epoll instance per worker; one task waits for that epoll fd to turn readable (a
//! single io_uring poll, or the legacy driver's own epoll) and spawns a fresh
//! connection task for each socket that has bytes or a close to report. What an idle
//! connection costs is then its slab entry (~100 bytes) and the kernel's, which is
//! how nginx keeps 10k idle clients cheap (docs/benchmarks.md, "idle").
//!
//! Idle timeouts are enforced by [`ParkingLot::sweep`], which the worker's
//! housekeeping calls every tick; a graceful stop closes every parked connection.
//! If the lot cannot take a connection (no epoll fd, `epoll_ctl` failed, stopping)
//! the connection waits in its own task instead, as every other transport does.

use std::cell::{Cell, RefCell};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Instant;

use monoio::net::TcpStream;

use crate::runtime::shutdown::Shutdown;

/// Events taken from the epoll fd per `epoll_wait` call.
const BATCH: usize = 64;

/// What the lot keeps beside a parked socket: what its next task needs (the
/// worker's `Spot`), and when its idle timeout closes it.
pub trait Parked {
    fn deadline(&self) -> Option<Instant>;
}

/// The socket is kept as a bare descriptor, not a `TcpStream`: monoio's stream is
/// 70 bytes plus a small heap allocation made at accept time, and those small
/// long-lived allocations, sprinkled between the freed request state of busier
/// times, are what keeps that freed memory resident.
pub struct Slot<T> {
    fd: OwnedFd,
    spot: T,
}

struct Slab<T> {
    slots: Vec<Option<Slot<T>>>,
    free: Vec<usize>,
}

pub struct ParkingLot<T> {
    /// `None`: epoll could not be set up; connections wait in their own tasks.
    epfd: Option<OwnedFd>,
    slab: RefCell<Slab<T>>,
    /// The earliest deadline among parked connections (a sweep before it finds nothing).
    earliest: Cell<Option<Instant>>,
    /// Set when the readiness wait failed or the worker stops: no more parking.
    closed: Cell<bool>,
}

impl<T: Parked> ParkingLot<T> {
    pub fn new() -> Self {
        // SAFETY: plain syscall; the result is checked before it is wrapped.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        let epfd = if fd >= 0 {
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            Some(unsafe { OwnedFd::from_raw_fd(fd) })
        } else {
            log::warn!(
                "parking lot disabled (epoll_create1: {}): idle connections wait in their tasks",
                std::io::Error::last_os_error()
            );
            None
        };
        Self {
            epfd,
            slab: RefCell::new(Slab {
                slots: Vec::new(),
                free: Vec::new(),
            }),
            earliest: Cell::new(None),
            closed: Cell::new(false),
        }
    }

    /// Connections parked now.
    pub fn len(&self) -> usize {
        let slab = self.slab.borrow();
        slab.slots.len() - slab.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a quiet connection; gives it back (`Some`) if it cannot be parked.
    pub fn park(&self, io: TcpStream, spot: T) -> Option<(TcpStream, T)> {
        let Some(epfd) = self.epfd.as_ref().filter(|_| !self.closed.get()) else {
            return Some((io, spot));
        };
        let mut slab = self.slab.borrow_mut();
        let index = slab.free.pop().unwrap_or(slab.slots.len());
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
            u64: index as u64,
        };
        // SAFETY: both descriptors are open and owned here; `event` outlives the call.
        let rc = unsafe {
            libc::epoll_ctl(
                epfd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                io.as_raw_fd(),
                &mut event,
            )
        };
        if rc != 0 {
            if index < slab.slots.len() {
                slab.free.push(index);
            }
            log::warn!(
                "could not park an idle connection (epoll_ctl: {}); it waits in its task",
                std::io::Error::last_os_error()
            );
            return Some((io, spot));
        }
        if let Some(d) = spot.deadline()
            && self.earliest.get().is_none_or(|e| d < e)
        {
            self.earliest.set(Some(d));
        }
        // No op of the stream's is in flight while it is parked (the quiet read was
        // cancelled and awaited), so the stream holds the only reference to its fd.
        // SAFETY: `into_raw_fd` hands over ownership of an open descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(io.into_raw_fd()) };
        let slot = Some(Slot { fd, spot });
        match slab.slots.get_mut(index) {
            Some(s) => *s = slot,
            None => slab.slots.push(slot),
        }
        None
    }

    /// Removes a slot's connection from the lot (and from the epoll set).
    fn take(&self, slab: &mut Slab<T>, index: usize) -> Option<Slot<T>> {
        let slot = slab.slots.get_mut(index)?.take()?;
        slab.free.push(index);
        if let Some(epfd) = &self.epfd {
            // SAFETY: both descriptors are open; DEL ignores the event argument.
            unsafe {
                libc::epoll_ctl(
                    epfd.as_raw_fd(),
                    libc::EPOLL_CTL_DEL,
                    slot.fd.as_raw_fd(),
                    std::ptr::null_mut(),
                )
            };
        }
        Some(slot)
    }

    /// Closes the connections whose idle timeout has passed.
    pub fn sweep(&self, now: Instant) {
        if self.earliest.get().is_none_or(|e| e > now) {
            return;
        }
        let mut earliest = None::<Instant>;
        let mut slab = self.slab.borrow_mut();
        for index in 0..slab.slots.len() {
            let Some(deadline) = slab.slots[index].as_ref().and_then(|s| s.spot.deadline()) else {
                continue;
            };
            if deadline <= now {
                drop(self.take(&mut slab, index));
            } else if earliest.is_none_or(|e| deadline < e) {
                earliest = Some(deadline);
            }
        }
        self.earliest.set(earliest);
    }

    /// Takes every parked connection out (stop, or the lot failed).
    pub fn drain(&self) -> Vec<Slot<T>> {
        self.closed.set(true);
        let mut slab = self.slab.borrow_mut();
        (0..slab.slots.len())
            .filter_map(|i| self.take(&mut slab, i))
            .collect()
    }

    /// Gives a task back to every parked connection that turned readable (data,
    /// close or error). Each batch is taken out of the epoll set before the next
    /// `epoll_wait`: the set is level-triggered, so a ready socket left in it would
    /// be reported again.
    fn wake_ready<C>(&self, epfd: RawFd, ctx: &Rc<C>, resume: &impl Fn(&Rc<C>, TcpStream, T)) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
        loop {
            // SAFETY: `events` has room for BATCH entries; a zero timeout never blocks.
            let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), BATCH as i32, 0) };
            let n = usize::try_from(n).unwrap_or(0);
            for event in &events[..n] {
                let index = event.u64 as usize;
                let slot = self.take(&mut self.slab.borrow_mut(), index);
                if let Some(slot) = slot {
                    give_back(slot, ctx, resume);
                }
            }
            if n < BATCH {
                return;
            }
        }
    }
}

impl<T: Parked> Default for ParkingLot<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The worker's lot task: waits for parked connections to turn readable and gives
/// each a task again (`resume`, with the lot's owner `ctx`). Ends at a graceful
/// stop, closing what is still parked.
pub async fn run<C, T: Parked>(
    ctx: Rc<C>,
    shutdown: Rc<Shutdown>,
    lot: fn(&C) -> &ParkingLot<T>,
    resume: impl Fn(&Rc<C>, TcpStream, T),
) {
    let Some(ready) = readiness(lot(&ctx)) else {
        return;
    };
    loop {
        let ok = monoio::select! {
            r = ready.readable(false) => r.map_err(|e| log::warn!("parking lot stopped: {e}")).is_ok(),
            _ = shutdown.wait() => {
                drop(lot(&ctx).drain());
                return;
            }
        };
        if !ok {
            // Nothing is lost: every parked connection goes back to a task of its own.
            for slot in lot(&ctx).drain() {
                give_back(slot, &ctx, &resume);
            }
            return;
        }
        lot(&ctx).wake_ready(ready.as_raw_fd(), &ctx, &resume);
    }
}

fn give_back<C, T>(slot: Slot<T>, ctx: &Rc<C>, resume: &impl Fn(&Rc<C>, TcpStream, T)) {
    match TcpStream::from_std(std::net::TcpStream::from(slot.fd)) {
        Ok(io) => resume(ctx, io, slot.spot),
        // Only the legacy driver can fail here (registering with its epoll).
        Err(e) => log::warn!("closing a parked connection: {e}"),
    }
}

/// The lot's epoll fd as something the runtime can wait on. monoio has no
/// "any fd" readiness type, and a `UnixStream` is one that only ever gets
/// `readable()` here (a poll on the fd), which is valid for an epoll fd. It gets a
/// `dup` of the fd, so the lot's own descriptor stays valid after the task ends.
fn readiness<T: Parked>(lot: &ParkingLot<T>) -> Option<monoio::net::UnixStream> {
    let epfd = lot.epfd.as_ref()?;
    let dup = match epfd.try_clone() {
        Ok(fd) => fd,
        Err(e) => {
            log::warn!("parking lot disabled (dup: {e}): idle connections wait in their tasks");
            lot.closed.set(true);
            return None;
        }
    };
    let std = std::os::unix::net::UnixStream::from(dup);
    match monoio::net::UnixStream::from_std(std) {
        Ok(s) => Some(s),
        Err(e) => {
            log::warn!("parking lot disabled ({e}): idle connections wait in their tasks");
            lot.closed.set(true);
            None
        }
    }
}
