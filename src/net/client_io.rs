//! The client transport seam: what the HTTP server needs from a connection beyond
//! reading and writing (split halves for tunnels, noticing a departed client,
//! going quiet without holding a buffer), implemented for plain TCP here and for
//! TLS in `tls::stream`.

use std::future::Future;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::time::Instant;

use monoio::buf::IoBufMut;
use monoio::io::{
    AsyncReadRent, AsyncWriteRent, CancelableAsyncReadRent, Canceller, OwnedReadHalf,
    OwnedWriteHalf, Splitable,
};
use monoio::net::TcpStream;

use crate::net::peer::{self, Peek};
use crate::runtime::io;
use crate::runtime::parking::{Parked, ParkingLot};

/// A client transport: plain TCP or TLS (`tls::stream::TlsStream`).
pub trait ClientIo: AsyncReadRent + AsyncWriteRent + Sized + 'static {
    /// Halves that can be read and written concurrently (the Upgrade tunnel). Not
    /// monoio's `Split`: that shares the whole object between the halves, which a
    /// TLS stream's state cannot be.
    type ReadHalf: AsyncReadRent;
    type WriteHalf: AsyncWriteRent;

    /// Resolves once the peer has closed the connection while we are not reading
    /// from it (used to abandon upstream work for a client that left).
    fn peer_closed(&self) -> impl Future<Output = ()>;

    fn into_halves(self) -> (Self::ReadHalf, Self::WriteHalf);

    /// Ends the connection, the one way every HTTP connection ends: a TLS stream
    /// sends close_notify first (bounded by a short deadline); a plain socket
    /// just closes when dropped.
    fn close(self) -> impl Future<Output = ()> {
        std::future::ready(())
    }

    /// The client certificate chain of an mTLS connection (none for plaintext).
    fn client_certs(&self) -> Option<std::rc::Rc<crate::net::client_certs::ClientCerts>> {
        None
    }

    /// The first part of waiting for the next request: a read into `buf`'s spare
    /// capacity that gives up at `until` without losing a byte (`Quiet`). A
    /// transport that cannot cancel a read safely just reads, until the idle
    /// deadline `idle_end` (a timed-out read ends the connection).
    fn read_or_quiet(
        &mut self,
        buf: &mut Vec<u8>,
        until: Instant,
        idle_end: Option<Instant>,
        canceller: &mut Canceller,
    ) -> impl Future<Output = IdleRead> {
        let _ = (until, canceller);
        async move {
            IdleRead::Data(
                io::read_some(self, buf, usize::MAX, idle_end)
                    .await
                    .map_err(std::io::Error::other),
            )
        }
    }

    /// Hands a quiet connection to the worker's parking lot, or gives it back
    /// (`Some`) when this transport cannot wait there; then it waits in its task.
    fn park<T: Parked>(self, lot: &ParkingLot<T>, spot: T) -> Option<(Self, T)> {
        let _ = lot;
        Some((self, spot))
    }

    /// Waits, holding no read buffer, until the client sends or closes. By default
    /// ready at once (for transports that may hold already-decrypted bytes).
    fn wait_readable(&self) -> impl Future<Output = ()> {
        std::future::ready(())
    }
}

/// Outcome of [`ClientIo::read_or_quiet`].
pub enum IdleRead {
    Data(std::io::Result<usize>),
    Quiet,
}

impl ClientIo for TcpStream {
    type ReadHalf = OwnedReadHalf<TcpStream>;
    type WriteHalf = OwnedWriteHalf<TcpStream>;

    fn into_halves(self) -> (Self::ReadHalf, Self::WriteHalf) {
        self.into_split()
    }

    async fn read_or_quiet(
        &mut self,
        buf: &mut Vec<u8>,
        until: Instant,
        _idle_end: Option<Instant>,
        canceller: &mut Canceller,
    ) -> IdleRead {
        // `until` is never later than the idle deadline (`Conn::read_idle`), so
        // the idle timeout is enforced by the parked wait that follows.
        // A cancelled read hands its buffer back with whatever it got, unlike a
        // dropped one (monoio 0.2.4 loses it), so giving up here loses nothing. The
        // canceller is the connection's, reused: making one costs allocations.
        let owned = std::mem::take(buf);
        let (start, end) = (owned.len(), owned.capacity());
        let mut read = pin!(self.cancelable_read(owned.slice_mut(start..end), canceller.handle()));
        let early = monoio::select! {
            biased;
            r = &mut read => Some(r),
            _ = crate::runtime::clock::deadline(until) => None,
        };
        let (res, slice) = match early {
            Some(r) => r,
            None => {
                *canceller = std::mem::take(canceller).cancel();
                read.await
            }
        };
        *buf = slice.into_inner();
        match res {
            Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => IdleRead::Quiet,
            r => IdleRead::Data(r),
        }
    }

    fn park<T: Parked>(self, lot: &ParkingLot<T>, spot: T) -> Option<(Self, T)> {
        lot.park(self, spot)
    }

    async fn wait_readable(&self) {
        let _ = self.readable(false).await;
    }

    async fn peer_closed(&self) {
        loop {
            if self.readable(false).await.is_err() {
                return;
            }
            match peer::peek(self.as_raw_fd()) {
                Peek::Gone => return,
                // Pipelined bytes: the client is still there; stop watching.
                Peek::Data => std::future::pending::<()>().await,
                Peek::Quiet => {}
            }
        }
    }
}
